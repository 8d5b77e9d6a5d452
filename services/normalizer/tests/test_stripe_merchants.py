"""The Stripe merchant lookup's records and expiry, on hand-written values."""

from __future__ import annotations

import json
from typing import Any

import pytest

from contracts.schemas.normalized_event import SourcePosition
from normalizer.mapping import MappingError
from normalizer.stripe_merchants import Orphan, expire, held, orphan, parse, party_of

DAY = 86_400.0
NOW = 1_800_000_000.0


def test_a_fact_of_the_first_version_is_the_merchant_id_alone() -> None:
    assert parse(b'{"merchant_id":"MHAND0000001"}') == {"merchant_id": "MHAND0000001"}


def test_a_fact_is_the_payments_platform_keys() -> None:
    value = (
        b'{"merchant_id":"MHAND0000001","customer_id":"cus_Hand1","device_id":"dev_hand1",'
        b'"ip_country":"FR","merchant_category":"5812","other":"left out","customer_name":null}'
    )
    assert parse(value) == {
        "merchant_id": "MHAND0000001",
        "customer_id": "cus_Hand1",
        "device_id": "dev_hand1",
        "ip_country": "FR",
        "merchant_category": "5812",
    }


def test_the_table_holds_a_fact_in_order_and_reads_back_both_versions() -> None:
    party = {"merchant_id": "MHAND0000001", "device_id": "dev_hand1", "merchant_category": "5812"}
    assert held(party, NOW) == ["MHAND0000001", NOW, None, "dev_hand1", None, "5812"]
    assert party_of(held(party, NOW)) == party
    assert party_of(json.loads(json.dumps(held(party, NOW)))) == party  # as read back from the changelog
    assert party_of(["MHAND0000001", NOW]) == {"merchant_id": "MHAND0000001"}  # the first version's value


def test_an_orphan_carries_the_webhook_position_key_and_envelope_bytes() -> None:
    source = SourcePosition(topic="webhooks.stripe.v1", partition=4, offset=1234)
    envelope = '{"provider_event_id": "evt_1", "payload": {"note": "caf\u00e9"}}'.encode()
    key, value = orphan("pi_Hand01", source, b"evt_1", envelope, attempts=3)
    assert key == b"pi_Hand01"
    assert json.loads(value) == {
        "source": {"topic": "webhooks.stripe.v1", "partition": 4, "offset": 1234},
        "key": "evt_1",
        "envelope": envelope.decode(),
        "attempts": 3,
    }
    assert parse(value) == Orphan(source=source, key=b"evt_1", envelope=envelope, attempts=3)


ORPHAN = '"source": {"topic": "webhooks.stripe.v1", "partition": 0, "offset": 1}, "key": "k", "envelope": "{}"'


@pytest.mark.parametrize(
    "value",
    [
        b"",
        b"[]",
        b'"x"',
        b'{"merchant_id": ""}',
        b'{"merchant_id": 7}',
        b'{"merchant_id": "M1", "device_id": 7}',
        b'{"key": "k"}',
        *(("{" + ORPHAN + attempts + "}").encode() for attempts in ("", ', "attempts": 0', ', "attempts": -1')),
        *(("{" + ORPHAN + attempts + "}").encode() for attempts in (', "attempts": "2"', ', "attempts": 1.5')),
        *(("{" + ORPHAN + attempts + "}").encode() for attempts in (', "attempts": true', ', "attempts": null')),
        b'{"source": {"topic": "webhooks.stripe.v1", "partition": 0, "offset": 1}, "envelope": {}, "attempts": 1}',
    ],
)
def test_anything_else_is_refused(value: bytes) -> None:
    with pytest.raises((ValueError, KeyError)):
        parse(value)


def test_an_orphan_with_a_valid_attempts_count_parses() -> None:
    assert parse(("{" + ORPHAN + ', "attempts": 2}').encode()) == Orphan(
        source=SourcePosition(topic="webhooks.stripe.v1", partition=0, offset=1), key=b"k", envelope=b"{}", attempts=2
    )


def test_facts_older_than_the_retention_are_dropped_and_counted() -> None:
    facts: dict[str, Any] = {
        "pi_old": ["M1", NOW - 180 * DAY - 1],  # one second past: dropped
        "pi_edge": ["M1", NOW - 180 * DAY],  # exactly the retention: kept
        "pi_recent": ("M2", NOW - DAY),  # as held in memory, or as read back from the changelog
        "pi_none": None,
    }
    assert expire(facts, NOW, 180 * DAY) == 1
    assert set(facts) == {"pi_edge", "pi_recent", "pi_none"}


def _orphan_length(envelope: bytes) -> int:
    """The orphan record's length by the standard library's compact JSON (not the code's)."""
    document = {
        "source": {"topic": "webhooks.stripe.v1", "partition": 2, "offset": 7},
        "key": "evt_hand",
        "envelope": envelope.decode(),
        "attempts": 1,
    }
    return len(json.dumps(document, separators=(",", ":")).encode())


def test_an_orphan_up_to_the_limit_is_sent_and_one_byte_more_is_refused_with_a_reason() -> None:
    source = SourcePosition(topic="webhooks.stripe.v1", partition=2, offset=7)
    base = _orphan_length(b'{"t":""}')
    fits = b'{"t":"' + b"y" * (900_000 - base) + b'"}'  # the limit, 900,000 bytes, written out
    assert _orphan_length(fits) == 900_000
    key, value = orphan("pi_Hand", source, b"evt_hand", fits)
    assert (key, len(value)) == (b"pi_Hand", 900_000)

    with pytest.raises(MappingError) as refused:
        orphan("pi_Hand", source, b"evt_hand", fits[:-2] + b'y"}')
    assert [(r.field, r.code) for r in refused.value.reasons] == [
        ("payload.data.object.metadata.merchant_id", "orphan_too_large")
    ]
