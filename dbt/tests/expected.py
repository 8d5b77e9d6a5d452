"""Feature values computed independently of dbt: plain Python over the fixture's rows.

Window semantics, written out once: a `w` window at time t holds the events whose time x
satisfies t - w <= x < t. An event exactly w before t is in; one at t (the event itself, or
another at the same instant) is out, and so is anything later.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from warehouse.fixture import Dataset

from contracts.reference.fx import amount_usd
from contracts.schemas.no_history import CHURN_NO_HISTORY, FRAUD_NO_HISTORY, RATIO_WITHOUT_AVERAGE

HOUR, DAY = timedelta(hours=1), timedelta(days=1)
KINDS = {"payment.failed": "decline", "refund.succeeded": "refund", "dispute.opened": "dispute"}


@dataclass(frozen=True)
class Mark:
    kind: str
    at: datetime
    payment_id: str
    customer: str
    card: str
    merchant: str
    ip_country: str | None
    usd: float


def timeline(data: Dataset) -> tuple[list[Mark], dict[str, Mark]]:
    events: dict[str, dict[str, Any]] = {}
    for event in data.events:  # a redelivered copy repeats its event_id
        events.setdefault(event["event_id"], event)
    firsts: dict[str, dict[str, Any]] = {}
    for event in sorted(events.values(), key=lambda e: (e["occurred_at"], e["event_id"])):
        if event["event_type"].startswith("payment."):
            firsts.setdefault(event["payment_id"], event)
    attempts = {
        pid: Mark(
            "attempt",
            e["occurred_at"],
            pid,
            e["customer_id"],
            e["card_fingerprint"],
            e["merchant_id"],
            e["ip_country"],
            float(amount_usd(e["amount_minor"], e["currency"])),
        )
        for pid, e in firsts.items()
    }
    marks = list(attempts.values())
    for event in events.values():
        if event["event_type"] in KINDS:
            a = attempts[event["payment_id"]]
            usd = float(amount_usd(event["amount_minor"], event["currency"]))
            marks.append(
                Mark(
                    KINDS[event["event_type"]],
                    event["occurred_at"],
                    a.payment_id,
                    a.customer,
                    a.card,
                    a.merchant,
                    a.ip_country,
                    usd,
                )
            )
    return marks, attempts


def _in(mark: Mark, t: datetime, span: timedelta | None) -> bool:
    return mark.at < t and (span is None or mark.at >= t - span)


def fraud_features(data: Dataset) -> dict[str, dict[str, float]]:
    """Stored fraud features per payment id (plus amount_usd and the ratio)."""
    marks, attempts = timeline(data)
    by_customer: dict[str, list[Mark]] = defaultdict(list)
    by_card: dict[str, list[Mark]] = defaultdict(list)
    by_merchant: dict[str, list[Mark]] = defaultdict(list)
    for mark in marks:
        by_customer[mark.customer].append(mark)
        by_card[mark.card].append(mark)
        by_merchant[mark.merchant].append(mark)
    result = {}
    for pid, a in attempts.items():
        t = a.at

        def of(marks: list[Mark], kind: str, span: timedelta | None) -> list[Mark]:
            return [m for m in marks if m.kind == kind and _in(m, t, span)]  # noqa: B023

        cust, card, merch = by_customer[a.customer], by_card[a.card], by_merchant[a.merchant]
        past = of(cust, "attempt", None)
        month = of(cust, "attempt", 30 * DAY)
        avg30 = sum(m.usd for m in month) / len(month) if month else FRAUD_NO_HISTORY["customer_avg_amount_usd_30d"]
        if a.ip_country is None:
            new_country = 0.0 if past else FRAUD_NO_HISTORY["is_new_country_for_customer"]
        else:
            new_country = 0.0 if any(m.ip_country == a.ip_country for m in past) else 1.0
        m_attempts, m_disputes = of(merch, "attempt", 90 * DAY), of(merch, "dispute", 90 * DAY)
        result[pid] = {
            "amount_usd": a.usd,
            "is_new_card_for_customer": 0.0 if any(m.card == a.card for m in past) else 1.0,
            "is_new_country_for_customer": new_country,
            "customer_txn_count_1h": len(of(cust, "attempt", HOUR)),
            "customer_txn_count_24h": len(of(cust, "attempt", 24 * HOUR)),
            "customer_amount_usd_24h": sum(m.usd for m in of(cust, "attempt", 24 * HOUR)),
            "customer_avg_amount_usd_30d": avg30,
            "amount_to_customer_avg_ratio": a.usd / avg30 if avg30 > 0 else RATIO_WITHOUT_AVERAGE,
            "card_txn_count_1h": len(of(card, "attempt", HOUR)),
            "card_distinct_merchants_24h": len({m.merchant for m in of(card, "attempt", 24 * HOUR)}),
            "card_decline_count_24h": len(of(card, "decline", 24 * HOUR)),
            "customer_distinct_cards_7d": len({m.card for m in of(cust, "attempt", 7 * DAY)}),
            "customer_tenure_days": (t - min(m.at for m in past)) / DAY if past else 0.0,
            "customer_dispute_count_90d": len(of(cust, "dispute", 90 * DAY)),
            "merchant_risk_score": (
                min(1.0, len(m_disputes) / len(m_attempts)) if m_attempts else FRAUD_NO_HISTORY["merchant_risk_score"]
            ),
        }
    return result


def churn_features(data: Dataset) -> dict[tuple[str, datetime], dict[str, float]]:
    marks, attempts = timeline(data)
    by_customer: dict[str, list[Mark]] = defaultdict(list)
    for mark in marks:
        by_customer[mark.customer].append(mark)
    result = {}
    for a in attempts.values():
        t, cust = a.at, by_customer[a.customer]

        def of(kind: str, span: timedelta | None) -> list[Mark]:
            return [m for m in cust if m.kind == kind and _in(m, t, span)]  # noqa: B023

        past, quarter = of("attempt", None), of("attempt", 90 * DAY)
        result[(a.customer, t)] = {
            "days_since_last_payment": (
                (t - max(m.at for m in past)) / DAY if past else CHURN_NO_HISTORY["days_since_last_payment"]
            ),
            "payments_30d": len(of("attempt", 30 * DAY)),
            "payments_90d": len(quarter),
            "failed_payments_30d": len(of("decline", 30 * DAY)),
            "refunds_90d": len(of("refund", 90 * DAY)),
            "disputes_90d": len(of("dispute", 90 * DAY)),
            "avg_amount_usd_90d": sum(m.usd for m in quarter) / len(quarter) if quarter else 0.0,
            "tenure_days": (t - min(m.at for m in past)) / DAY if past else CHURN_NO_HISTORY["tenure_days"],
        }
    return result
