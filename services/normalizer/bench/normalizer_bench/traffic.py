"""The bench's messages: the golden envelopes, made into new provider events.

Two kinds of traffic:

* `realistic` (the default): every message is a new payment (its own payment id), of one of
  `customers` customers, on one of that customer's one to three cards, at a time spread evenly
  over `days` days (the simulator's defaults: 1,000 customers, 30 days, one to three cards each).
  With 20,000 messages a third of which are payment events, a customer has ~7 payment events in
  30 days (the simulator's mean rate is 0.25 payments a day), so an entity's velocity state
  holds a handful of attempts, as in real traffic.
* `hot` (the worst case, what the bench sent before): the 24 golden envelopes repeated with a new
  provider event id only. Their 16 customers and 9 cards keep their payment ids and times, so
  every card's declines (one per failed event id) pile up inside its 24-hour window: the velocity
  state of each entity grows with the run.

Each realistic message is checked by mapping it in this process: its payment id, customer, card
fingerprint and event time must be the ones it was made with (the text substitution below is
verified, not trusted).
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any

from contracts.reference.providers import Provider
from contracts.schemas.normalized_event import NormalizedEvent, SourcePosition
from normalizer.mapping import decode, map_envelope

START = datetime(2025, 1, 6, tzinfo=UTC)
"""The simulator's default first day: every event time lies in the past."""
ISO = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})?$")
EPOCH_KEYS = frozenset({"created"})
"""Stripe's event times (epoch seconds)."""


@dataclass(frozen=True)
class Message:
    topic: str
    key: bytes
    value: bytes


@dataclass(frozen=True)
class Template:
    """One golden envelope and what its mapping reads from it."""

    topic: str
    provider: Provider
    document: dict[str, Any]
    payment: str
    """The provider's payment id (`payment_id` without the provider prefix)."""
    customer: str | None
    card: str | None
    occurred_at: datetime


DISPUTE_MERCHANT = "MBENCHDISPUTE"


def golden() -> list[dict[str, Any]]:
    """The golden envelopes; the Stripe disputes among them given a merchant in their metadata.

    A real Stripe dispute names no merchant (`metadata: {}`, the golden ones too): the worker looks
    its payment's merchant up (`normalizer.stripe_merchants`), which, for the bench's payments that
    were never seen (a new payment per message), would dead-letter 3 messages in 24. Real disputes
    are a fraction of a percent of the traffic: the bench sends them as a platform that set the
    dispute's metadata through Stripe's API would, and measures the lookup's steady cost, the fact
    of every normalized Stripe event."""
    text = resources.files("golden").joinpath("envelopes.jsonl").read_text()
    fixtures = [json.loads(line) for line in text.splitlines() if line]
    for fixture in fixtures:
        document = json.loads(fixture["value"])
        obj = document["payload"]["data"]["object"] if fixture["topic"] == "webhooks.stripe.v1" else {}
        if obj.get("object") == "dispute" and not obj.get("metadata"):
            obj["metadata"] = {"merchant_id": DISPUTE_MERCHANT}
            fixture["value"] = json.dumps(document)
    return fixtures


def _map(provider: Provider, value: bytes) -> NormalizedEvent:
    return map_envelope(provider, decode(provider, value), SourcePosition(topic="bench", partition=0, offset=0))


def templates() -> list[Template]:
    found = []
    for fixture in golden():
        provider = Provider(fixture["topic"].split(".")[1])
        event = _map(provider, fixture["value"].encode())
        found.append(
            Template(
                fixture["topic"],
                provider,
                json.loads(fixture["value"]),
                event.payment_id.split(":", 1)[1],
                event.customer_id,
                event.card.fingerprint if event.card else None,
                event.occurred_at,
            )
        )
    return found


def _numbered(template: str, number: int, keep: int | None = None) -> str:
    """`template`'s first `keep` characters (default: all but the last 7), then `number` in digits,
    zero-padded to `template`'s length: digits fit every provider's id format."""
    digits = str(number)
    head = len(template) - 7 if keep is None else keep
    head = max(0, min(head, len(template) - len(digits)))
    return template[:head] + digits.zfill(len(template) - head)


def _shift(node: Any, delta: timedelta, key: str = "") -> Any:
    """Every timestamp in the document moved by `delta` (ISO strings, Stripe's epoch seconds)."""
    if isinstance(node, dict):
        return {k: _shift(v, delta, k) for k, v in node.items()}
    if isinstance(node, list):
        return [_shift(v, delta) for v in node]
    if isinstance(node, str):
        match = ISO.match(node)
        if match is None:
            return node
        moved = datetime.fromisoformat(match.group(1)) + delta
        return moved.isoformat() + (match.group(2) or "") + (match.group(3) or "")
    if isinstance(node, int) and not isinstance(node, bool) and key in EPOCH_KEYS:
        return node + int(delta.total_seconds())
    return node


def _replace(node: Any, swaps: dict[str, str]) -> Any:
    if isinstance(node, dict):
        return {k: _replace(v, swaps) for k, v in node.items()}
    if isinstance(node, list):
        return [_replace(v, swaps) for v in node]
    if isinstance(node, str):
        for old, new in swaps.items():
            if old in node:
                node = node.replace(old, new)
        return node
    return node


def realistic(count: int, tag: str, customers: int, days: int, seed: int = 1) -> Iterator[Message]:
    """`count` new payments' events, the golden kinds in turn, checked by mapping each one."""
    rng = random.Random(seed)
    kinds = templates()
    span = timedelta(days=days) / max(count, 1)
    for n in range(count):
        template = kinds[n % len(kinds)]
        customer = rng.randrange(customers)
        card = customer * 3 + rng.randrange(1 + customer % 3)  # one to three cards per customer
        at = START + span * n
        delta = timedelta(seconds=round((at - template.occurred_at).total_seconds()))
        swaps = {template.payment: _numbered(template.payment, n)}
        new_customer = None
        if template.customer:
            # Keeps "cus_" only: a customer has one id whichever provider the merchant uses.
            new_customer = swaps[template.customer] = _numbered(template.customer, customer, keep=4)
        new_card = None
        if template.card:  # a provider's own fingerprint format: one card per provider, as in reality
            new_card = swaps[template.card] = _numbered(template.card, card)
        document = _shift(_replace(template.document, swaps), delta)
        event_id = f"{tag}-{n}"
        document["provider_event_id"] = event_id
        value = json.dumps(document).encode()
        event = _map(template.provider, value)
        made = (event.payment_id, event.customer_id, event.card.fingerprint if event.card else None, event.occurred_at)
        wanted = (
            f"{template.provider.value}:{swaps[template.payment]}",
            new_customer,
            new_card,
            template.occurred_at + delta,
        )
        if made != wanted:
            raise RuntimeError(f"message {n} ({template.topic}) maps to {made}, not {wanted}")
        yield Message(template.topic, event_id.encode(), value)


def hot(count: int, tag: str) -> Iterator[Message]:
    """The golden envelopes repeated, a new provider event id each: 16 customers, ever the same payments."""
    fixtures = golden()
    for n in range(count):
        fixture = fixtures[n % len(fixtures)]
        document = json.loads(fixture["value"])
        event_id = f"{tag}-{n}"
        document["provider_event_id"] = event_id
        yield Message(fixture["topic"], event_id.encode(), json.dumps(document).encode())
