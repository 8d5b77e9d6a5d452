"""Simulated payments store rows, for tests and the report: contracts row models, seeded.

A small world of customers (home country, usual spend, one or two cards, one device) buys at
merchants. A share of attempts is fraud: a stolen card new to the account, usually from abroad,
at several times the usual spend, often at night and in bursts of attempts on one card. Honest
customers travel and replace cards too, so no single signal decides. Most successful fraud is
disputed and lost weeks later (the label arrives late, as in production); a few honest payments are
disputed too, and mostly won. A share of customers churns: during the weeks before they leave they
pay less often and more of their payments are declined (a failing card, an empty account), then
they never pay again. Everything is a function of the seed.

Rows are validated through `contracts.schemas.records` (`PaymentRow`, `PaymentEventRow`,
`DecisionRow`), the models of the store DDL.
"""

import itertools
import random
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from contracts.reference.decline_codes import DeclineCategory
from contracts.reference.providers import PROVIDERS, Provider
from contracts.schemas.normalized_event import EventType, PaymentStatus, event_id_for, payment_id_for
from contracts.schemas.records import DecisionRow, PaymentEventRow, PaymentRow
from contracts.sql import ddl_statements

COUNTRIES = ("US", "GB", "DE", "FR", "NL", "CA", "AU", "BR", "IN", "JP")
CURRENCY_OF = {"US": "USD", "GB": "GBP", "DE": "EUR", "FR": "EUR", "NL": "EUR", "CA": "CAD", "AU": "AUD"}
CATEGORIES = ("5411", "5812", "5732", "5999", "4829", "7995", "5691")


@dataclass(frozen=True)
class SyntheticConfig:
    payments: int = 4000
    days: int = 150
    start: datetime = datetime(2026, 1, 5, tzinfo=UTC)
    fraud_rate: float = 0.05
    fraud_dispute_rate: float = 0.8
    legit_dispute_rate: float = 0.003
    churn_rate: float = 0.3
    """Share of customers who leave, each at a uniform instant after the first 30 days."""
    seed: int = 7
    end: datetime | None = None
    """Exclusive end of the history: nothing happens (occurs or is recorded) at or after it. An
    attempt past it is dropped, a dispute not yet opened by then is absent, one opened but not
    closed stays open. None: no cut, disputes may close weeks after the last payment."""

    @classmethod
    def ending_at(cls, end: datetime, days: int, **values: Any) -> "SyntheticConfig":
        """`days` of history that ends (exclusive) at `end`."""
        return cls(start=end - timedelta(days=days), days=days, end=end, **values)

    def before_end(self, moment: datetime) -> bool:
        return self.end is None or moment < self.end


@dataclass
class StoreRows:
    payments: list[PaymentRow] = field(default_factory=list)
    payment_events: list[PaymentEventRow] = field(default_factory=list)
    decisions: list[DecisionRow] = field(default_factory=list)


@dataclass
class _Customer:
    customer_id: str
    country: str
    usual_amount: float
    cards: list[tuple[str, str]]  # (fingerprint, bin)
    device: str
    activity: float = 1.0
    """How often this customer pays, relative to the others."""
    churn_at: datetime | None = None
    """The customer pays nothing at or after this instant."""

    def fading(self, at: datetime) -> bool:
        """In the weeks before leaving: fewer payments, more declines."""
        return self.churn_at is not None and self.churn_at - FADING <= at < self.churn_at


FRAUD_DEVICE_PREFIX = "d_x"
"""Every fraudulent attempt comes from a device of this prefix, one the customer never used (the
report reads it to rank the simulator's own fraud flag: the most any scorer reaches on these labels)."""
FADING = timedelta(days=60)
"""How long before leaving a churning customer already pays less and is declined more often."""
FADING_SKIP = 0.3
"""Share of a fading customer's would-be payments that do not happen."""
FADING_DECLINE_RATE = 0.4
HONEST_DECLINE_RATE = 0.05
FRAUD_DECLINE_RATE = 0.35


def _naive(moment: datetime) -> datetime:
    """The store keeps UTC without a zone (the DDL's TIMESTAMP)."""
    return moment.astimezone(UTC).replace(tzinfo=None)


