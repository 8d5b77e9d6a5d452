"""Shared fixtures: small simulations (built once per session, never mutated) and a real local
webhook receiver for the sending mode."""

from __future__ import annotations

import binascii
import dataclasses
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.parsers.expat import ExpatError

import braintree  # type: ignore[import-untyped]
import pytest
import stripe
from Adyen.util import is_valid_hmac_notification  # type: ignore[import-untyped]
from braintree.exceptions.invalid_signature_error import InvalidSignatureError  # type: ignore[import-untyped]
from pydantic import ValidationError
from square.utils.webhooks_helper import verify_signature

from contracts.reference.providers import Provider
from simulator.checks import provider_models
from simulator.config import SimulationConfig
from simulator.engine import Simulation, simulate
from simulator.providers.base import WebhookRequest
from simulator.providers.braintree import decode_form
from simulator.secrets import TEST_SECRETS, WebhookSecrets
from simulator.traffic import requests

SMALL = SimulationConfig(
    seed=7, customers=600, merchants=40, days=28, fraud_rate=0.04, start=datetime(2025, 3, 3, tzinfo=UTC)
)
"""Small enough for a second, large enough that every pattern and provider shows up."""

FAULTY = SimulationConfig(
    seed=11,
    customers=300,
    merchants=40,
    days=14,
    invalid_signature_share=0.1,
    malformed_share=0.08,
    duplicate_share=0.05,
    fraud_rate=0.05,
)
"""With deliberate bad signatures, malformed payloads and re-deliveries."""


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
    body against the contracts: 200 when both pass, 401 for a bad signature, 400 for a body that
    does not parse or break the contract. The first `fail_first` requests get 503 (with
    `Retry-After: retry_after` when set), to exercise re-delivery.

    Anything else that goes wrong in here is a defect of the test: it is kept in `crashes`, answered
    500, and fails the test when the fixture closes (never disguised as a refusal)."""

    protocol_version = "HTTP/1.1"
    state: dict[str, int] = {}
    notification_url: str = ""
    crashes: list[BaseException] = []

    def log_message(self, format: str, *args: object) -> None:  # (stdlib signature)
        """Quiet: the tests read the counters, not the log."""

    def _answer(self, status: int, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self) -> None:  # (stdlib naming)
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with _LOCK:
            self.state["received"] = self.state.get("received", 0) + 1
            if self.state.get("fail_first", 0) > 0:
                self.state["fail_first"] -= 1
                retry_after = self.state.get("retry_after")
                self._answer(503, {"Retry-After": str(retry_after)} if retry_after is not None else None)
                return
        try:
            self._answer(self._judge(body))
        except Exception as error:  # noqa: BLE001 (kept and re-raised by the fixture: a test defect)
            self.crashes.append(error)
            self._answer(500)

    def _judge(self, body: bytes) -> int:
        provider = Provider(self.path.rsplit("/", 1)[-1])
        headers = {name.lower(): value for name, value in self.headers.items()}
        try:
            signed = _verify(provider, headers, body, self.notification_url)
        except _UNPARSABLE:
            return 400
        if not signed:
            return 401
        try:
            provider_models(provider, body)
        except (ValidationError, ValueError):
            return 400
        return 200


_LOCK = threading.Lock()
_UNPARSABLE = (json.JSONDecodeError, UnicodeDecodeError, binascii.Error, ExpatError)
"""A body the SDKs cannot even read (a delivery cut short)."""


def _verify(provider: Provider, headers: dict[str, str], body: bytes, notification_url: str) -> bool:
    """The provider SDK's verdict on the signature: True, False, or an `_UNPARSABLE` error."""
    if provider is Provider.STRIPE:
        if "stripe-signature" not in headers:
            return False
        secret = TEST_SECRETS.stripe_webhook_secrets[0]
        try:
            return bool(stripe.WebhookSignature.verify_header(body.decode(), headers["stripe-signature"], secret, 300))
        except stripe.SignatureVerificationError:
            return False
    if provider is Provider.SQUARE:
        return verify_signature(
            request_body=body.decode(),
            signature_header=headers.get("x-square-hmacsha256-signature", ""),
            signature_key=TEST_SECRETS.square_signature_key,
            notification_url=notification_url,
        )
    if provider is Provider.ADYEN:
        items = [item["NotificationRequestItem"] for item in json.loads(body)["notificationItems"]]
        if not all(item.get("additionalData", {}).get("hmacSignature") for item in items):
            return False
        return all(is_valid_hmac_notification(item, TEST_SECRETS.adyen_hmac_key) for item in items)
    signature, payload = decode_form(body)
    if signature is None:
        return False
    gateway = braintree.BraintreeGateway(
        braintree.Configuration(
            environment=braintree.Environment.Sandbox,
            merchant_id="simulator",
            public_key=TEST_SECRETS.braintree_public_key,
            private_key=TEST_SECRETS.braintree_private_key,
        )
    )
    # The SDK's own signature check, without `parse`'s object building after it: that crashes on a
    # correctly signed notification that lacks a field (AttributeError), which is a schema error
    # for the contracts check below to report, not a signature verdict.
    try:
        gateway.webhook_notification._WebhookNotificationGateway__validate_signature(signature, payload)
    except InvalidSignatureError:
        return False
    return True


@dataclass
class WebhookServer:
    base_url: str
    state: dict[str, int]

    @property
    def square_notification_url(self) -> str:
        """The URL Square signs for this receiver (as `--test-secrets` derives it from `--base-url`)."""
        return self.base_url + "/webhooks/square"

    def secrets(self) -> WebhookSecrets:
        """The test secrets, with this receiver's Square notification URL."""
        return dataclasses.replace(TEST_SECRETS, square_notification_url=self.square_notification_url)


@pytest.fixture()
def webhook_server() -> Iterator[WebhookServer]:
    """A real HTTP server on a free local port, in a thread, for the sending mode."""
    state: dict[str, int] = {}
    crashes: list[BaseException] = []
    handler: type[_GatewayStandIn] = type("Handler", (_GatewayStandIn,), {"state": state, "crashes": crashes})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    base_url = f"http://127.0.0.1:{server.server_address[1]}"
    handler.notification_url = base_url + "/webhooks/square"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield WebhookServer(base_url, state)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    assert not crashes, f"the stand-in receiver crashed: {crashes!r}"
