"""Row models of the tables in `contracts/sql/payment_events.sql`, column for column.

Services write rows through these models, dbt declares the bronze tables as sources with the same
columns, and a test proves the DDL, these models and the dbt sources agree.
"""

from datetime import datetime
from typing import ClassVar

from contracts.schemas.base import ContractModel


class RowModel(ContractModel):
    """A row of one table: the table's name and primary key travel with the model."""

    table: ClassVar[str]
    primary_key: ClassVar[str]


class PaymentRow(RowModel):
    contract_name = "payment_row"
    table: ClassVar[str] = "payments"
    primary_key: ClassVar[str] = "payment_id"

    payment_id: str
    provider: str
    merchant_id: str
    customer_id: str | None
    card_fingerprint: str | None
    amount_minor: int
    currency: str
    status: str
    decision: str | None
    fraud_score: float | None
    fraud_model_version: str | None
    churn_score: float | None
    first_seen_at: datetime
    updated_at: datetime


class PaymentEventRow(RowModel):
    contract_name = "payment_event_row"
    table: ClassVar[str] = "payment_events"
    primary_key: ClassVar[str] = "event_id"

    event_id: str
    payment_id: str
    provider: str
    provider_event_id: str
    event_type: str
    status: str
    amount_minor: int
    currency: str
    occurred_at: datetime
    merchant_id: str
    customer_id: str | None
    card_fingerprint: str | None
    card_bin: str | None
    card_country: str | None
    decline_code: str | None
    decline_category: str | None
    refund_id: str | None
    dispute_id: str | None
    ip_country: str | None
    device_id: str | None
    merchant_category: str | None
    recorded_at: datetime


class DecisionRow(RowModel):
    contract_name = "decision_row"
    table: ClassVar[str] = "decisions"
    primary_key: ClassVar[str] = "event_id"

    event_id: str
    payment_id: str
    decision: str
    fraud_score: float
    fraud_model_version: str
    churn_score: float | None
    churn_model_version: str | None
    rules_triggered: str
    reviewed_by: str | None
    retry_action: str | None
    retry_delay_seconds: int | None
    decided_at: datetime
    recorded_at: datetime


class DeadLetterRow(RowModel):
    """A dead letter under triage: `status` is `open`, `redriven` or `discarded`."""

    contract_name = "dead_letter_row"
    table: ClassVar[str] = "dead_letters"
    primary_key: ClassVar[str] = "dlq_id"

    dlq_id: str
    stage: str
    source_topic: str
    source_partition: int
    source_offset: int
    message_key: str | None
    reasons: str
    payload_excerpt: str
    failed_at: datetime
    status: str
    resolved_by: str | None
    resolution_note: str | None
    resolved_at: datetime | None
    recorded_at: datetime


class UndecidedEventRow(RowModel):
    """A deciding event left without a decision by a non-retryable error: `reason_type` is the
    error's type (`MissingLookupKeys`, `InferenceRejected`, `ValidationError`, `IntegrityError`),
    `reason` its text. Store only: the warehouse does not load it."""

    contract_name = "undecided_event_row"
    table: ClassVar[str] = "undecided_events"
    primary_key: ClassVar[str] = "event_id"

    event_id: str
    payment_id: str
    reason_type: str
    reason: str
    undecided_at: datetime
    recorded_at: datetime


STORE_ROWS: tuple[type[RowModel], ...] = (PaymentRow, PaymentEventRow, DecisionRow, DeadLetterRow, UndecidedEventRow)

BRONZE_TABLES: dict[str, type[RowModel]] = {
    "bronze_payments": PaymentRow,
    "bronze_payment_events": PaymentEventRow,
    "bronze_decisions": DecisionRow,
}
BRONZE_EXTRA_COLUMNS: tuple[str, ...] = ("loaded_at",)
"""Columns the warehouse load adds to each store row: when the row reached the warehouse."""
