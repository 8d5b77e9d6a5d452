"""Shared fixtures: small simulations (built once per session, never mutated) and a real local
webhook receiver for the sending mode."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import braintree  # type: ignore[import-untyped]
import pytest
import stripe
from Adyen.util import is_valid_hmac_notification  # type: ignore[import-untyped]
from pydantic import ValidationError
from square.utils.webhooks_helper import verify_signature

from contracts.reference.providers import Provider
from simulator.checks import provider_models
from simulator.config import SimulationConfig
from simulator.engine import Simulation, simulate
from simulator.providers.base import WebhookRequest
from simulator.providers.braintree import decode_form
from simulator.secrets import TEST_SECRETS
from simulator.traffic import requests

SMALL = SimulationConfig(
    seed=7, customers=600, merchants=40, days=28, fraud_rate=0.04, start=datetime(2025, 3, 3, tzinfo=UTC)
)
"""Small enough for a second, large enough that every pattern and provider shows up."""

FAULTY = SimulationConfig(
    seed=11, customers=300, merchants=40, days=14, invalid_signature_share=0.1, malformed_share=0.08, fraud_rate=0.05
)
"""With deliberate bad signatures and malformed payloads."""


@pytest.fixture(scope="session")
def small_config() -> SimulationConfig:
    return SMALL


@pytest.fixture(scope="session")
def faulty_config() -> SimulationConfig:
    return FAULTY


@pytest.fixture(scope="session")
def small_simulation() -> Simulation:
    return simulate(SMALL)


@pytest.fixture(scope="session")
def small_requests(small_simulation: Simulation) -> list[WebhookRequest]:
    return list(requests(small_simulation, TEST_SECRETS))


@pytest.fixture(scope="session")
def faulty_requests() -> list[WebhookRequest]:
    return list(requests(simulate(FAULTY), TEST_SECRETS))


class _GatewayStandIn(BaseHTTPRequestHandler):
    """A receiver that checks each provider's signature with the provider's own SDK, then the
    body against the contracts: 200 when both pass, 401 for a bad signature, 400 for a bad body.
    The first `fail_first` requests get 503, to exercise re-delivery."""

    protocol_version = "HTTP/1.1"
    state: dict[str, int] = {}

    def log_message(self, format: str, *args: object) -> None:  # (stdlib signature)
        """Quiet: the tests read the counters, not the log."""

    def _answer(self, status: int) -> None:
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self) -> None:  # (stdlib naming)
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with _LOCK:
            self.state["received"] = self.state.get("received", 0) + 1
            if self.state.get("fail_first", 0) > 0:
                self.state["fail_first"] -= 1
                self._answer(503)
                return
        provider = Provider(self.path.rsplit("/", 1)[-1])
        try:
            signed = _verify(provider, dict(self.headers.items()), body)
        except Exception:  # noqa: BLE001 (any SDK refusal is a bad signature)
            signed = False
        if not signed:
            self._answer(401)
            return
        try:
            provider_models(provider, body)
        except (ValidationError, ValueError):
            self._answer(400)
            return
        self._answer(200)


_LOCK = threading.Lock()


def _verify(provider: Provider, headers: dict[str, str], body: bytes) -> bool:
    lowered = {name.lower(): value for name, value in headers.items()}
    if provider is Provider.STRIPE:
        secret = TEST_SECRETS.stripe_webhook_secrets[0]
        return bool(stripe.WebhookSignature.verify_header(body.decode(), lowered["stripe-signature"], secret, 300))
    if provider is Provider.SQUARE:
        return verify_signature(
            request_body=body.decode(),
            signature_header=lowered.get("x-square-hmacsha256-signature", ""),
            signature_key=TEST_SECRETS.square_signature_key,
            notification_url=TEST_SECRETS.square_notification_url,
        )
    if provider is Provider.ADYEN:
        items = json.loads(body)["notificationItems"]
        return all(is_valid_hmac_notification(i["NotificationRequestItem"], TEST_SECRETS.adyen_hmac_key) for i in items)
    signature, payload = decode_form(body)
    gateway = braintree.BraintreeGateway(
        braintree.Configuration(
            environment=braintree.Environment.Sandbox,
            merchant_id="simulator",
            public_key=TEST_SECRETS.braintree_public_key,
            private_key=TEST_SECRETS.braintree_private_key,
        )
    )
    gateway.webhook_notification.parse(signature, payload.decode())
    return True


@dataclass
class WebhookServer:
    base_url: str
    state: dict[str, int]


@pytest.fixture()
def webhook_server() -> Iterator[WebhookServer]:
    """A real HTTP server on a free local port, in a thread, for the sending mode."""
    state: dict[str, int] = {}
    handler = type("Handler", (_GatewayStandIn,), {"state": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield WebhookServer(f"http://127.0.0.1:{server.server_address[1]}", state)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
