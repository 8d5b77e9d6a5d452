"""The payments store: SQLAlchemy Core over the DDL in `contracts/sql`, on SQLite or PostgreSQL.

The same code runs on both: the DDL is the portable subset, and upserts use each dialect's
`INSERT ... ON CONFLICT`, which SQLite and PostgreSQL spell alike. Every write is idempotent,
keyed by event id, payment id or dlq id, so an activity that Temporal retries after a crash
writes nothing twice. Events are kept one row each with their time: the pipelines ingest this
table, and they need the history, not only the latest state.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar, get_args

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Double,
    MetaData,
    Table,
    Text,
    create_engine,
    event,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import ConnectionPoolEntry

from contracts.schemas.decision import PaymentDecision
from contracts.schemas.dlq import DeadLetter
from contracts.schemas.normalized_event import NormalizedEvent
from contracts.schemas.records import (
    DeadLetterRow,
    DecisionRow,
    PaymentEventRow,
    PaymentRow,
    RowModel,
    UndecidedEventRow,
)
from contracts.sql import ddl_statements

RowT = TypeVar("RowT", bound=RowModel)


def _naive_utc(value: datetime) -> datetime:
    """The DDL's TIMESTAMP is UTC without a zone: store aware times as naive UTC."""
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def _aware(value: Any) -> Any:
    return value.replace(tzinfo=UTC) if isinstance(value, datetime) and value.tzinfo is None else value


_SQL_TYPES: dict[Any, Any] = {str: Text, int: BigInteger, float: Double, datetime: DateTime}


def _column(name: str, annotation: Any) -> Column[Any]:
    base = next((arg for arg in get_args(annotation) if arg is not type(None)), annotation)
    return Column(name, _SQL_TYPES[base]())


def _table(metadata: MetaData, model: type[RowModel]) -> Table:
    # Columns come from the row model, which a contracts test proves equal to the DDL.
    return Table(
        model.table, metadata, *(_column(name, field.annotation) for name, field in model.model_fields.items())
    )