class _World:
    def __init__(self, config: SyntheticConfig) -> None:
        self.config = config
        self.rng = random.Random(config.seed)
        self._card_serial = 0
        n_customers = max(20, config.payments // 8)
        self.customers = [self._customer(i) for i in range(n_customers)]
        self.staying = [c for c in self.customers if c.churn_at is None] or self.customers
        self._activity = list(itertools.accumulate(c.activity for c in self.customers))
        self.merchants = [
            (f"m_{i:04d}", self.rng.choice(PROVIDERS), self.rng.choice(CATEGORIES))
            for i in range(max(10, n_customers // 20))
        ]
        self.rows = StoreRows()

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _card(self) -> tuple[str, str]:
        self._card_serial += 1
        return f"fp_{self._card_serial:07d}", f"{self.rng.randint(400000, 559999)}"

    def _customer(self, index: int) -> _Customer:
        cards = [self._card() for _ in range(self.rng.choice((1, 1, 2)))]
        churn_at = None
        if self.rng.random() < self.config.churn_rate:
            settled = timedelta(days=min(30, self.config.days))
            churn_at = self.config.start + settled + self.rng.random() * (timedelta(days=self.config.days) - settled)
        return _Customer(
            customer_id=f"c_{index:06d}",
            country=self.rng.choice(COUNTRIES[:7]),
            usual_amount=self.rng.lognormvariate(3.5, 0.6),
            cards=cards,
            device=f"d_{index:06d}",
            activity=self.rng.lognormvariate(0, 0.7),
            churn_at=churn_at,
        )

    def _paying_customer(self, at: datetime) -> _Customer:
        """A customer who still pays at `at` (a fading one only now and then)."""
        rng = self.rng
        for _ in range(20):
            customer = rng.choices(self.customers, cum_weights=self._activity)[0]
            if customer.churn_at is not None and at >= customer.churn_at:
                continue
            if customer.fading(at) and rng.random() < FADING_SKIP:
                continue
            return customer
        return rng.choice(self.staying)

    def payment(self, at: datetime, fraud: bool) -> list[datetime]:
        """One attempt (a fraudulent one may come in a burst); returns the attempt times."""
        rng = self.rng
        customer = self._paying_customer(at)
        merchant_id, provider, category = rng.choice(self.merchants)
        if not customer.cards:
            customer.cards.append(self._card())
        if fraud:
            card = self._card()
            ip_country = (
                rng.choice([c for c in COUNTRIES if c != customer.country]) if rng.random() < 0.8 else customer.country
            )
            amount = customer.usual_amount * rng.uniform(3, 12)
            if rng.random() < 0.6:
                at = at.replace(hour=rng.randint(0, 5))
            device = f"{FRAUD_DEVICE_PREFIX}{rng.getrandbits(32):08x}"
            burst = rng.randint(2, 5) if rng.random() < 0.5 else 1
        else:
            if rng.random() < 0.03:  # a replaced card
                customer.cards.append(self._card())
            card = rng.choice(customer.cards)
            travelling = rng.random() < 0.05
            ip_country = rng.choice(COUNTRIES) if travelling else customer.country
            amount = customer.usual_amount * rng.lognormvariate(0, 0.5)
            device = customer.device
            burst = 1
        times = []
        for attempt in range(burst):
            when = at + timedelta(minutes=attempt * rng.uniform(1, 12))
            self._attempt(customer, card, ip_country, device, provider, merchant_id, category, amount, when, fraud)
            times.append(when)
        return times

    def _attempt(
        self,
        customer: _Customer,
        card: tuple[str, str],
        ip_country: str,
        device: str,
        provider: Provider,
        merchant_id: str,
        category: str,
        amount: float,
        at: datetime,
        fraud: bool,
    ) -> None:
        rng = self.rng
        currency = CURRENCY_OF.get(customer.country, "USD")
        amount_minor = max(50, int(amount * 100))
        payment_id = payment_id_for(provider, f"pay_{self._uuid()[:18]}")
        declined = rng.random() < (
            FRAUD_DECLINE_RATE if fraud else FADING_DECLINE_RATE if customer.fading(at) else HONEST_DECLINE_RATE
        )
        common = {
            "payment_id": payment_id,
            "provider": provider.value,
            "amount_minor": amount_minor,
            "currency": currency,
            "merchant_id": merchant_id,
            "customer_id": customer.customer_id,
            "card_fingerprint": card[0],
            "card_bin": card[1],
            "card_country": customer.country,
            "ip_country": ip_country,
            "device_id": device,
            "merchant_category": category,
        }
        recorded_lag = timedelta(seconds=rng.uniform(0.05, 3))
        if not self.config.before_end(at + 2 * recorded_lag):  # the decision is recorded last
            return
        events = [
            self._event(
                common,
                EventType.PAYMENT_FAILED if declined else EventType.PAYMENT_SUCCEEDED,
                PaymentStatus.FAILED if declined else PaymentStatus.SUCCEEDED,
                at,
                recorded_lag,
                decline_code="card_declined" if declined else None,
                decline_category=DeclineCategory.DO_NOT_HONOR.value if declined else None,
            )
        ]
        status = PaymentStatus.FAILED if declined else PaymentStatus.SUCCEEDED
        updated_at = at + recorded_lag
        disputed = not declined and rng.random() < (
            self.config.fraud_dispute_rate if fraud else self.config.legit_dispute_rate
        )
        if disputed:
            dispute_id = f"dp_{self._uuid()[:16]}"
            opened = at + timedelta(days=rng.uniform(3, 30))
            lost = rng.random() < (0.9 if fraud else 0.3)
            closed = opened + timedelta(days=rng.uniform(5, 25))
            disputed = self.config.before_end(opened + recorded_lag)
        if disputed:
            events.append(
                self._event(
                    common,
                    EventType.DISPUTE_OPENED,
                    PaymentStatus.DISPUTED,
                    opened,
                    recorded_lag,
                    dispute_id=dispute_id,
                )
            )
            status, updated_at = PaymentStatus.DISPUTED, opened + recorded_lag
            if self.config.before_end(closed + recorded_lag):
                events.append(
                    self._event(
                        common,
                        EventType.DISPUTE_LOST if lost else EventType.DISPUTE_WON,
                        PaymentStatus.CHARGED_BACK if lost else PaymentStatus.SUCCEEDED,
                        closed,
                        recorded_lag,
                        dispute_id=dispute_id,
                    )
                )
                status = PaymentStatus.CHARGED_BACK if lost else PaymentStatus.SUCCEEDED
                updated_at = closed + recorded_lag
        self.rows.payment_events.extend(events)
        score = min(1.0, max(0.0, rng.gauss(0.6 if fraud else 0.1, 0.2)))
        decision = "decline" if score > 0.8 else "approve"
        self.rows.payments.append(
            PaymentRow(
                payment_id=payment_id,
                provider=provider.value,
                merchant_id=merchant_id,
                customer_id=customer.customer_id,
                card_fingerprint=card[0],
                amount_minor=amount_minor,
                currency=currency,
                status=status.value,
                decision=decision,
                fraud_score=score,
                fraud_model_version="rules-v1",
                churn_score=None,
                first_seen_at=_naive(at + recorded_lag),
                updated_at=_naive(updated_at),
            )
        )
        self.rows.decisions.append(
            DecisionRow(
                event_id=events[0].event_id,
                payment_id=payment_id,
                decision=decision,
                fraud_score=score,
                fraud_model_version="rules-v1",
                churn_score=None,
                churn_model_version=None,
                rules_triggered="",
                reviewed_by=None,
                retry_action=None,
                retry_delay_seconds=None,
                decided_at=_naive(at + recorded_lag),
                recorded_at=_naive(at + 2 * recorded_lag),
            )
        )

    def _event(
        self,
        common: Mapping[str, object],
        kind: EventType,
        status: PaymentStatus,
        at: datetime,
        lag: timedelta,
        **extra: str | None,
    ) -> PaymentEventRow:
        provider = Provider(str(common["provider"]))
        provider_event_id = f"evt_{self._uuid()[:20]}"
        return PaymentEventRow.model_validate(
            dict(common)
            | {
                "event_id": str(event_id_for(provider, provider_event_id)),
                "provider_event_id": provider_event_id,
                "event_type": kind.value,
                "status": status.value,
                "occurred_at": _naive(at),
                "decline_code": None,
                "decline_category": None,
                "refund_id": None,
                "dispute_id": None,
                "recorded_at": _naive(at + lag),
            }
            | extra
        )


def synthetic_rows(config: SyntheticConfig) -> StoreRows:
    """About `config.payments` attempts spread over `config.days` days (bursts add a few)."""
    world = _World(config)
    rng = world.rng
    span = timedelta(days=config.days).total_seconds()
    starts = sorted(rng.uniform(0, span) for _ in range(config.payments))
    for offset in starts:
        world.payment(config.start + timedelta(seconds=offset), fraud=rng.random() < config.fraud_rate)
    return world.rows


def iter_table_rows(rows: StoreRows) -> Iterator[tuple[str, list[dict[str, object]]]]:
    """(store table, rows as dicts) in the DDL's column order."""
    for table, models in (
        (PaymentRow.table, rows.payments),
        (PaymentEventRow.table, rows.payment_events),
        (DecisionRow.table, rows.decisions),
    ):
        yield table, [model.model_dump(mode="python") for model in models]


def write_store(dsn: str, rows: StoreRows, *, skip_existing: bool = False) -> dict[str, int]:
    """Create the store tables from the contracts DDL (section store) when missing and insert
    `rows`, all in one transaction; returns the rows inserted per table.

    `skip_existing`: a row whose primary key is already stored is left alone (ON CONFLICT DO
    NOTHING, SQLite and PostgreSQL), so writing the same seeded rows again adds nothing.
    """
    engine = sa.create_engine(dsn)
    inserted: dict[str, int] = {}
    try:
        with engine.begin() as connection:
            for statement in ddl_statements("store"):
                connection.execute(sa.text(statement))
        metadata = sa.MetaData()
        metadata.reflect(engine, only=[PaymentRow.table, PaymentEventRow.table, DecisionRow.table])
        with engine.begin() as connection:
            for table, dicts in iter_table_rows(rows):
                inserted[table] = 0
                if not dicts:
                    continue
                if skip_existing:
                    ignoring = _insert_ignoring_duplicates(engine.dialect.name, metadata.tables[table])
                    before = _count(connection, metadata.tables[table])
                    connection.execute(ignoring, dicts)
                    inserted[table] = _count(connection, metadata.tables[table]) - before
                else:
                    connection.execute(sa.insert(metadata.tables[table]), dicts)
                    inserted[table] = len(dicts)
    finally:
        engine.dispose()
    return inserted


def _count(connection: sa.Connection, table: sa.Table) -> int:
    return int(connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def _insert_ignoring_duplicates(dialect: str, table: sa.Table) -> sa.Insert:
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(table).on_conflict_do_nothing()
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert

        return postgresql_insert(table).on_conflict_do_nothing()
    raise ValueError(f"no duplicate-ignoring insert for the {dialect} store")
