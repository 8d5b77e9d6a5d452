"""Tabular outputs: the event stream as the platform should see it, and the ground truth apart.

`events` is what a correct normalizer would produce from the genuine webhooks (one row per event,
with the contracts' deterministic `event_id` and provider-qualified `payment_id`), so downstream
counts can be checked against it. It carries no label. The ground truth (`payments`: fraud
pattern, disputes, refunds; `customers`: churn, takeover, fraudster accounts) is written to a
separate folder and is for evaluation only.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from contracts.reference.providers import Provider
from contracts.schemas.normalized_event import EventType, payment_id_for
from simulator.catalog import BRANDS
from simulator.engine import Simulation
from simulator.model import SimEvent
from simulator.providers.base import Rendered

Columns = dict[str, list[Any]]

TIMESTAMP_COLUMNS: Final = frozenset(
    {"occurred_at", "created_at", "refund_at", "dispute_opened_at", "dispute_closed_at", "churned_at", "taken_over_at"}
)


class EventTable:
    """Rows of the genuine event stream, added as the requests are rendered."""

    def __init__(self) -> None:
        self.columns: Columns = {
            name: []
            for name in (
                "seq",
                "event_id",
                "provider",
                "provider_event_id",
                "provider_event_type",
                "event_type",
                "occurred_at",
                "payment_id",
                "sim_payment_index",
                "amount_minor",
                "currency",
                "customer_id",
                "merchant_id",
                "merchant_category",
                "device_id",
                "ip_country",
                "card_fingerprint",
                "card_bin",
                "card_last4",
                "card_brand",
                "card_country",
                "decline_code",
                "decline_category",
                "dispute_reason",
            )
        }
        self.provider_payment_ids: dict[int, str] = {}
        self.payment_event_ids: dict[int, str] = {}

    def add(self, event: SimEvent, rendered: Rendered, event_id: str) -> None:
        payment = event.payment
        provider = payment.provider
        if event.kind in (EventType.PAYMENT_SUCCEEDED, EventType.PAYMENT_FAILED):
            self.provider_payment_ids[payment.index] = rendered.provider_payment_id
            self.payment_event_ids[payment.index] = event_id
        refund = event.kind is EventType.REFUND_SUCCEEDED and payment.refund is not None
        failed = event.kind is EventType.PAYMENT_FAILED
        card = payment.card
        values = (
            event.seq,
            event_id,
            provider.value,
            rendered.provider_event_id,
            rendered.event_type,
            event.kind.value,
            event.at,
            payment_id_for(provider, rendered.provider_payment_id),
            payment.index,
            payment.refund.amount_minor if refund and payment.refund is not None else payment.amount_minor,
            payment.currency,
            payment.customer_id,
            payment.merchant.id,
            payment.merchant.category.mcc,
            payment.device_id,
            payment.ip_country,
            card.fingerprint,
            card.bin,
            card.last4,
            BRANDS[card.brand].stripe,
            card.country.code,
            payment.decline_code if failed else None,
            payment.decline_category.value if failed and payment.decline_category is not None else None,
            (
                payment.dispute.reason.value
                if payment.dispute is not None and event.kind.value.startswith("dispute")
                else None
            ),
        )
        for column, value in zip(self.columns.values(), values, strict=True):
            column.append(value)


def payment_labels(simulation: Simulation, table: EventTable) -> Columns:
    """Ground truth per payment attempt: fraud pattern, refund, dispute and its outcome."""
    horizon = simulation.config.horizon_ts
    columns: Columns = {
        name: []
        for name in (
            "sim_payment_index",
            "payment_id",
            "payment_event_id",
            "provider",
            "provider_payment_id",
            "created_at",
            "customer_id",
            "merchant_id",
            "amount_minor",
            "currency",
            "succeeded",
            "attempt",
            "retry_of_index",
            "is_fraud",
            "fraud_pattern",
            "incident",
            "refunded",
            "refund_at",
            "disputed",
            "dispute_opened_at",
            "dispute_reported",
            "dispute_reason",
            "dispute_closed_at",
            "merchant_won_dispute",
        )
    }
    for payment in simulation.payments:
        provider: Provider = payment.provider
        provider_payment_id = table.provider_payment_ids.get(payment.index, "")
        dispute = payment.dispute
        refund = payment.refund
        values = (
            payment.index,
            payment_id_for(provider, provider_payment_id) if provider_payment_id else None,
            table.payment_event_ids.get(payment.index),
            provider.value,
            provider_payment_id or None,
            payment.created_at,
            payment.customer_id,
            payment.merchant.id,
            payment.amount_minor,
            payment.currency,
            payment.succeeded,
            payment.attempt,
            payment.retry_of.index if payment.retry_of is not None else None,
            payment.is_fraud,
            payment.pattern.value,
            payment.incident,
            refund is not None and refund.at < horizon,
            refund.at if refund is not None and refund.at < horizon else None,
            dispute is not None,
            dispute.opened_at if dispute is not None else None,
            dispute is not None and dispute.opened_at < horizon,
            dispute.reason.value if dispute is not None else None,
            dispute.closed_at if dispute is not None and dispute.closed_at < horizon else None,
            dispute.merchant_won if dispute is not None and dispute.closed_at < horizon else None,
        )
        for column, value in zip(columns.values(), values, strict=True):
            column.append(value)
    return columns


def customer_labels(simulation: Simulation) -> Columns:
    """Ground truth per customer account: churn, takeover, fraudster-made accounts."""
    columns: Columns = {
        name: []
        for name in (
            "customer_id",
            "home_country",
            "segment",
            "is_fraudster",
            "churned",
            "churned_at",
            "churn_kind",
            "taken_over_at",
            "cards",
            "devices",
        )
    }
    for customer in simulation.all_customers:
        values = (
            customer.id,
            customer.country.code,
            customer.segment,
            customer.is_fraudster,
            customer.churn_at is not None,
            customer.churn_at,
            customer.churn_kind,
            customer.taken_over_at,
            len(customer.cards),
            len(customer.devices) + (customer.new_device is not None),
        )
        for column, value in zip(columns.values(), values, strict=True):
            column.append(value)
    return columns


def _iso(value: int | None) -> str | None:
    return None if value is None else datetime.fromtimestamp(value, UTC).isoformat()


def write_jsonl(path: Path, columns: Columns) -> Path:
    """One JSON object per row; timestamps as ISO 8601 UTC."""
    path = path.with_suffix(".jsonl")
    names = list(columns)
    converters = [_iso if name in TIMESTAMP_COLUMNS else None for name in names]
    with path.open("w", encoding="utf-8") as out:
        for row in zip(*columns.values(), strict=True):
            record = {
                name: (convert(value) if convert is not None else value)
                for name, value, convert in zip(names, row, converters, strict=True)
            }
            out.write(json.dumps(record, separators=(",", ":")) + "\n")
    return path


def write_parquet(path: Path, columns: Columns) -> Path:
    """A Parquet file; timestamps as `timestamp[s, UTC]`."""
    import pyarrow as pa  # type: ignore[import-untyped]
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    path = path.with_suffix(".parquet")
    arrays = {
        name: pa.array(values, type=pa.timestamp("s", tz="UTC")) if name in TIMESTAMP_COLUMNS else pa.array(values)
        for name, values in columns.items()
    }
    pq.write_table(pa.table(arrays), path, compression="zstd")
    return path


def write_table(path: Path, columns: Columns, fmt: str) -> Path:
    if fmt == "parquet":
        return write_parquet(path, columns)
    if fmt == "jsonl":
        return write_jsonl(path, columns)
    raise ValueError(f"unknown table format {fmt!r} (parquet or jsonl)")


def rows(columns: Columns) -> Iterable[dict[str, Any]]:
    """The table as row dicts (for tests and small consumers)."""
    names = list(columns)
    for row in zip(*columns.values(), strict=True):
        yield dict(zip(names, row, strict=True))
