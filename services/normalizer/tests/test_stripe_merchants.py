"""The Stripe merchant lookup's records and expiry, on hand-written values."""

from __future__ import annotations

import json
from typing import Any

import pytest

from contracts.schemas.normalized_event import SourcePosition
from normalizer.stripe_merchants import Orphan, expire, orphan, parse

DAY = 86_400.0
NOW = 1_800_000_000.0


def test_a_fact_is_the_merchant_id() -> None:
    assert parse(b'{"merchant_id":"MHAND0000001"}') == "MHAND0000001"


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


@pytest.mark.parametrize("value", [b"", b"[]", b'"x"', b'{"merchant_id": ""}', b'{"merchant_id": 7}', b'{"key": "k"}'])
def test_anything_else_is_refused(value: bytes) -> None:
    with pytest.raises((ValueError, KeyError)):
        parse(value)


def test_facts_older_than_the_retention_are_dropped_and_counted() -> None:
    facts: dict[str, Any] = {
        "pi_old": ["M1", NOW - 180 * DAY - 1],  # one second past: dropped
        "pi_edge": ["M1", NOW - 180 * DAY],  # exactly the retention: kept
        "pi_recent": ("M2", NOW - DAY),  # as held in memory, or as read back from the changelog
        "pi_none": None,
    }
    assert expire(facts, NOW, 180 * DAY) == 1
    assert set(facts) == {"pi_edge", "pi_recent", "pi_none"}