class PaymentsStore:
    """One engine; methods are synchronous (activities call them in a worker thread)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        metadata = MetaData()
        self.payments = _table(metadata, PaymentRow)
        self.events = _table(metadata, PaymentEventRow)
        self.decisions = _table(metadata, DecisionRow)
        self.dead_letters = _table(metadata, DeadLetterRow)
        self.undecided = _table(metadata, UndecidedEventRow)
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert

    @classmethod
    def from_dsn(cls, dsn: str) -> PaymentsStore:
        """`sqlite:///<file>` (its folder is created) or `postgresql+psycopg://...`."""
        if dsn.startswith("sqlite:///"):
            Path(dsn.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(dsn, connect_args={"timeout": 30, "check_same_thread": False})
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            engine = create_engine(dsn, pool_size=10, max_overflow=20, pool_pre_ping=True)
        return cls(engine)

    def create_schema(self) -> None:
        """Apply the store section of the contracts DDL (idempotent: IF NOT EXISTS)."""
        with self.engine.begin() as conn:
            for statement in ddl_statements("store"):
                conn.execute(text(statement))

    def _insert_new(self, conn: Connection, table: Table, row: RowModel) -> bool:
        """Insert unless the key exists; True if this call inserted (RETURNING, not rowcount,
        which drivers report differently for ON CONFLICT DO NOTHING)."""
        key = table.c[type(row).primary_key]
        statement = self._insert(table).values(**row.model_dump()).on_conflict_do_nothing().returning(key)
        return conn.execute(statement).first() is not None

    def close(self) -> None:
        self.engine.dispose()

    # -- writes -------------------------------------------------------------------------------

    def record_event(self, event: NormalizedEvent, recorded_at: datetime | None = None) -> bool:
        """Keep the event (once per event id) and upsert its payment. True if the event was new."""
        now = _naive_utc(recorded_at or datetime.now(UTC))
        card = event.card
        event_row = PaymentEventRow(
            event_id=str(event.event_id),
            payment_id=event.payment_id,
            provider=event.provider.value,
            provider_event_id=event.provider_event_id,
            event_type=event.event_type.value,
            status=event.status.value,
            amount_minor=event.amount_minor,
            currency=event.currency,
            occurred_at=_naive_utc(event.occurred_at),
            merchant_id=event.merchant_id,
            customer_id=event.customer_id,
            card_fingerprint=card.fingerprint if card else None,
            card_bin=card.bin if card else None,
            card_country=card.country if card else None,
            decline_code=event.decline_code,
            decline_category=event.decline_category.value if event.decline_category else None,
            refund_id=event.refund_id,
            dispute_id=event.dispute_id,
            ip_country=event.ip_country,
            device_id=event.device_id,
            merchant_category=event.merchant_category,
            recorded_at=now,
        )
        with self.engine.begin() as conn:
            if not self._insert_new(conn, self.events, event_row):
                return False
            self._upsert_payment_for(conn, event, now)
            return True

    def _upsert_payment_for(self, conn: Connection, event: NormalizedEvent, now: datetime) -> None:
        # The payment's state is that of its latest event by occurrence, whatever the arrival order.
        latest = conn.execute(
            select(self.events.c.status, self.events.c.amount_minor)
            .where(self.events.c.payment_id == event.payment_id)
            .order_by(self.events.c.occurred_at.desc(), self.events.c.recorded_at.desc())
            .limit(1)
        ).one()
        card = event.card
        row = {
            "payment_id": event.payment_id,
            "provider": event.provider.value,
            "merchant_id": event.merchant_id,
            "customer_id": event.customer_id,
            "card_fingerprint": card.fingerprint if card else None,
            "amount_minor": event.amount_minor,
            "currency": event.currency,
            "status": latest.status,
            "decision": None,
            "fraud_score": None,
            "fraud_model_version": None,
            "churn_score": None,
            "first_seen_at": now,
            "updated_at": now,
        }
        statement = self._insert(self.payments).values(**row)
        conn.execute(
            statement.on_conflict_do_update(
                index_elements=["payment_id"],
                set_={"status": latest.status, "updated_at": now},
            )
        )

    def record_decision(self, decision: PaymentDecision, recorded_at: datetime | None = None) -> PaymentDecision:
        """Store the decision once per deciding event; return the stored one (the first wins)."""
        now = _naive_utc(recorded_at or datetime.now(UTC))
        row = DecisionRow(
            event_id=str(decision.event_id),
            payment_id=decision.payment_id,
            decision=decision.decision.value,
            fraud_score=decision.fraud_score,
            fraud_model_version=decision.fraud_model_version,
            churn_score=decision.churn_score,
            churn_model_version=decision.churn_model_version,
            rules_triggered=",".join(decision.rules_triggered),
            reviewed_by=decision.reviewed_by,
            retry_action=decision.retry.action.value if decision.retry else None,
            retry_delay_seconds=decision.retry.delay_seconds if decision.retry else None,
            decided_at=_naive_utc(decision.decided_at),
            recorded_at=now,
        )
        with self.engine.begin() as conn:
            if not self._insert_new(conn, self.decisions, row):
                stored = conn.execute(select(self.decisions).where(self.decisions.c.event_id == row.event_id)).one()
                return _stored_decision(decision, DecisionRow.model_validate(_aware_row(stored._mapping)))
            conn.execute(
                update(self.payments)
                .where(self.payments.c.payment_id == decision.payment_id)
                .values(
                    decision=row.decision,
                    fraud_score=row.fraud_score,
                    fraud_model_version=row.fraud_model_version,
                    churn_score=row.churn_score,
                    updated_at=now,
                )
            )
        return decision

    def record_undecided(
        self,
        event_id: str,
        payment_id: str,
        reason_type: str,
        reason: str,
        undecided_at: datetime,
        recorded_at: datetime | None = None,
    ) -> bool:
        """Keep why a deciding event got no decision (once per event id; the first reason wins,
        as for decisions). True if it was new."""
        row = UndecidedEventRow(
            event_id=event_id,
            payment_id=payment_id,
            reason_type=reason_type,
            reason=reason,
            undecided_at=_naive_utc(undecided_at),
            recorded_at=_naive_utc(recorded_at or datetime.now(UTC)),
        )
        with self.engine.begin() as conn:
            return self._insert_new(conn, self.undecided, row)

    def record_dead_letter(self, letter: DeadLetter, recorded_at: datetime | None = None) -> bool:
        """Open a triage row once per dlq id. True if it was new."""
        row = DeadLetterRow(
            dlq_id=str(letter.dlq_id),
            stage=letter.stage,
            source_topic=letter.source.topic,
            source_partition=letter.source.partition,
            source_offset=letter.source.offset,
            message_key=letter.key,
            reasons=";".join(f"{reason.field}:{reason.code}" for reason in letter.reasons),
            payload_excerpt=letter.payload_excerpt,
            failed_at=_naive_utc(letter.failed_at),
            status="open",
            resolved_by=None,
            resolution_note=None,
            resolved_at=None,
            recorded_at=_naive_utc(recorded_at or datetime.now(UTC)),
        )
        with self.engine.begin() as conn:
            return self._insert_new(conn, self.dead_letters, row)

    def resolve_dead_letter(
        self, dlq_id: str, status: str, resolved_by: str, note: str | None, resolved_at: datetime
    ) -> None:
        """Close the triage row (repeating it with the same values changes nothing)."""
        with self.engine.begin() as conn:
            conn.execute(
                update(self.dead_letters)
                .where(self.dead_letters.c.dlq_id == dlq_id)
                .values(
                    status=status, resolved_by=resolved_by, resolution_note=note, resolved_at=_naive_utc(resolved_at)
                )
            )

    # -- reads --------------------------------------------------------------------------------

    def payment(self, payment_id: str) -> PaymentRow | None:
        rows = self._rows(PaymentRow, self.payments, self.payments.c.payment_id == payment_id)
        return rows[0] if rows else None

    def payment_events(self, payment_id: str) -> list[PaymentEventRow]:
        return self._rows(
            PaymentEventRow, self.events, self.events.c.payment_id == payment_id, self.events.c.occurred_at
        )

    def payment_decisions(self, payment_id: str) -> list[DecisionRow]:
        return self._rows(
            DecisionRow, self.decisions, self.decisions.c.payment_id == payment_id, self.decisions.c.decided_at
        )

    def undecided_events(self, payment_id: str) -> list[UndecidedEventRow]:
        return self._rows(
            UndecidedEventRow, self.undecided, self.undecided.c.payment_id == payment_id, self.undecided.c.undecided_at
        )

    def dead_letter(self, dlq_id: str) -> DeadLetterRow | None:
        rows = self._rows(DeadLetterRow, self.dead_letters, self.dead_letters.c.dlq_id == dlq_id)
        return rows[0] if rows else None

    def _rows(self, model: type[RowT], table: Table, where: Any, order_by: Any = None) -> list[RowT]:
        query = select(table).where(where)
        if order_by is not None:
            query = query.order_by(order_by)
        with self.engine.connect() as conn:
            result = conn.execute(query).mappings().all()
        return [model.model_validate(_aware_row(row)) for row in result]


def _stored_decision(attempt: PaymentDecision, stored: DecisionRow) -> PaymentDecision:
    """The decision already stored for this event, whole: every field the row keeps comes from the
    row, never from the attempt that lost. Only what the row does not keep (the payment's provider,
    amount and currency, which are the event's, and the retry advice's category, reason and
    attempts) comes from the attempt; a retry the stored row does not have is dropped."""
    retry = attempt.retry
    if stored.retry_action is None or stored.retry_delay_seconds is None:
        retry = None
    elif retry is not None and (retry.action.value, retry.delay_seconds) != (
        stored.retry_action,
        stored.retry_delay_seconds,
    ):
        retry = retry.model_copy(
            update={
                "action": type(retry.action)(stored.retry_action),
                "delay_seconds": stored.retry_delay_seconds,
                "retry_at": None,
            }
        )
    return attempt.model_copy(
        update={
            "decision": type(attempt.decision)(stored.decision),
            "fraud_score": stored.fraud_score,
            "fraud_model_version": stored.fraud_model_version,
            "churn_score": stored.churn_score,
            "churn_model_version": stored.churn_model_version,
            "rules_triggered": tuple(stored.rules_triggered.split(",")) if stored.rules_triggered else (),
            "reviewed_by": stored.reviewed_by,
            "retry": retry,
            "decided_at": stored.decided_at,
        }
    )


def _aware_row(row: Mapping[Any, Any]) -> dict[str, Any]:
    return {key: _aware(value) for key, value in row.items()}


def _sqlite_pragmas(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    # WAL lets readers run beside the writer; activities write from several threads at once.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()
