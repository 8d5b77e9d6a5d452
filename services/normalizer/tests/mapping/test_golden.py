"""Golden tests: a real envelope in, the exact `NormalizedEvent` out, for every kind of every provider.

The envelopes are what the gateway published for simulator traffic (`tests/golden`). Kinds the
simulator never sends are derived from one of them by changing only the fields that make the
kind, as the provider would. Every expectation below was written by reading the payload.
"""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from contracts.reference.decline_codes import DeclineCategory
from contracts.reference.providers import Provider
from contracts.schemas.normalized_event import (
    CardInfo,
    EventType,
    NormalizedEvent,
    PaymentStatus,
    SourcePosition,
    event_id_for,
)
from mapping.golden import GOLDEN, LOOKED_UP, Golden
from normalizer.mapping import Ignored, MappingError, MerchantUnknown, normalize

SOURCE = SourcePosition(topic="webhooks.test.v1", partition=3, offset=41)
E, S, D = EventType, PaymentStatus, DeclineCategory


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def expected(golden: Golden, **fields: Any) -> NormalizedEvent:
    provider = golden.provider
    return NormalizedEvent(
        event_id=event_id_for(provider, golden.provider_event_id),
        provider=provider,
        provider_event_id=golden.provider_event_id,
        source=SOURCE,
        **fields,
    )


STRIPE_CHARGE_CARD = CardInfo(fingerprint="gghK1alEJNaTIY2n", last4="8460", brand="mastercard", country="ID")
BT_SALE_PARTY = {
    "merchant_id": "MIV24M103M4YE",
    "customer_id": "cus_IeLAiFgqteF0WV",
    "device_id": "dev_1fe7a08f3109a59b",
    "ip_country": "SE",
    "merchant_category": "5999",
}
BT_SALE_CARD = CardInfo(
    fingerprint="c0e78090a873f9afe1a24878b6c1a6df", bin="475252", last4="2909", brand="Visa", country="SE"
)
STRIPE_DISPUTE_PARTY = {
    "merchant_id": "MHGF4P88TIC8L",
    "customer_id": "cus_mL0sPJQp9IG6q9",
    "device_id": "dev_ca8656c0faaf6686",
    "ip_country": "GB",
    "merchant_category": "5812",
}
ADYEN_AUTH_PARTY = {
    "merchant_id": "M1V7C9NBFS0E4",
    "customer_id": "cus_zlzHerjIthgzT4",
    "device_id": "dev_5b02c5feaec023a6",
    "ip_country": "AU",
    "merchant_category": "5411",
}
ADYEN_AUTH_CARD = CardInfo(fingerprint="H357342372445731", bin="349281", last4="6719", brand="amex", country="AU")
ADYEN_FR_PARTY = {
    "merchant_id": "MOSAI7TML7CPI",
    "customer_id": "cus_PF5bwpOQQo0jlF",
    "device_id": "dev_80feb5dcd2a6cbff",
    "ip_country": "FR",
    "merchant_category": "5691",
}

