"""Property-based fuzzing of every webhook route, bodies and headers alike.

Properties:
* no input gets a 5xx other than 503 (and 503 only when the broker is down);
* a refused request publishes nothing; an accepted one publishes exactly its events;
* a correctly signed valid contract instance is always accepted, and what is published is the
  provider's payload as the contract model reads it;
* changing a signed byte is always refused.

The app runs with its real Kafka publisher against the real broker. Each request is bracketed by
the topics' end offsets: what lies between them is what it published (nothing, when refused).
The broker-down property uses the same app configured with a broker address nothing listens on.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlencode
from xml.sax.saxutils import escape

import pytest

# anyio comes with litestar (its test client runs the app through an anyio portal, as this does).
from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from litestar import Litestar
from litestar.testing import TestClient
from pydantic import ValidationError
from webhook_samples import (
    BRAINTREE_PRIVATE,
    BRAINTREE_PUBLIC,
    SQUARE_SECRET,
    STRIPE_SECRET,
    adyen_sign,
    braintree_payload,
    braintree_signature,
    content_without_signatures,
    make_settings,
    square_signature,
    stripe_header,
)

from contracts.reference.providers import Provider
from contracts.schemas.payment_event import AdyenEnvelope, BraintreeEnvelope, parse_payment_event
from contracts.schemas.providers.adyen import AdyenNotification
from contracts.schemas.providers.braintree import BraintreeNotification
from contracts.schemas.providers.square import SquareEvent
from contracts.schemas.providers.stripe import StripeEvent
from contracts.schemas.quarantine import QuarantinedWebhook
from contracts.topics import QUARANTINE, WEBHOOK_TOPICS, webhook_topic
from gateway.asgi import create_app
from integration.kafka_reader import Record, TopicReader, closed_port
from testing.kafka import KafkaServer
from testing.strategies import documents, instances

PATHS = {provider: f"/webhooks/{provider.value}" for provider in Provider}
REFUSALS = {400, 401, 413, 415, 422}
FUZZ = settings(
    max_examples=50,
    deadline=None,
    # Not `filter_too_much`: if filtering ever left too few examples, the run must say so, not
    # shrink silently. The statistics (examples actually run) are printed with each run (conftest).
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


class Topics:
    """The gateway's topics on the real broker, read from a synchronous test."""

    def __init__(self, portal: BlockingPortal, reader: TopicReader) -> None:
        self._portal = portal
        self._reader = reader

    def mark(self) -> None:
        """Remember the end offsets: `appended` returns what lies beyond them."""
        self._portal.call(self._reader.mark)

    def appended(self) -> list[Record]:
        records: list[Record] = self._portal.call(self._reader.new_records)
        return records


@pytest.fixture(scope="module")
def topics(broker: KafkaServer) -> Iterator[Topics]:
    names = [*(topic.name for topic in WEBHOOK_TOPICS.values()), QUARANTINE.name]
    with (
        start_blocking_portal() as portal,
        portal.wrap_async_context_manager(TopicReader(broker.bootstrap_servers, names)) as reader,
    ):
        yield Topics(portal, reader)


@pytest.fixture(scope="module")
def http(broker: KafkaServer) -> Iterator[TestClient[Litestar]]:
    """The app with its real publisher and the real broker."""
    settings = make_settings(GATEWAY_KAFKA_BOOTSTRAP_SERVERS=broker.bootstrap_servers)
    with TestClient(app=create_app(settings)) as client:
        yield client


@pytest.fixture(scope="module")
def http_without_broker() -> Iterator[TestClient[Litestar]]:
    """The app with its real publisher, configured with a broker that cannot be reached."""
    with TestClient(app=create_app(make_settings(GATEWAY_KAFKA_BOOTSTRAP_SERVERS=closed_port()))) as client:
        yield client


def assert_same_items(actual: Sequence[Any], expected: Sequence[Any]) -> None:
    """Equal as multisets: items of one request may land on several partitions, which Kafka does
    not order among themselves."""
    remaining = list(actual)
    for item in expected:
        assert item in remaining, f"{item!r} not published"
        remaining.remove(item)
    assert remaining == [], "published more than expected"


QUARANTINED = "quarantined"
"""`post`'s outcome for a 200 whose body went to the quarantine topic (authentic, but refused by
the contract model), instead of the status code."""


