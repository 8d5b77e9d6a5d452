"""A small, deterministic bronze dataset: random traffic plus hand-placed window edges.

Events follow the normalized-event contract's types: every payment has a first `payment.*` event
(authorized, succeeded or failed), some are refunded or disputed, and a share is delivered twice
(the same event_id loaded again later), as bronze allows.
"""

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from contracts.reference.fx import USD_PER_UNIT

START = datetime(2026, 8, 1)
"""Naive UTC, as the bronze TIMESTAMP columns hold it."""

Row = dict[str, Any]


@dataclass
class Dataset:
    events: list[Row] = field(default_factory=list)
    payments: list[Row] = field(default_factory=list)
    decisions: list[Row] = field(default_factory=list)


def _event(
    event_id: str, payment: Row, event_type: str, status: str, occurred_at: datetime, loaded_at: datetime, **extra: Any
) -> Row:
    return {
        "event_id": event_id,
        "payment_id": payment["payment_id"],
        "provider": payment["provider"],
        "provider_event_id": f"prov_{event_id}",
        "event_type": event_type,
        "status": status,
        "amount_minor": extra.pop("amount_minor", payment["amount_minor"]),
        "currency": payment["currency"],
        "occurred_at": occurred_at,
        "merchant_id": payment["merchant_id"],
        "customer_id": payment["customer_id"],
        "card_fingerprint": payment["card_fingerprint"],
        "card_bin": "424242",
        "card_country": payment["card_country"],
        "ip_country": payment["ip_country"],
        "merchant_category": "5411",
        "recorded_at": occurred_at + timedelta(seconds=1),
        "loaded_at": loaded_at,
        **extra,
    }


def add_payment(
    data: Dataset,
    payment_id: str,
    *,
    at: datetime,
    customer: str,
    card: str,
    merchant: str,
    amount_minor: int,
    currency: str = "USD",
    provider: str = "stripe",
    outcome: str = "succeeded",
    card_country: str | None = "US",
    ip_country: str | None = "US",
    refund_at: datetime | None = None,
    dispute_at: datetime | None = None,
    loaded_at: datetime | None = None,
    redeliver: bool = False,
) -> None:
    """One payment and its events. `outcome` is `succeeded` or `failed` (declined at `at`)."""
    loaded = loaded_at or datetime.now().replace(microsecond=0)
    payment: Row = {
        "payment_id": payment_id,
        "provider": provider,
        "merchant_id": merchant,
        "customer_id": customer,
        "card_fingerprint": card,
        "amount_minor": amount_minor,
        "currency": currency,
        "card_country": card_country,
        "ip_country": ip_country,
    }
    events = [_event(f"{payment_id}_1", payment, f"payment.{outcome}", outcome, at, loaded)]
    if outcome == "failed":
        events[0] |= {"decline_code": "card_declined", "decline_category": "soft"}
    status = outcome
    if refund_at is not None:
        events.append(
            _event(
                f"{payment_id}_r",
                payment,
                "refund.succeeded",
                "refunded",
                refund_at,
                loaded,
                refund_id=f"re_{payment_id}",
            )
        )
        status = "refunded"
    if dispute_at is not None:
        dispute = {"dispute_id": f"dp_{payment_id}"}
        events.append(_event(f"{payment_id}_d", payment, "dispute.opened", "disputed", dispute_at, loaded, **dispute))
        status = "disputed"
    if redeliver:
        events.append(events[0] | {"loaded_at": loaded + timedelta(minutes=5)})
    data.events.extend(events)
    last = max(event["occurred_at"] for event in events)
    snapshot = {key: payment[key] for key in payment if key not in ("card_country", "ip_country")}
    data.payments.append(
        snapshot | {"status": status, "first_seen_at": at, "updated_at": last, "loaded_at": loaded, "decision": None}
    )
    if outcome == "succeeded":
        data.decisions.append(
            {
                "event_id": f"dec_{payment_id}",
                "payment_id": payment_id,
                "decision": "approve",
                "fraud_score": 0.1,
                "fraud_model_version": "rules-v1",
                "rules_triggered": "[]",
                "decided_at": at,
                "recorded_at": at,
                "loaded_at": loaded,
            }
        )