# name of the fixture -> the fields of the event it must give (besides ids and source).
EXPECTED: dict[str, dict[str, Any]] = {
    # -- Stripe ---------------------------------------------------------------------------------
    "stripe.charge.succeeded.payment.succeeded": dict(
        event_type=E.PAYMENT_SUCCEEDED,
        status=S.SUCCEEDED,
        payment_id="stripe:pi_ZMpyOjWPBqKmZPn3jgIOQgdG",
        amount_minor=31196000,  # IDR: Stripe's exponent is ISO's (2)
        currency="IDR",
        occurred_at=datetime.fromtimestamp(1736140016, UTC),
        merchant_id="MHHLG6M7KE8QB",
        customer_id="cus_ULiRoM2zcnBOXf",
        device_id="dev_f29ef09ab6eb7927",
        ip_country="ID",
        merchant_category="5411",
        card=STRIPE_CHARGE_CARD,
    ),
    "stripe.charge.failed.payment.failed": dict(
        event_type=E.PAYMENT_FAILED,
        status=S.FAILED,
        payment_id="stripe:pi_VJhsiwWUqUIL1bjqCeOFja1f",
        amount_minor=1939,
        currency="GBP",
        occurred_at=datetime.fromtimestamp(1736374681, UTC),
        merchant_id="MHGF4P88TIC8L",
        customer_id="cus_QCAsrAI4ZPWGI9",
        device_id="dev_d430fc741c98a2fd",
        ip_country="GB",
        merchant_category="5812",
        card=CardInfo(fingerprint="M0sJ1roB70fU9oor", last4="1682", brand="mastercard", country="GB"),
        decline_code="incorrect_number",
        decline_category=D.INVALID_CARD_DATA,
    ),
    "stripe.refund.created.refund.succeeded": dict(
        event_type=E.REFUND_SUCCEEDED,
        status=S.REFUNDED,
        payment_id="stripe:pi_XgEwx5mVvSuIEvMVb60yet24",
        refund_id="re_sflNsc3CuYYETWhtbC3EFbI3",
        amount_minor=273,
        currency="USD",
        occurred_at=datetime.fromtimestamp(1736433461, UTC),
        merchant_id="MGNZX6Z5YQERH",
        customer_id="cus_w1nHFUNWV4o2z5",
        device_id="dev_f146755d1ea39dcf",
        ip_country="US",
        merchant_category="5912",
    ),
    "stripe.charge.dispute.created.dispute.opened": dict(
        event_type=E.DISPUTE_OPENED,
        status=S.DISPUTED,
        payment_id="stripe:pi_AGyTfIBaeDRVwsAiCqzh5Eir",
        dispute_id="dp_5RAUBI7O40vcScM1DL3WBR0F",
        dispute_reason="product_not_received",
        amount_minor=1643,
        currency="GBP",
        occurred_at=datetime.fromtimestamp(1738239876, UTC),
        **STRIPE_DISPUTE_PARTY,
    ),
    "stripe.charge.dispute.closed.dispute.won": dict(
        event_type=E.DISPUTE_WON,
        status=S.SUCCEEDED,
        payment_id="stripe:pi_AGyTfIBaeDRVwsAiCqzh5Eir",
        dispute_id="dp_5RAUBI7O40vcScM1DL3WBR0F",
        dispute_reason="product_not_received",
        amount_minor=1643,
        currency="GBP",
        occurred_at=datetime.fromtimestamp(1741404704, UTC),
        **STRIPE_DISPUTE_PARTY,
    ),
    "stripe.charge.dispute.closed.dispute.lost": dict(
        event_type=E.DISPUTE_LOST,
        status=S.CHARGED_BACK,
        payment_id="stripe:pi_Z1dDHGFJSudITutPcVEAKB1M",
        dispute_id="dp_nv0Z3guDwVcBLDAq10g9rFDj",
        dispute_reason="product_not_received",
        amount_minor=6823,
        currency="USD",
        occurred_at=datetime.fromtimestamp(1741962371, UTC),
        merchant_id="M91V9RW6N9R1R",
        customer_id="cus_KEnQwc3vF1nIXw",
        device_id="dev_4010f4774fd835df",
        ip_country="US",
        merchant_category="5411",
    ),
    # -- Square ---------------------------------------------------------------------------------
    "square.payment.updated.payment.succeeded": dict(
        event_type=E.PAYMENT_SUCCEEDED,
        status=S.SUCCEEDED,
        payment_id="square:c26L5ClmIX0ky9uh3N21immF8smAq",
        amount_minor=235743,
        currency="INR",
        occurred_at=at("2025-01-06T06:54:46.517+00:00"),
        merchant_id="MQKEJX4Y0R3KN",
        customer_id="cus_N7a1bGj1327vKt",
        device_id="dev_d8de4bb8924254ff",
        ip_country="IN",
        merchant_category="4121",
        card=CardInfo(
            fingerprint="sq-1-Xx3gzrrjAa1oDDVqndhqCR1w1hHA4OrXCXPP0VShJwEcAUrEJH4r2x50kq7YI5T6",
            bin="556145",
            last4="1990",
            brand="MASTERCARD",
        ),
    ),
    "square.payment.updated.payment.failed": dict(
        event_type=E.PAYMENT_FAILED,
        status=S.FAILED,
        payment_id="square:ix0a9pHWPp8xV37SmOpEE07iuasFT",
        amount_minor=1928,
        currency="EUR",
        occurred_at=at("2025-01-06T18:47:00.346+00:00"),
        merchant_id="MYH1CNGGFLP8T",
        customer_id="cus_y5ENSx7HZrTPtO",
        device_id="dev_44f9bd64a11236a3",
        ip_country="DE",
        merchant_category="5411",
        card=CardInfo(
            fingerprint="sq-1-Tx6dERSUssWNWPKHw5CP7LNaWY1eS3g7rPS4FC6EaC3qJQZXKLxf7GjNn6ug5WXJ",
            bin="476355",
            last4="0622",
            brand="VISA",
        ),
        decline_code="CARD_DECLINED",
        decline_category=D.DO_NOT_HONOR,
    ),
    "square.refund.updated.refund.succeeded": dict(
        event_type=E.REFUND_SUCCEEDED,
        status=S.REFUNDED,
        payment_id="square:ksSi8EJ0zHc4z73Ti4m8emSyv2iRx",
        refund_id="ksSi8EJ0zHc4z73Ti4m8emSyv2iRx_2qrKYAO535zo0CURMvEX7MPn4tcVv",
        amount_minor=16920004,
        currency="NGN",
        occurred_at=at("2025-01-11T01:27:33.950+00:00"),
        merchant_id="MEINIUXZ5CIZC",
    ),
    "square.dispute.created.dispute.opened": dict(
        event_type=E.DISPUTE_OPENED,
        status=S.DISPUTED,
        payment_id="square:rkbZ4kxkibX826tLOpQEfhqCfr4by",
        dispute_id="b40sqNdh2LWHJnUDoD8ey1",
        dispute_reason="NO_KNOWLEDGE",
        amount_minor=108,
        currency="USD",
        occurred_at=at("2025-01-23T16:56:23.089+00:00"),
        merchant_id="MXNT6Z8M5O7GC",
    ),
    "square.dispute.state.updated.dispute.lost": dict(
        event_type=E.DISPUTE_LOST,
        status=S.CHARGED_BACK,
        payment_id="square:RPob0xKcy3glgbCS53efOXvPw36FJ",
        dispute_id="6LV9xz68DR3rLfPvIcT9Fa",
        dispute_reason="NO_KNOWLEDGE",
        amount_minor=20197903,
        currency="NGN",
        occurred_at=at("2025-02-10T04:13:21.845+00:00"),
        merchant_id="MEINIUXZ5CIZC",
    ),
    "square.dispute.state.updated.dispute.won": dict(
        event_type=E.DISPUTE_WON,
        status=S.SUCCEEDED,
        payment_id="square:s4kUwkNNbfIIyE76BJgsvlTabu328",
        dispute_id="6ZrEmlxFYUQd4art4ebCtY",
        dispute_reason="NOT_RECEIVED",
        amount_minor=6192,
        currency="EUR",
        occurred_at=at("2025-03-20T05:28:52.105+00:00"),
        merchant_id="MYH1CNGGFLP8T",
    ),
    # -- Adyen ----------------------------------------------------------------------------------
    "adyen.AUTHORISATION.payment.succeeded": dict(
        event_type=E.PAYMENT_SUCCEEDED,
        status=S.SUCCEEDED,
        payment_id="adyen:P00B0WAL8WZW3W03",
        amount_minor=2551,
        currency="USD",
        occurred_at=at("2025-01-06T06:14:27+00:00"),
        card=ADYEN_AUTH_CARD,
        **ADYEN_AUTH_PARTY,
    ),
    "adyen.AUTHORISATION.payment.failed": dict(
        event_type=E.PAYMENT_FAILED,
        status=S.FAILED,
        payment_id="adyen:A0KR31A2OU40SFJ5",
        amount_minor=3971,
        currency="USD",
        occurred_at=at("2025-01-09T22:39:27+00:00"),
        merchant_id="M1V7C9NBFS0E4",
        customer_id="cus_uCG2cgEqbAXgUU",
        device_id="dev_dd89f262948ac051",
        ip_country="US",
        merchant_category="5411",
        card=CardInfo(fingerprint="H855026508200016", bin="372493", last4="6886", brand="amex", country="US"),
        decline_code="3D Not Authenticated",
        decline_category=D.AUTHENTICATION_REQUIRED,
    ),
    "adyen.REFUND.refund.succeeded": dict(
        event_type=E.REFUND_SUCCEEDED,
        status=S.REFUNDED,
        payment_id="adyen:8U183C22JF6M6W5M",
        refund_id="4SS29Z6NS2LLE6UB",
        amount_minor=16909,
        currency="EUR",
        occurred_at=at("2025-01-10T01:00:37+00:00"),
        **ADYEN_FR_PARTY,
    ),
    "adyen.NOTIFICATION_OF_CHARGEBACK.dispute.opened": dict(
        event_type=E.DISPUTE_OPENED,
        status=S.DISPUTED,
        payment_id="adyen:EQITJC2MQZ8CJK6E",
        dispute_id="06YUGHZ3LRDQ6JN6",
        dispute_reason="Merchandise/Services Not Received",
        amount_minor=6743,
        currency="EUR",
        occurred_at=at("2025-01-24T16:24:22+00:00"),
        merchant_id="MOSAI7TML7CPI",
        customer_id="cus_W74lspz1cQawzg",
        device_id="dev_07a6d11325123ecc",
        ip_country="FR",
        merchant_category="5691",
    ),
    "adyen.CHARGEBACK.dispute.lost": dict(
        event_type=E.DISPUTE_LOST,
        status=S.CHARGED_BACK,
        payment_id="adyen:09IYOXKK7YG4V23D",
        dispute_id="1EAAKMFNSO7DGUN2",
        dispute_reason="Other Fraud-Card Absent Environment",
        amount_minor=21141,
        currency="EUR",
        occurred_at=at("2025-02-13T05:35:43+00:00"),
        merchant_id="MOSAI7TML7CPI",
        customer_id="cus_MLxRLcBgqLA4cD",
        device_id="dev_ce8acd2226ba4798",
        ip_country="GB",
        merchant_category="5691",
    ),
    "adyen.CHARGEBACK_REVERSED.dispute.won": dict(
        event_type=E.DISPUTE_WON,
        status=S.SUCCEEDED,
        payment_id="adyen:L3HJVT87KWMXRQ18",
        dispute_id="ZKXGLDV5HLICV7GA",
        dispute_reason="Duplicate Processing",
        amount_minor=4164,
        currency="USD",
        occurred_at=at("2025-03-05T00:28:50+00:00"),
        merchant_id="M1V7C9NBFS0E4",
        customer_id="cus_PdMi7F2UnTJWDl",
        device_id="dev_acb63fc861bae5a9",
        ip_country="US",
        merchant_category="5411",
    ),
    # -- Braintree ------------------------------------------------------------------------------
    "braintree.transaction_settled.payment.succeeded": dict(
        event_type=E.PAYMENT_SUCCEEDED,
        status=S.SUCCEEDED,
        payment_id="braintree:g149kp54",
        amount_minor=1980,  # "19.80" EUR
        currency="EUR",
        occurred_at=at("2025-01-06T01:53:04+00:00"),
        card=BT_SALE_CARD,  # SWE -> SE
        **BT_SALE_PARTY,
    ),
    "braintree.transaction_processor_declined.payment.failed": dict(
        event_type=E.PAYMENT_FAILED,
        status=S.FAILED,
        payment_id="braintree:dhwy81ga",
        amount_minor=15551,
        currency="USD",
        occurred_at=at("2025-01-07T00:12:49+00:00"),
        merchant_id="MWHNUJ9T35O6O",
        customer_id="cus_mq9BV9YWkbGTEg",
        device_id="dev_98019192fa7e783c",
        ip_country="SG",
        merchant_category="5691",
        card=CardInfo(
            fingerprint="8d1d9576ffaf93613fc90bd8784b212f", bin="422788", last4="5355", brand="Visa", country="SG"
        ),
        decline_code="2001",
        decline_category=D.INSUFFICIENT_FUNDS,
    ),
    "braintree.transaction_settled.refund.succeeded": dict(
        event_type=E.REFUND_SUCCEEDED,
        status=S.REFUNDED,
        payment_id="braintree:qaln08rf",
        refund_id="4otaualq",
        amount_minor=2761,
        currency="EUR",
        occurred_at=at("2025-01-08T20:56:07+00:00"),
        merchant_id="MIV24M103M4YE",
        customer_id="cus_y7DVKuX3XarmAR",
        device_id="dev_7c1a49403f475c18",
        ip_country="NG",
        merchant_category="5999",
        card=CardInfo(
            fingerprint="3a1a793d3e3d18308a908cd2ae447a8a",
            bin="378116",
            last4="0754",
            brand="American Express",
            country="NG",
        ),
    ),
    "braintree.dispute_opened.dispute.opened": dict(
        event_type=E.DISPUTE_OPENED,
        status=S.DISPUTED,
        payment_id="braintree:ix9sou4x",
        dispute_id="uk6rqi2fflncz7qf",
        dispute_reason="fraud",
        amount_minor=20192,
        currency="USD",
        occurred_at=at("2025-01-23T22:18:39+00:00"),
        merchant_id="MWHNUJ9T35O6O",
    ),
    "braintree.dispute_lost.dispute.lost": dict(
        event_type=E.DISPUTE_LOST,
        status=S.CHARGED_BACK,
        payment_id="braintree:k7kyvn2b",
        dispute_id="wgk3bd1rw74tt1ot",
        dispute_reason="fraud",
        amount_minor=14954,
        currency="USD",
        occurred_at=at("2025-02-22T11:58:10+00:00"),
        merchant_id="MWHNUJ9T35O6O",
    ),
    "braintree.dispute_won.dispute.won": dict(
        event_type=E.DISPUTE_WON,
        status=S.SUCCEEDED,
        payment_id="braintree:p9xzovzk",
        dispute_id="6y32haahx9ujf1cw",
        dispute_reason="duplicate",
        amount_minor=1382,
        currency="EUR",
        occurred_at=at("2025-03-27T21:42:34+00:00"),
        merchant_id="MIV24M103M4YE",
    ),
}


