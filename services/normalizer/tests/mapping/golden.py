"""The golden envelopes (`tests/golden/envelopes.jsonl`): real gateway output for simulator traffic."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

from contracts.reference.providers import Provider


@dataclass(frozen=True)
class Golden:
    name: str
    topic: str
    key: str
    value: bytes
    provider_event_id: str

    @property
    def provider(self) -> Provider:
        return Provider(self.topic.split(".")[1])

    def document(self) -> dict[str, Any]:
        """The envelope as JSON, to derive the kinds the simulator does not send."""
        return dict(json.loads(self.value))


def load() -> dict[str, Golden]:
    text = resources.files("golden").joinpath("envelopes.jsonl").read_text()
    fixtures = [json.loads(line) for line in text.splitlines() if line]
    return {
        item["name"]: Golden(
            item["name"], item["topic"], item["key"], item["value"].encode(), item["provider_event_id"]
        )
        for item in fixtures
    }


GOLDEN = load()

# A Stripe Dispute carries no platform metadata (`metadata: {}`, as real Stripe sends it): its
# merchant is its payment's, which the worker looks up and hands to `normalize`. These are the
# merchants the simulator gave the two disputed payments (pi_AGy... and pi_Z1d...).
LOOKED_UP: dict[str, str] = {
    "stripe.charge.dispute.created.dispute.opened": "MHGF4P88TIC8L",
    "stripe.charge.dispute.closed.dispute.won": "MHGF4P88TIC8L",
    "stripe.charge.dispute.closed.dispute.lost": "M91V9RW6N9R1R",
}
"""Fixture name -> the merchant of its payment, for the fixtures whose object names none."""
