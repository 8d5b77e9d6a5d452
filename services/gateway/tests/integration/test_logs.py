"""No secret, signature header value or card data reaches the logs, whatever the outcome."""

from __future__ import annotations

import json
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from webhook_samples import (
    ALL_SECRETS,
    adyen_request,
    braintree_request,
    make_settings,
    square_request,
    stripe_event,
    stripe_request,
)

from gateway.asgi import create_app
from gateway.logs import SECRET_HEADERS
from integration.kafka_reader import closed_port
from testing.kafka import KafkaServer

pytestmark = pytest.mark.anyio


async def test_logs_carry_reasons_but_no_secrets_signatures_or_card_data(
    capsys: pytest.CaptureFixture[str], broker: KafkaServer
) -> None:
    logging = {"GATEWAY_LOG_LEVEL": "DEBUG", "GATEWAY_ACCESS_LOG": "true"}
    app = create_app(make_settings(GATEWAY_KAFKA_BOOTSTRAP_SERVERS=broker.bootstrap_servers, **logging))
    requests = [
        stripe_request(),
        stripe_request(stripe_event(currency="xyz")),
        stripe_request(secrets=["whsec_wrong"]),
        square_request(secret="wrong"),
        square_request(),
        adyen_request(),
        braintree_request(),
    ]
    signatures: list[str] = []
    async with AsyncTestClient(app=app) as client:
        for request in requests:
            signatures += [v for k, v in request.headers.items() if k in SECRET_HEADERS]
            await client.post(request.path, content=request.body, headers=request.headers)
    # The same service with its broker unreachable (a closed port): that refusal is logged too.
    down = create_app(make_settings(GATEWAY_KAFKA_BOOTSTRAP_SERVERS=closed_port(), **logging))
    async with AsyncTestClient(app=down) as client:
        request = stripe_request()
        signatures.append(request.headers["stripe-signature"])
        await client.post(request.path, content=request.body, headers=request.headers)
    out = capsys.readouterr()
    logs = out.out + out.err
    assert "refused" in logs and "signature_mismatch" in logs and "broker_unavailable" in logs
    assert '"event":"HTTP Response"' in logs  # the access log is on
    assert "webhook_accepted" in logs
    for secret in ALL_SECRETS:
        assert secret not in logs
    for signature in signatures:
        assert signature not in logs
    for card_value in ("1111", "411111", "058158"):
        assert card_value not in _values(logs)


def _values(logs: str) -> str:
    """Everything logged except timestamps (which may contain any digits)."""
    kept = []
    for line in logs.splitlines():
        try:
            record: dict[str, Any] = json.loads(line)
        except ValueError:
            kept.append(line)
            continue
        record.pop("timestamp", None)
        kept.append(json.dumps(record))
    return "\n".join(kept)