def test_every_fixture_has_an_expectation() -> None:
    assert sorted(GOLDEN) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_golden_envelope_maps_exactly(name: str) -> None:
    golden = GOLDEN[name]
    event = normalize(golden.provider, golden.value, SOURCE, party=LOOKED_UP.get(name))
    assert event == expected(golden, **EXPECTED[name])


@pytest.mark.parametrize(
    ("name", "payment"),
    [
        ("stripe.charge.dispute.created.dispute.opened", "pi_AGyTfIBaeDRVwsAiCqzh5Eir"),
        ("stripe.charge.dispute.closed.dispute.won", "pi_AGyTfIBaeDRVwsAiCqzh5Eir"),
        ("stripe.charge.dispute.closed.dispute.lost", "pi_Z1dDHGFJSudITutPcVEAKB1M"),
    ],
)
def test_stripe_dispute_without_merchant_names_its_payment(name: str, payment: str) -> None:
    """A real-format Stripe dispute (`metadata: {}`) has no merchant of its own: `MerchantUnknown`
    names its payment (the PaymentIntent), and is a `MappingError` with a machine-readable reason."""
    golden = GOLDEN[name]
    assert golden.document()["payload"]["data"]["object"]["metadata"] == {}
    with pytest.raises(MerchantUnknown) as unknown:
        normalize(golden.provider, golden.value, SOURCE)
    assert unknown.value.payment == payment
    assert isinstance(unknown.value, MappingError)
    assert [(r.field, r.code) for r in unknown.value.reasons] == [
        ("payload.data.object.metadata.merchant_id", "merchant_unknown")
    ]