def post(
    http: TestClient[Litestar], topics: Topics, provider: Provider, body: bytes, headers: dict[str, Any]
) -> tuple[int | str, list[Record]]:
    topics.mark()
    response = http.post(PATHS[provider], content=body, headers=headers)
    # The gateway answers only after the broker acknowledged, so the records are already there.
    published = topics.appended()
    assert response.status_code < 500, response.text
    if response.status_code == 200 and [r.topic for r in published] == [QUARANTINE.name]:
        kept = QuarantinedWebhook.model_validate_json(published[0].value)
        # Kept without signatures (Adyen's and Braintree's have no timestamp: they could be replayed).
        assert kept.provider is provider
        assert content_without_signatures(provider, kept.body()) == content_without_signatures(provider, body)
        return QUARANTINED, published
    if response.status_code == 200:
        assert published, "accepted without publishing"
        for message in published:
            # Whatever was accepted is a valid contract envelope for every consumer: no poison.
            envelope = parse_payment_event(message.value)
            assert envelope.provider is provider
            assert message.key == envelope.provider_event_id.encode()
            assert message.topic == webhook_topic(provider).name
    else:
        assert response.status_code in REFUSALS, response.text
        assert response.json()["reason"]
        assert published == [], "published for a refused request"
    return response.status_code, published


# -- strategies ----------------------------------------------------------------------------------

header_text = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, blacklist_characters="\x7f"), max_size=200
).map(lambda s: s.encode("latin-1"))
content_types = st.sampled_from(
    [
        "application/json",
        "application/json; charset=utf-8",
        "application/x-www-form-urlencoded",
        "text/plain",
        "APPLICATION/JSON",
        "",
    ]
)
signature_headers = st.sampled_from(
    ["stripe-signature", "x-square-hmacsha256-signature", "x-square-signature", "authorization"]
)
stripe_like = st.builds(
    lambda t, sigs: f"t={t}," + ",".join(f"v1={s}" for s in sigs),
    st.integers(-(2**40), 2**40),
    st.lists(st.text("0123456789abcdef", min_size=0, max_size=70), max_size=4),
).map(str.encode)
bodies = st.one_of(
    st.binary(max_size=2048),
    st.text(max_size=512).map(str.encode),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
        max_leaves=20,
    ).map(lambda v: json.dumps(v).encode()),
    st.sampled_from([b"[" * 5000, b'{"a":' * 3000, b"bt_signature=&bt_payload=", b"\x00" * 10]),
)


@pytest.mark.parametrize("provider", list(Provider))
@FUZZ
@given(
    body=bodies,
    content_type=content_types,
    extra=st.dictionaries(signature_headers, st.one_of(header_text, stripe_like), max_size=3),
)
def test_unsigned_garbage_is_refused_with_a_4xx(
    http: TestClient[Litestar],
    topics: Topics,
    provider: Provider,
    body: bytes,
    content_type: str,
    extra: dict[str, bytes],
) -> None:
    status, _ = post(http, topics, provider, body, {"content-type": content_type, **extra})
    assert status != 200


# -- signed requests -------------------------------------------------------------------------


def signed(provider: Provider, document: Any) -> tuple[bytes, dict[str, str]]:
    """Sign an arbitrary JSON-able document as the provider would."""
    if provider is Provider.STRIPE:
        body = json.dumps(document).encode()
        return body, {"content-type": "application/json", "stripe-signature": stripe_header(body, [STRIPE_SECRET])}
    if provider is Provider.SQUARE:
        body = json.dumps(document).encode()
        return body, {
            "content-type": "application/json",
            "x-square-hmacsha256-signature": square_signature(body, SQUARE_SECRET),
        }
    if provider is Provider.ADYEN:
        if isinstance(document, dict) and isinstance(document.get("notificationItems"), list):
            for wrapper in document["notificationItems"]:
                if isinstance(wrapper, dict) and isinstance(wrapper.get("NotificationRequestItem"), dict):
                    wrapper["NotificationRequestItem"] = adyen_sign(wrapper["NotificationRequestItem"])
        return json.dumps(document).encode(), {"content-type": "application/json"}
    payload = braintree_payload(to_xml("notification", document))
    form = {
        "bt_signature": braintree_signature(payload, [(BRAINTREE_PUBLIC, BRAINTREE_PRIVATE)]),
        "bt_payload": payload,
    }
    return urlencode(form).encode(), {"content-type": "application/x-www-form-urlencoded"}


def xml_clean(value: str) -> str:
    """XML 1.0 cannot carry most control characters (and turns CR into LF): drop them."""
    return "".join(ch for ch in value if ch in "\t\n" or ord(ch) >= 0x20 and not 0xFFFE <= ord(ch) <= 0xFFFF)


