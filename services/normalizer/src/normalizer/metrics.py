"""Counters the worker keeps, exposed in Prometheus' text format on `/metrics`."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from contracts.reference.providers import PROVIDERS

OUTCOMES = ("normalized", "dead_lettered", "duplicate", "ignored")
VELOCITY_OUTCOMES = ("published", "dead_lettered", "expired")
STRIPE_MERCHANT_OUTCOMES = (
    "fact",
    "forwarded",
    "resolved",
    "merchant_unknown",
    "unmappable",
    "ignored",
    "unreadable",
    "expired",
)
"""See `normalizer.stripe_merchants.OUTCOMES`."""


@dataclass
class Metrics:
    """Per-provider outcome counts and batch acknowledgements, for one worker process."""

    outcomes: Counter[tuple[str, str]] = field(default_factory=Counter)
    batches: int = 0
    acknowledged_seconds: float = 0.0
    dedupe_expired: int = 0
    stalls: int = 0

    def count(self, provider: str, outcome: str, n: int = 1) -> None:
        self.outcomes[(provider, outcome)] += n

    def batch_acknowledged(self, seconds: float) -> None:
        self.batches += 1
        self.acknowledged_seconds += seconds

    def render(self) -> str:
        lines = [
            "# HELP normalizer_messages_total Provider messages processed, by outcome.",
            "# TYPE normalizer_messages_total counter",
        ]
        for provider in PROVIDERS:
            for outcome in OUTCOMES:
                value = self.outcomes[(provider.value, outcome)]
                lines.append(f'normalizer_messages_total{{provider="{provider.value}",outcome="{outcome}"}} {value}')
        lines += [
            "# HELP normalizer_velocity_total Velocity feature records published, events dead-lettered, entities expired.",
            "# TYPE normalizer_velocity_total counter",
            *(
                f'normalizer_velocity_total{{outcome="{outcome}"}} {self.outcomes[("velocity", outcome)]}'
                for outcome in VELOCITY_OUTCOMES
            ),
            "# HELP normalizer_stripe_merchants_total The Stripe merchant lookup: orphans forwarded, facts read,"
            " orphans resolved or dead-lettered, facts expired.",
            "# TYPE normalizer_stripe_merchants_total counter",
            *(
                f'normalizer_stripe_merchants_total{{outcome="{outcome}"}} {self.outcomes[("stripe_merchants", outcome)]}'
                for outcome in STRIPE_MERCHANT_OUTCOMES
            ),
            "# HELP normalizer_batches_total Batches whose outputs the broker acknowledged.",
            "# TYPE normalizer_batches_total counter",
            f"normalizer_batches_total {self.batches}",
            "# HELP normalizer_dedupe_expired_total Dedupe marks dropped past the window (and its margin).",
            "# TYPE normalizer_dedupe_expired_total counter",
            f"normalizer_dedupe_expired_total {self.dedupe_expired}",
            "# HELP normalizer_ack_wait_seconds_total Time spent awaiting the broker's acknowledgements.",
            "# TYPE normalizer_ack_wait_seconds_total counter",
            f"normalizer_ack_wait_seconds_total {self.acknowledged_seconds:.6f}",
            "# HELP normalizer_stalled_partitions_total Input partitions sought back because their commit stalled.",
            "# TYPE normalizer_stalled_partitions_total counter",
            f"normalizer_stalled_partitions_total {self.stalls}",
        ]
        return "\n".join(lines) + "\n"