# -- kinds the simulator does not send: derived from a real envelope ------------------------------


def derive(name: str, change: Any) -> tuple[Golden, bytes]:
    golden = GOLDEN[name]
    document = golden.document()
    change(document)
    return golden, json.dumps(document).encode()


def _stripe_object(document: dict[str, Any]) -> dict[str, Any]:
    return dict(document["payload"]["data"]["object"])


def _stripe_intent(event_type: str, status: str, with_charge: bool = False, **extra: Any) -> Any:
    """The PaymentIntent of the golden charge; without a charge unless `with_charge` (an intent
    that failed before Stripe created a charge, or an older API version's event)."""

    def change(document: dict[str, Any]) -> None:
        charge = _stripe_object(document)
        document["payload"]["type"] = event_type
        document["payload"]["data"]["object"] = {
            "id": charge["payment_intent"],
            "object": "payment_intent",
            "amount": charge["amount"],
            "amount_received": charge["amount"] if status == "succeeded" else 0,
            "currency": charge["currency"],
            "status": status,
            "created": charge["created"],
            "customer": charge["customer"],
            "latest_charge": charge["id"] if with_charge else None,
            "metadata": charge["metadata"],
            **extra,
        }

    return change


STRIPE_CHARGE = "stripe.charge.succeeded.payment.succeeded"
STRIPE_PARTY = {
    "merchant_id": "MHHLG6M7KE8QB",
    "customer_id": "cus_ULiRoM2zcnBOXf",
    "device_id": "dev_f29ef09ab6eb7927",
    "ip_country": "ID",
    "merchant_category": "5411",
}
STRIPE_BASE = dict(
    payment_id="stripe:pi_ZMpyOjWPBqKmZPn3jgIOQgdG",
    currency="IDR",
    occurred_at=datetime.fromtimestamp(1736140016, UTC),
    **STRIPE_PARTY,
)


def _set(*path_and_value: Any) -> Any:
    *path, value = path_and_value

    def change(document: dict[str, Any]) -> None:
        node = document
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value

    return change


def _chain(*changes: Any) -> Any:
    def change(document: dict[str, Any]) -> None:
        for one in changes:
            one(document)

    return change


SQUARE_PAYMENT = "square.payment.updated.payment.succeeded"
SQUARE_BASE = {k: v for k, v in EXPECTED[SQUARE_PAYMENT].items() if k not in ("event_type", "status")}
ADYEN_REFUND = "adyen.REFUND.refund.succeeded"
ADYEN_REFUND_BASE = {k: v for k, v in EXPECTED[ADYEN_REFUND].items() if k not in ("event_type", "status")}
ADYEN_AUTH = "adyen.AUTHORISATION.payment.succeeded"
ADYEN_AUTH_BASE = {k: v for k, v in EXPECTED[ADYEN_AUTH].items() if k not in ("event_type", "status")}
ADYEN_CAPTURE_BASE = dict(ADYEN_AUTH_BASE, payment_id="adyen:ORIGINAL0000001")
BT_SALE = "braintree.transaction_settled.payment.succeeded"
BT_SALE_BASE = {k: v for k, v in EXPECTED[BT_SALE].items() if k not in ("event_type", "status")}
BT_REFUND = "braintree.transaction_settled.refund.succeeded"
BT_REFUND_BASE = {k: v for k, v in EXPECTED[BT_REFUND].items() if k not in ("event_type", "status")}
BT_DISPUTE = "braintree.dispute_lost.dispute.lost"
BT_DISPUTE_BASE = {k: v for k, v in EXPECTED[BT_DISPUTE].items() if k not in ("event_type", "status")}


def _adyen_capture(code: str, success: str = "true") -> Any:
    return _chain(
        _set("payload", "eventCode", code),
        _set("payload", "success", success),
        _set("payload", "originalReference", "ORIGINAL0000001"),
    )