def _xml_text(value: str) -> str:
    return escape(xml_clean(value))


def _tag(name: str) -> str:
    tag = "".join(ch for ch in name.replace("_", "-") if ch.isascii() and (ch.isalnum() or ch == "-"))
    return tag if tag[:1].isalpha() else f"x{tag}"


def to_xml(name: str, value: Any) -> str:
    """A Braintree-style XML element for a JSON-like value (the inverse of the gateway's reader)."""
    tag = _tag(name)
    if value is None:
        return f'<{tag} nil="true"/>'
    if isinstance(value, bool):
        return f'<{tag} type="boolean">{str(value).lower()}</{tag}>'
    if isinstance(value, int):
        return f'<{tag} type="integer">{value}</{tag}>'
    if isinstance(value, datetime):
        return f'<{tag} type="datetime">{value.isoformat()}</{tag}>'
    if isinstance(value, list):
        return f'<{tag} type="array">' + "".join(to_xml("item", v) for v in value) + f"</{tag}>"
    if isinstance(value, dict):
        return f"<{tag}>" + "".join(to_xml(str(k), v) for k, v in value.items()) + f"</{tag}>"
    if isinstance(value, Decimal | float):
        return f"<{tag}>{value}</{tag}>"
    return f"<{tag}>{_xml_text(str(value))}</{tag}>"


MODELS: dict[Provider, Any] = {
    Provider.STRIPE: StripeEvent,
    Provider.SQUARE: SquareEvent,
    Provider.ADYEN: AdyenNotification,
    Provider.BRAINTREE: BraintreeNotification,
}


@pytest.mark.parametrize("provider", list(Provider))
@FUZZ
@given(data=st.data())
def test_signed_schema_documents_are_accepted_or_refused_never_crash(
    http: TestClient[Litestar], topics: Topics, provider: Provider, data: st.DataObject
) -> None:
    document = data.draw(documents(MODELS[provider]))
    body, headers = signed(provider, document)
    status, published = post(http, topics, provider, body, headers)
    assert status in {200, QUARANTINED, 400, 422}
    if status == 200 and provider is Provider.ADYEN:
        assert len(published) == len(document["notificationItems"])