def random_dataset(
    payments: int = 600, customers: int = 40, cards: int = 60, merchants: int = 8, days: int = 120, seed: int = 7
) -> Dataset:
    """Random traffic over `days` days: bursts (to fill short windows), declines, refunds, disputes."""
    rng = random.Random(seed)
    data = Dataset()
    currencies = ["USD", "EUR", "JPY", "GBP", "KWD"]
    providers = ["stripe", "adyen", "braintree"]
    countries = ["US", "DE", "GB", "JP", None]
    card_owner = {f"card_{i}": f"cus_{rng.randrange(customers)}" for i in range(cards)}
    at = START
    for number in range(payments):
        # Mostly minutes apart, sometimes days: every window sees both empty and busy spells.
        at += timedelta(seconds=rng.choice([0, 30, 600, 3600, 3 * 3600, 86400, 5 * 86400]) * rng.random())
        at = at.replace(microsecond=0) if rng.random() < 0.3 else at
        card = f"card_{rng.randrange(cards)}"
        customer = card_owner[card] if rng.random() < 0.8 else f"cus_{rng.randrange(customers)}"
        currency = rng.choice(currencies)
        add_payment(
            data,
            f"pay_{number:05d}",
            at=at,
            customer=customer,
            card=card,
            merchant=f"mer_{rng.randrange(merchants)}",
            amount_minor=rng.randrange(100, 50_000),
            currency=currency,
            provider=rng.choice(providers),
            outcome="failed" if rng.random() < 0.15 else "succeeded",
            card_country=rng.choice(countries),
            ip_country=rng.choice(countries),
            refund_at=at + timedelta(hours=rng.randrange(1, 200)) if rng.random() < 0.08 else None,
            dispute_at=at + timedelta(days=rng.randrange(1, 40)) if rng.random() < 0.05 else None,
            redeliver=rng.random() < 0.05,
        )
    return data


EDGE_START = datetime(2026, 7, 1, 10, 0, 0)
"""Window edges, placed before the random traffic and for their own customer and card."""


def add_window_edges(data: Dataset) -> None:
    """Customer `cus_edge` with card `card_edge` (all USD, merchant `mer_edge`):

    | payment | at | amount |
    |---|---|---|
    | edge_1 | 10:00:00 | 10.00 |
    | edge_2 | 11:00:00 (exactly 1 h after edge_1) | 20.00, declined |
    | edge_3 | 11:00:00 (same instant as edge_2) | 30.00 |
    | edge_4 | 12:00:00.000001 (1 h and 1 us after edge_2 and edge_3) | 40.00 |
    | edge_5 | 10:00:00 next day (exactly 24 h after edge_1) | 50.00 |
    """

    def edge(payment_id: str, after: timedelta, amount_minor: int, outcome: str = "succeeded") -> None:
        add_payment(
            data,
            payment_id,
            at=EDGE_START + after,
            customer="cus_edge",
            card="card_edge",
            merchant="mer_edge",
            amount_minor=amount_minor,
            outcome=outcome,
        )

    edge("edge_1", timedelta(0), 1000)
    edge("edge_2", timedelta(hours=1), 2000, outcome="failed")
    edge("edge_3", timedelta(hours=1), 3000)
    edge("edge_4", timedelta(hours=2, microseconds=1), 4000)
    edge("edge_5", timedelta(hours=24), 5000)


def watermarks(data: Dataset) -> list[Row]:
    """What the loader records after copying `data`: one row per bronze table."""
    tables = {
        "bronze_payment_events": data.events,
        "bronze_payments": data.payments,
        "bronze_decisions": data.decisions,
    }
    loaded = max(row["loaded_at"] for row in data.events)
    return [
        {
            "source_table": table,
            "high_watermark": max(row["loaded_at"] for row in table_rows),
            "rows_loaded": len(table_rows),
            "loaded_at": loaded,
        }
        for table, table_rows in tables.items()
    ]


def fixture_dataset() -> Dataset:
    data = random_dataset()
    add_window_edges(data)
    return data


def currencies_used(data: Dataset) -> set[str]:
    return {event["currency"] for event in data.events}


def rows(data: Dataset, table: str) -> Iterator[Row]:
    if table == "bronze_load_watermarks":
        yield from watermarks(data)
        return
    source = {
        "bronze_payment_events": data.events,
        "bronze_payments": data.payments,
        "bronze_decisions": data.decisions,
    }
    yield from source[table]


assert {"USD", "EUR", "JPY", "GBP", "KWD"} <= set(USD_PER_UNIT)