DERIVED: dict[str, tuple[str, Any, dict[str, Any]]] = {
    "stripe payment_intent.succeeded": (
        STRIPE_CHARGE,
        _stripe_intent("payment_intent.succeeded", "succeeded"),
        dict(event_type=E.PAYMENT_SUCCEEDED, status=S.SUCCEEDED, amount_minor=31196000, **STRIPE_BASE),
    ),
    "stripe payment_intent.payment_failed": (
        STRIPE_CHARGE,
        _stripe_intent(
            "payment_intent.payment_failed",
            "requires_payment_method",
            last_payment_error={"type": "card_error", "code": "card_declined", "decline_code": "insufficient_funds"},
        ),
        dict(
            event_type=E.PAYMENT_FAILED,
            status=S.FAILED,
            amount_minor=31196000,
            decline_code="insufficient_funds",
            decline_category=D.INSUFFICIENT_FUNDS,
            **STRIPE_BASE,
        ),
    ),
    "stripe payment_intent.canceled": (
        STRIPE_CHARGE,
        _stripe_intent("payment_intent.canceled", "canceled", cancellation_reason="abandoned"),
        dict(event_type=E.PAYMENT_CANCELED, status=S.CANCELED, amount_minor=31196000, **STRIPE_BASE),
    ),
    "stripe payment_intent.amount_capturable_updated": (
        STRIPE_CHARGE,
        _stripe_intent("payment_intent.amount_capturable_updated", "requires_capture"),
        dict(event_type=E.PAYMENT_AUTHORIZED, status=S.AUTHORIZED, amount_minor=31196000, **STRIPE_BASE),
    ),
    "stripe charge.succeeded uncaptured": (
        STRIPE_CHARGE,
        _chain(
            _set("payload", "data", "object", "captured", False),
            _set("payload", "data", "object", "amount_captured", 0),
        ),
        dict(
            event_type=E.PAYMENT_AUTHORIZED,
            status=S.AUTHORIZED,
            amount_minor=31196000,
            card=STRIPE_CHARGE_CARD,
            **STRIPE_BASE,
        ),
    ),
    "stripe charge.captured": (
        STRIPE_CHARGE,
        _chain(
            _set("payload", "type", "charge.captured"), _set("payload", "data", "object", "amount_captured", 30000000)
        ),
        dict(
            event_type=E.PAYMENT_CAPTURED,
            status=S.SUCCEEDED,
            amount_minor=30000000,
            card=STRIPE_CHARGE_CARD,
            **STRIPE_BASE,
        ),
    ),
    "stripe refund.updated failed": (
        "stripe.refund.created.refund.succeeded",
        _chain(_set("payload", "type", "refund.updated"), _set("payload", "data", "object", "status", "failed")),
        dict(EXPECTED["stripe.refund.created.refund.succeeded"], event_type=E.REFUND_FAILED, status=S.SUCCEEDED),
    ),
    "stripe refund.updated pending to succeeded": (
        "stripe.refund.created.refund.succeeded",
        _chain(
            _set("payload", "type", "refund.updated"),
            _set("payload", "data", "previous_attributes", {"status": "pending"}),
        ),
        dict(EXPECTED["stripe.refund.created.refund.succeeded"]),
    ),
    "stripe ISK charge (Stripe writes ISK with two decimals)": (
        STRIPE_CHARGE,
        _chain(
            _set("payload", "data", "object", "currency", "isk"), _set("payload", "data", "object", "amount", 1234500)
        ),
        dict(
            event_type=E.PAYMENT_SUCCEEDED,
            status=S.SUCCEEDED,
            card=STRIPE_CHARGE_CARD,
            **dict(STRIPE_BASE, currency="ISK", amount_minor=12345),
        ),
    ),
    "square payment APPROVED": (
        SQUARE_PAYMENT,
        _set("payload", "data", "object", "payment", "status", "APPROVED"),
        dict(event_type=E.PAYMENT_AUTHORIZED, status=S.AUTHORIZED, **SQUARE_BASE),
    ),
    "square payment CANCELED": (
        SQUARE_PAYMENT,
        _set("payload", "data", "object", "payment", "status", "CANCELED"),
        dict(event_type=E.PAYMENT_CANCELED, status=S.CANCELED, **SQUARE_BASE),
    ),
    "square payment.created COMPLETED": (
        SQUARE_PAYMENT,
        _set("payload", "type", "payment.created"),
        dict(event_type=E.PAYMENT_SUCCEEDED, status=S.SUCCEEDED, **SQUARE_BASE),
    ),
    "square refund REJECTED": (
        "square.refund.updated.refund.succeeded",
        _set("payload", "data", "object", "refund", "status", "REJECTED"),
        dict(EXPECTED["square.refund.updated.refund.succeeded"], event_type=E.REFUND_FAILED, status=S.SUCCEEDED),
    ),
    "square dispute.created while an inquiry": (
        "square.dispute.created.dispute.opened",
        _set("payload", "data", "object", "dispute", "state", "INQUIRY_EVIDENCE_REQUIRED"),
        EXPECTED["square.dispute.created.dispute.opened"],
    ),
    "square dispute ACCEPTED": (
        "square.dispute.state.updated.dispute.lost",
        _set("payload", "data", "object", "dispute", "state", "ACCEPTED"),
        EXPECTED["square.dispute.state.updated.dispute.lost"],
    ),
    "adyen CAPTURE": (
        ADYEN_AUTH,
        _adyen_capture("CAPTURE"),
        dict(event_type=E.PAYMENT_CAPTURED, status=S.SUCCEEDED, **ADYEN_CAPTURE_BASE),
    ),
    "adyen CAPTURE_FAILED": (
        ADYEN_AUTH,
        _adyen_capture("CAPTURE_FAILED"),
        dict(event_type=E.PAYMENT_FAILED, status=S.FAILED, **ADYEN_CAPTURE_BASE),
    ),
    "adyen CANCELLATION": (
        ADYEN_AUTH,
        _adyen_capture("CANCELLATION"),
        dict(event_type=E.PAYMENT_CANCELED, status=S.CANCELED, **ADYEN_CAPTURE_BASE),
    ),
    "adyen REFUND_FAILED": (
        ADYEN_REFUND,
        _set("payload", "eventCode", "REFUND_FAILED"),
        dict(event_type=E.REFUND_FAILED, status=S.SUCCEEDED, **ADYEN_REFUND_BASE),
    ),
    "adyen REFUND success=false": (
        ADYEN_REFUND,
        _set("payload", "success", "false"),
        dict(event_type=E.REFUND_FAILED, status=S.SUCCEEDED, **ADYEN_REFUND_BASE),
    ),
    "adyen SECOND_CHARGEBACK": (
        "adyen.CHARGEBACK.dispute.lost",
        _set("payload", "eventCode", "SECOND_CHARGEBACK"),
        EXPECTED["adyen.CHARGEBACK.dispute.lost"],
    ),
    "adyen CLP (Adyen writes CLP with two decimals)": (
        ADYEN_AUTH,
        _chain(_set("payload", "amount", {"currency": "CLP", "value": 1250000})),
        dict(
            event_type=E.PAYMENT_SUCCEEDED,
            status=S.SUCCEEDED,
            **dict(ADYEN_AUTH_BASE, currency="CLP", amount_minor=12500),
        ),
    ),
    "adyen IDR (Adyen writes IDR without decimals)": (
        ADYEN_AUTH,
        _chain(_set("payload", "amount", {"currency": "IDR", "value": 150000})),
        dict(
            event_type=E.PAYMENT_SUCCEEDED,
            status=S.SUCCEEDED,
            **dict(ADYEN_AUTH_BASE, currency="IDR", amount_minor=15000000),
        ),
    ),
    "braintree transaction_authorized": (
        BT_SALE,
        _set("payload", "kind", "transaction_authorized"),
        dict(event_type=E.PAYMENT_AUTHORIZED, status=S.AUTHORIZED, **BT_SALE_BASE),
    ),
    "braintree transaction_voided": (
        BT_SALE,
        _set("payload", "kind", "transaction_voided"),
        dict(event_type=E.PAYMENT_CANCELED, status=S.CANCELED, **BT_SALE_BASE),
    ),
    # A settlement decline: the authorization was approved (the golden sale's processor response
    # stays "1000" Approved), the processor declined to settle it: Braintree says why in the
    # settlement response ("4001" Settlement Declined, a code the contracts taxonomy does not list).
    "braintree transaction_settlement_declined sale": (
        BT_SALE,
        _chain(
            _set("payload", "kind", "transaction_settlement_declined"),
            _set("payload", "subject", "transaction", "status", "settlement_declined"),
            _set("payload", "subject", "transaction", "processor_settlement_response_code", "4001"),
            _set("payload", "subject", "transaction", "processor_settlement_response_text", "Settlement Declined"),
        ),
        dict(
            event_type=E.PAYMENT_FAILED,
            status=S.FAILED,
            decline_code="4001",
            decline_category=D.UNKNOWN,
            **BT_SALE_BASE,
        ),
    ),
    # The settlement response element present but empty (as Braintree writes it when it has no
    # answer): a decline without a code, not the approved authorization's "1000".
    "braintree transaction_settlement_declined sale without a settlement code": (
        BT_SALE,
        _chain(
            _set("payload", "kind", "transaction_settlement_declined"),
            _set("payload", "subject", "transaction", "status", "settlement_declined"),
            _set("payload", "subject", "transaction", "processor_settlement_response_code", ""),
        ),
        dict(
            event_type=E.PAYMENT_FAILED,
            status=S.FAILED,
            decline_code=None,
            decline_category=D.UNKNOWN,
            **BT_SALE_BASE,
        ),
    ),
    # A processor decline still reads the authorization's code, whatever the settlement element says.
    "braintree transaction_processor_declined with an empty settlement code": (
        BT_SALE,
        _chain(
            _set("payload", "kind", "transaction_processor_declined"),
            _set("payload", "subject", "transaction", "status", "processor_declined"),
            _set("payload", "subject", "transaction", "processor_response_code", "2046"),
            _set("payload", "subject", "transaction", "processor_settlement_response_code", ""),
        ),
        dict(
            event_type=E.PAYMENT_FAILED,
            status=S.FAILED,
            decline_code="2046",
            decline_category=D.DO_NOT_HONOR,
            **BT_SALE_BASE,
        ),
    ),
    "braintree transaction_settlement_declined credit": (
        BT_REFUND,
        _set("payload", "kind", "transaction_settlement_declined"),
        dict(event_type=E.REFUND_FAILED, status=S.SUCCEEDED, **BT_REFUND_BASE),
    ),
    "braintree dispute_accepted": (
        BT_DISPUTE,
        _set("payload", "kind", "dispute_accepted"),
        dict(event_type=E.DISPUTE_LOST, status=S.CHARGED_BACK, **BT_DISPUTE_BASE),
    ),
    "braintree KWD sale (three decimals)": (
        BT_SALE,
        _chain(
            _set("payload", "subject", "transaction", "currency_iso_code", "KWD"),
            _set("payload", "subject", "transaction", "amount", "12.345"),
        ),
        dict(
            event_type=E.PAYMENT_SUCCEEDED,
            status=S.SUCCEEDED,
            **dict(BT_SALE_BASE, currency="KWD", amount_minor=12345),
        ),
    ),
}


