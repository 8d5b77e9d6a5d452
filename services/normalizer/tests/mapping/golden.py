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
# merchant is its payment's, which the worker looks up (with the payment's other platform keys)
# and hands to `normalize`. These are the keys the simulator gave the two disputed payments
# (pi_AGy... and pi_Z1d...), as it put them on the disputes before they came in Stripe's format.
PAYMENT_PARTIES: dict[str, dict[str, str]] = {
    "pi_AGyTfIBaeDRVwsAiCqzh5Eir": {
        "merchant_id": "MHGF4P88TIC8L",
        "customer_id": "cus_mL0sPJQp9IG6q9",
        "device_id": "dev_ca8656c0faaf6686",
        "ip_country": "GB",
        "merchant_category": "5812",
    },
    "pi_Z1dDHGFJSudITutPcVEAKB1M": {
        "merchant_id": "M91V9RW6N9R1R",
        "customer_id": "cus_KEnQwc3vF1nIXw",
        "device_id": "dev_4010f4774fd835df",
        "ip_country": "US",
        "merchant_category": "5411",
    },
}
LOOKED_UP: dict[str, dict[str, str]] = {
    "stripe.charge.dispute.created.dispute.opened": PAYMENT_PARTIES["pi_AGyTfIBaeDRVwsAiCqzh5Eir"],
    "stripe.charge.dispute.closed.dispute.won": PAYMENT_PARTIES["pi_AGyTfIBaeDRVwsAiCqzh5Eir"],
    "stripe.charge.dispute.closed.dispute.lost": PAYMENT_PARTIES["pi_Z1dDHGFJSudITutPcVEAKB1M"],
}
"""Fixture name -> the platform keys of its payment, for the fixtures whose object names none."""