def _xml_cleaned(value: Any) -> Any:
    """`value` as the XML carries it: strings without the characters XML drops, and an empty
    mapping as the empty element, which reads back as empty text."""
    if isinstance(value, str):
        return xml_clean(value)
    if isinstance(value, dict) and not value:
        return ""
    if isinstance(value, dict):
        return {key: _xml_cleaned(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_xml_cleaned(item) for item in value]
    return value


def braintree_status(notification: Any) -> int | str:
    """What the gateway must answer a signed, valid Braintree instance: 200, unless what XML
    cannot carry (control characters, an empty mapping) was lost and that broke the contract:
    then the authentic body is quarantined. Decided by the contract model, not by the gateway."""
    wire = _wire(notification)
    cleaned = _xml_cleaned(wire)
    if cleaned == wire:
        return 200
    try:
        BraintreeNotification.model_validate(cleaned)
    except ValidationError:
        return QUARANTINED
    return 200


def _wire(model: Any) -> Any:
    """The JSON a provider would send for a contract instance (Braintree: data for the XML)."""
    if isinstance(model, BraintreeNotification):
        return model.model_dump(mode="python", exclude_unset=True)
    return json.loads(model.model_dump_json(by_alias=True, exclude_unset=True))


@pytest.mark.parametrize("provider", [Provider.STRIPE, Provider.SQUARE, Provider.ADYEN])
@FUZZ
@given(data=st.data())
def test_signed_valid_instances_are_published_as_the_contract_reads_them(
    http: TestClient[Litestar], topics: Topics, provider: Provider, data: st.DataObject
) -> None:
    model = MODELS[provider]
    instance = data.draw(instances(model))
    document = _wire(instance)
    body, headers = signed(provider, document)
    status, published = post(http, topics, provider, body, headers)
    assert status == 200
    envelopes = [parse_payment_event(message.value) for message in published]
    if provider is Provider.ADYEN:
        sent = json.loads(body)
        for wrapper in sent["notificationItems"]:
            # Verified, then dropped: signatures are never forwarded.
            assert wrapper["NotificationRequestItem"]["additionalData"].pop("hmacSignature")
        expected = model.model_validate(sent).notification_items
        assert_same_items([e.payload for e in envelopes], [w.item for w in expected])
        assert all(isinstance(e, AdyenEnvelope) and e.live is (document["live"] == "true") for e in envelopes)
    else:
        assert [e.payload for e in envelopes] == [model.model_validate_json(body)]
    for envelope, message in zip(envelopes, published, strict=True):
        assert message.key == envelope.provider_event_id.encode()
        assert envelope.provider is provider


@FUZZ
@given(notification=instances(BraintreeNotification))
def test_signed_valid_braintree_instances_are_accepted(
    http: TestClient[Litestar], topics: Topics, notification: BraintreeNotification
) -> None:
    body, headers = signed(Provider.BRAINTREE, _wire(notification))
    status, published = post(http, topics, Provider.BRAINTREE, body, headers)
    # Text the XML cannot carry is dropped, which may make a field invalid: that is quarantined.
    assert status == braintree_status(notification)
    if status == 200:
        envelope = parse_payment_event(published[0].value)
        assert isinstance(envelope, BraintreeEnvelope)
        assert envelope.payload.kind == xml_clean(notification.kind)
        assert envelope.payload.timestamp == notification.timestamp


@pytest.mark.parametrize("provider", [Provider.STRIPE, Provider.SQUARE, Provider.BRAINTREE])
@FUZZ
@given(data=st.data())
def test_changing_any_signed_byte_is_refused(
    http: TestClient[Litestar], topics: Topics, provider: Provider, data: st.DataObject
) -> None:
    document = _wire(data.draw(instances(MODELS[provider])))
    body, headers = signed(provider, document)
    index = data.draw(st.integers(0, len(body) - 1))
    replacement = data.draw(st.integers(0, 255).filter(lambda b: b != body[index]))
    tampered = body[:index] + bytes([replacement]) + body[index + 1 :]
    if provider is Provider.BRAINTREE:
        # Percent-encoding has several spellings of one byte; only a change in what is decoded counts.
        assume(parse_qsl(tampered.decode("latin-1")) != parse_qsl(body.decode("latin-1")))
    status, _ = post(http, topics, provider, tampered, headers)
    assert status in {400, 401}


@FUZZ
@given(
    instance=instances(AdyenNotification),
    field=st.sampled_from(["pspReference", "merchantReference", "eventCode", "success", "value", "currency"]),
)
def test_changing_a_signed_adyen_field_is_refused(
    http: TestClient[Litestar], topics: Topics, instance: AdyenNotification, field: str
) -> None:
    document = _wire(instance)
    body, headers = signed(Provider.ADYEN, document)
    tampered = json.loads(body)
    item = tampered["notificationItems"][0]["NotificationRequestItem"]
    if field in ("value", "currency"):
        item["amount"][field] = item["amount"][field] + 1 if field == "value" else "XXX"
    elif field == "success":
        item["success"] = "false" if item["success"] == "true" else "true"
    else:
        item[field] = item[field] + "x"
    status, _ = post(http, topics, Provider.ADYEN, json.dumps(tampered).encode(), headers)
    assert status == 401


@pytest.mark.parametrize("provider", list(Provider))
@FUZZ
@given(data=st.data())
def test_broker_down_is_the_only_5xx(
    http_without_broker: TestClient[Litestar], topics: Topics, provider: Provider, data: st.DataObject
) -> None:
    instance = data.draw(instances(MODELS[provider]))
    body, headers = signed(provider, _wire(instance))
    topics.mark()
    response = http_without_broker.post(PATHS[provider], content=body, headers=headers)
    # Every authentic body needs the broker, valid (its topic) or not (the quarantine): a 503.
    assert response.status_code == 503
    assert int(response.headers["retry-after"]) > 0
    assert response.json()["reason"] == "broker_unavailable"
    assert topics.appended() == []


@FUZZ
@given(event=instances(StripeEvent), age=st.integers(-(10**6), 10**6))
def test_stripe_replay_window_holds_for_any_age(
    http: TestClient[Litestar], topics: Topics, event: StripeEvent, age: int
) -> None:
    body = json.dumps(_wire(event)).encode()
    header = stripe_header(body, [STRIPE_SECRET], int(time.time()) - age)
    status, _ = post(
        http, topics, Provider.STRIPE, body, {"content-type": "application/json", "stripe-signature": header}
    )
    if abs(age) > 302:
        assert status == 401
    elif abs(age) < 298:
        assert status == 200