@pytest.mark.parametrize("case", sorted(DERIVED))
def test_derived_envelope_maps_exactly(case: str) -> None:
    name, change, fields = DERIVED[case]
    golden, value = derive(name, change)
    assert normalize(golden.provider, value, SOURCE) == expected(golden, **fields)


# -- ignored: well-formed, deliberately no outcome of its own (counted and acknowledged) ----------

IGNORED: dict[str, tuple[str, Any, str]] = {
    # Stripe sends these next to `charge.succeeded` / `charge.failed` of the named charge, which
    # is the one source of the outcome.
    "stripe payment_intent.succeeded with its charge": (
        STRIPE_CHARGE,
        _stripe_intent("payment_intent.succeeded", "succeeded", with_charge=True),
        "charge_event_is_the_source",
    ),
    "stripe payment_intent.payment_failed with its charge": (
        STRIPE_CHARGE,
        _stripe_intent(
            "payment_intent.payment_failed",
            "requires_payment_method",
            with_charge=True,
            last_payment_error={"type": "card_error", "code": "card_declined", "decline_code": "insufficient_funds"},
        ),
        "charge_event_is_the_source",
    ),
    "stripe payment_intent.amount_capturable_updated with its charge": (
        STRIPE_CHARGE,
        _stripe_intent("payment_intent.amount_capturable_updated", "requires_capture", with_charge=True),
        "charge_event_is_the_source",
    ),
    # The charge's running refund total without a refund id: `refund.created` is the source.
    "stripe charge.refunded": (
        STRIPE_CHARGE,
        _chain(
            _set("payload", "type", "charge.refunded"), _set("payload", "data", "object", "amount_refunded", 1000000)
        ),
        "refund_event_is_the_source",
    ),
    # A Square dispute's opening is `dispute.created`; an update into another open state is none.
    "square dispute.state.updated PROCESSING": (
        "square.dispute.state.updated.dispute.lost",
        _set("payload", "data", "object", "dispute", "state", "PROCESSING"),
        "dispute_still_open",
    ),
    "square dispute.state.updated INQUIRY_EVIDENCE_REQUIRED": (
        "square.dispute.state.updated.dispute.lost",
        _set("payload", "data", "object", "dispute", "state", "INQUIRY_EVIDENCE_REQUIRED"),
        "dispute_still_open",
    ),
    # Steps before an outcome: the update that ends them is the outcome; a redrive never sees them.
    "stripe pending refund": (
        "stripe.refund.created.refund.succeeded",
        _set("payload", "data", "object", "status", "pending"),
        "not_an_outcome_yet",
    ),
    "stripe refund requiring action": (
        "stripe.refund.created.refund.succeeded",
        _set("payload", "data", "object", "status", "requires_action"),
        "not_an_outcome_yet",
    ),
    "square PENDING payment": (
        SQUARE_PAYMENT,
        _set("payload", "data", "object", "payment", "status", "PENDING"),
        "not_an_outcome_yet",
    ),
    "square PENDING refund": (
        "square.refund.updated.refund.succeeded",
        _set("payload", "data", "object", "refund", "status", "PENDING"),
        "not_an_outcome_yet",
    ),
    "stripe refund.updated of its metadata only": (
        "stripe.refund.created.refund.succeeded",
        _chain(
            _set("payload", "type", "refund.updated"),
            _set("payload", "data", "previous_attributes", {"metadata": {}}),
        ),
        "status_unchanged",
    ),
}


