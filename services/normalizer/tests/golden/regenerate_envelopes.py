"""Regenerate `envelopes.jsonl`: real simulator webhooks through the gateway's own intake.

Every fixture is a Kafka message exactly as the gateway publishes it (`Accepted.messages()`:
topic, key, value bytes), made from a request the simulator signed with the providers' real
schemes and verified with the gateway's verifiers: nothing in it is hand-made. One message per
(provider, provider event type, normalized event type) the simulator produces, the first in
delivery order, plus the first of each currency whose provider exponent differs from ISO's.

    ./pants run libs/simulator:cli -- generate --out /tmp/sim --customers 400 --days 30 \
        --test-secrets --format jsonl --no-progress
    eval "$(./pants run libs/simulator:cli -- gateway-env --test-secrets | sed 's/^/export /')"
    ./pants run services/normalizer/tests/golden:regenerate -- /tmp/sim \
        services/normalizer/tests/golden/envelopes.jsonl

It runs in the gateway's resolve (it imports the gateway), not the normalizer's.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from contracts.reference.currencies import PROVIDER_EXPONENTS
from contracts.reference.providers import Provider
from gateway.intake import Delivery, Intake
from gateway.settings import load_settings


def _requests(folder: Path) -> Iterator[dict[str, Any]]:
    with (folder / "requests.jsonl").open() as lines:
        for line in lines:
            request = json.loads(line)
            if request["is_valid_signature"] and request["is_valid_payload"]:
                yield request


def _expected_types(folder: Path) -> dict[str, str]:
    """provider_event_id -> the normalized event type the simulator meant (events.jsonl)."""
    with (folder / "events.jsonl").open() as lines:
        return {event["provider_event_id"]: event["event_type"] for event in map(json.loads, lines)}


def _delivery(request: dict[str, Any]) -> Delivery:
    headers = {name.lower(): value for name, value in request["headers"].items()}
    # Received when the simulator delivered it, and verified at that time: the Stripe signatures
    # carry the simulated signing time, which a wall-clock check would find months old.
    now = float(request["delivered_at"])
    return Delivery(request["body"].encode(), headers, datetime.fromtimestamp(now, UTC), now)


def main(argv: list[str] | None = None) -> int:
    folder, out = (Path(arg) for arg in (argv if argv is not None else sys.argv[1:]))
    intake = Intake(load_settings())
    expected = _expected_types(folder)
    seen: set[tuple[str, ...]] = set()
    fixtures: list[dict[str, str]] = []
    for request in _requests(folder):
        provider = Provider(request["provider"])
        kind = (provider.value, request["event_type"], expected[request["provider_event_id"]])
        accepted = intake.receive(provider, _delivery(request))
        for envelope, message in zip(accepted.envelopes, accepted.messages(), strict=True):
            currency = json.loads(message.value)["payload"]
            keys: list[tuple[str, ...]] = [kind]
            odd_exponent = _currency(provider, currency)
            if odd_exponent is not None and odd_exponent in PROVIDER_EXPONENTS.get(provider, {}):
                keys.append((provider.value, "exponent", odd_exponent))
            for key in keys:
                if key not in seen:
                    seen.add(key)
                    fixtures.append(
                        {
                            "name": ".".join(key),
                            "topic": message.topic,
                            "key": message.key.decode(),
                            "value": message.value.decode(),
                            "provider_event_id": envelope.provider_event_id,
                        }
                    )
    out.write_text("".join(json.dumps(fixture, sort_keys=True) + "\n" for fixture in fixtures))
    print(f"wrote {len(fixtures)} envelopes to {out}")
    return 0


def _currency(provider: Provider, payload: dict[str, Any]) -> str | None:
    """The currency of a payload, wherever the provider puts it."""
    if provider is Provider.STRIPE:
        return str(payload["data"]["object"]["currency"]).upper()
    if provider is Provider.ADYEN:
        return str(payload["amount"]["currency"])
    return None


if __name__ == "__main__":
    raise SystemExit(main())