@pytest.mark.parametrize("case", sorted(IGNORED))
def test_ignored_envelope_is_neither_event_nor_error(case: str) -> None:
    name, change, code = IGNORED[case]
    golden, value = derive(name, change)
    with pytest.raises(Ignored) as ignored:
        normalize(golden.provider, value, SOURCE)
    assert ignored.value.code == code


def _stripe_envelope(event_id: str, event_type: str, obj: dict[str, Any]) -> bytes:
    """A hand-written Stripe envelope, as the gateway publishes it."""
    return json.dumps(
        {
            "envelope_id": "0b6c1f0e-6a0e-4d8b-9d55-6d9b0e0f0a01",
            "provider_event_id": event_id,
            "event_type": event_type,
            "received_at": "2025-01-06T05:06:41Z",
            "signature_key_id": "whsec_test",
            "provider": "stripe",
            "payload": {
                "id": event_id,
                "object": "event",
                "created": 1736140001,
                "type": event_type,
                "data": {"object": obj},
            },
        }
    ).encode()


def _outcomes(values: list[bytes]) -> list[NormalizedEvent]:
    """The events of a provider's sequence of envelopes, without the ignored ones."""
    events = []
    for value in values:
        with contextlib.suppress(Ignored):
            events.append(normalize(Provider.STRIPE, value, SOURCE))
    return events


def test_stripe_payment_intent_payment_gives_one_success_and_one_failure() -> None:
    """Both events Stripe sends for one PaymentIntent payment, hand-written: one outcome each."""
    intent, charge = "pi_3QhandWrittenIntent01", "ch_3QhandWrittenCharge01"
    metadata = {"merchant_id": "MHAND0000001"}

    def pair(outcome: str, charge_status: str, intent_status: str) -> list[bytes]:
        charge_obj = {
            "id": charge,
            "object": "charge",
            "amount": 2500,
            "currency": "eur",
            "status": charge_status,
            "captured": charge_status == "succeeded",
            "payment_intent": intent,
            "created": 1736140000,
            "metadata": metadata,
        }
        intent_obj = {
            "id": intent,
            "object": "payment_intent",
            "amount": 2500,
            "currency": "eur",
            "status": intent_status,
            "created": 1736139990,
            "latest_charge": charge,
            "metadata": metadata,
        }
        charge_type = "charge.succeeded" if outcome == "succeeded" else "charge.failed"
        intent_type = "payment_intent.succeeded" if outcome == "succeeded" else "payment_intent.payment_failed"
        return [
            _stripe_envelope(f"evt_charge{outcome}", charge_type, charge_obj),
            _stripe_envelope(f"evt_intent{outcome}", intent_type, intent_obj),
        ]

    for outcome, charge_status, intent_status, event_type in [
        ("succeeded", "succeeded", "succeeded", E.PAYMENT_SUCCEEDED),
        ("failed", "failed", "requires_payment_method", E.PAYMENT_FAILED),
    ]:
        events = _outcomes(pair(outcome, charge_status, intent_status))
        assert [(e.provider_event_id, e.event_type, e.payment_id, e.amount_minor) for e in events] == [
            (f"evt_charge{outcome}", event_type, f"stripe:{intent}", 2500)
        ]


# -- refusals: a reason that names the field --------------------------------------------------------

REFUSED: dict[str, tuple[str, Any, str, str]] = {
    "stripe ISK amount that is not whole kronur": (
        STRIPE_CHARGE,
        _chain(
            _set("payload", "data", "object", "currency", "isk"), _set("payload", "data", "object", "amount", 1234550)
        ),
        "payload.data.object.amount",
        "inexact_amount",
    ),
    "stripe charge without merchant": (
        STRIPE_CHARGE,
        _set("payload", "data", "object", "metadata", {}),
        "payload.data.object.metadata.merchant_id",
        "missing",
    ),
    "stripe refund event carrying a charge": (
        STRIPE_CHARGE,
        _set("payload", "type", "refund.created"),
        "payload.type",
        "object_mismatch",
    ),
    "stripe unknown event type": (
        STRIPE_CHARGE,
        _set("payload", "type", "charge.expired"),
        "payload.type",
        "unsupported",
    ),
    "stripe unknown currency": (
        STRIPE_CHARGE,
        _set("payload", "data", "object", "currency", "zzz"),
        "payload.data.object.charge.currency",
        "value_error",
    ),
    "square dispute in a state Square does not document": (
        "square.dispute.state.updated.dispute.lost",
        _set("payload", "data", "object", "dispute", "state", "WAITING_THIRD_PARTY"),
        "payload.data.dispute.object.dispute.state",  # pydantic names the union member (`dispute`)
        "literal_error",
    ),
    "square bad ip_country in the note": (
        SQUARE_PAYMENT,
        _set("payload", "data", "object", "payment", "note", "ip_country=usa"),
        "normalized.ip_country",
        "string_pattern_mismatch",
    ),
    "adyen capture without its payment": (
        ADYEN_AUTH,
        _set("payload", "eventCode", "CAPTURE"),
        "payload.originalReference",
        "missing",
    ),
    "adyen CLP with centavos (CLP has none)": (
        ADYEN_AUTH,
        _set("payload", "amount", {"currency": "CLP", "value": 1250050}),
        "payload.amount.value",
        "inexact_amount",
    ),
    "adyen unknown event code": (
        ADYEN_AUTH,
        _set("payload", "eventCode", "REPORT_AVAILABLE"),
        "payload.eventCode",
        "unsupported",
    ),
    "braintree JPY with decimals": (
        BT_SALE,
        _chain(
            _set("payload", "subject", "transaction", "currency_iso_code", "JPY"),
            _set("payload", "subject", "transaction", "amount", "19.80"),
        ),
        "payload.subject.transaction.amount",
        "inexact_amount",
    ),
    "braintree unknown alpha-3 country": (
        BT_SALE,
        _set("payload", "subject", "transaction", "credit_card", "country_of_issuance", "XYZ"),
        "payload.subject.transaction.credit_card.country_of_issuance",
        "unknown_country",
    ),
    "braintree refund without its sale": (
        BT_REFUND,
        _set("payload", "subject", "transaction", "refunded_transaction_id", None),
        "payload.subject.transaction.refunded_transaction_id",
        "missing",
    ),
    "braintree unknown kind": (
        BT_SALE,
        _set("payload", "kind", "subscription_charged_successfully"),
        "payload.kind",
        "unsupported",
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_unmappable_envelope_is_refused_with_the_field(case: str) -> None:
    name, change, field, code = REFUSED[case]
    golden, value = derive(name, change)
    with pytest.raises(MappingError) as refused:
        normalize(golden.provider, value, SOURCE)
    assert (field, code) in [(reason.field, reason.code) for reason in refused.value.reasons]


def test_braintree_unknown_country_is_no_country() -> None:
    golden, value = derive(
        BT_SALE, _set("payload", "subject", "transaction", "credit_card", "country_of_issuance", "Unknown")
    )
    event = normalize(golden.provider, value, SOURCE)
    assert event.card is not None
    assert event.card.country is None


def test_stripe_decline_reads_outcome_reason_before_failure_code() -> None:
    golden, value = derive(
        "stripe.charge.failed.payment.failed",
        _chain(
            _set("payload", "data", "object", "failure_code", "card_declined"),
            _set("payload", "data", "object", "outcome", "reason", "stolen_card"),
        ),
    )
    event = normalize(golden.provider, value, SOURCE)
    assert (event.decline_code, event.decline_category) == ("stolen_card", D.LOST_OR_STOLEN)


def test_envelope_of_another_provider_is_refused() -> None:
    golden = GOLDEN[STRIPE_CHARGE]
    with pytest.raises(MappingError) as refused:
        normalize(Provider.SQUARE, golden.value, SOURCE)
    assert any(reason.field == "provider" for reason in refused.value.reasons)


@pytest.mark.parametrize("value", [None, b"", b"not json", b"{}", b"[]", b"\xff\xfe"])
def test_garbage_is_refused_with_a_reason(value: bytes | None) -> None:
    with pytest.raises(MappingError) as refused:
        normalize(Provider.STRIPE, value, SOURCE)
    assert refused.value.reasons


def test_stripe_two_partial_refunds_give_two_refunds_with_their_own_ids_and_amounts() -> None:
    """What Stripe sends for refunds of 10.00 and then 5.00 of a 25.00 charge, hand-written: each
    refund once, with its id and its own amount (not the charge's running total)."""
    charge = {
        "id": "ch_3QhandWrittenCharge02",
        "object": "charge",
        "amount": 2500,
        "currency": "eur",
        "status": "succeeded",
        "captured": True,
        "payment_intent": "pi_3QhandWrittenIntent02",
        "created": 1736140000,
        "metadata": {"merchant_id": "MHAND0000002"},
    }

    def refund(refund_id: str, amount: int) -> dict[str, Any]:
        return {
            "id": refund_id,
            "object": "refund",
            "amount": amount,
            "currency": "eur",
            "charge": charge["id"],
            "payment_intent": charge["payment_intent"],
            "status": "succeeded",
            "created": 1736150000,
            "metadata": {"merchant_id": "MHAND0000002"},
        }

    values = [
        _stripe_envelope("evt_refundA", "refund.created", refund("re_handWrittenA", 1000)),
        _stripe_envelope("evt_chargerefundedA", "charge.refunded", dict(charge, amount_refunded=1000)),
        _stripe_envelope("evt_refundB", "refund.created", refund("re_handWrittenB", 500)),
        _stripe_envelope("evt_chargerefundedB", "charge.refunded", dict(charge, amount_refunded=1500, refunded=False)),
    ]
    events = _outcomes(values)
    assert [(e.event_type, e.refund_id, e.amount_minor, e.payment_id) for e in events] == [
        (E.REFUND_SUCCEEDED, "re_handWrittenA", 1000, "stripe:pi_3QhandWrittenIntent02"),
        (E.REFUND_SUCCEEDED, "re_handWrittenB", 500, "stripe:pi_3QhandWrittenIntent02"),
    ]


def test_square_dispute_unknown_state_is_refused_by_the_mapping_too() -> None:
    """The contract refuses a state it does not list; the mapping itself never calls one opened."""
    from contracts.schemas.payment_event import SquareEnvelope
    from normalizer.mapping import square

    golden = GOLDEN["square.dispute.state.updated.dispute.lost"]
    envelope = SquareEnvelope.model_validate_json(golden.value)
    dispute = envelope.payload.data.object.dispute  # type: ignore[union-attr]
    object.__setattr__(dispute, "state", "WAITING_THIRD_PARTY")  # past the contract's own check
    with pytest.raises(MappingError) as refused:
        square.normalize(envelope, SOURCE)
    assert [(r.field, r.code) for r in refused.value.reasons] == [("payload.data.object.dispute.state", "unsupported")]
