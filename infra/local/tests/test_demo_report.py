"""The demo's reconciliation and metric parsing on hand-built tallies (no servers)."""

from __future__ import annotations

import json
from collections import Counter

from demo.report import GatewayCounts, NormalizerCounts, Report, SendResult, percentile
from demo.tally import StoreTally, TopicTally, parse_counters

NORMALIZED = "payments.normalized.v1"
DECISIONS = "payments.decisions.v1"
STRIPE = "webhooks.stripe.v1"


def _tally(decisions_for: list[str]) -> TopicTally:
    """Two stripe webhooks (ids a, b) normalized into payments p1, p2; decisions as given."""
    tally = TopicTally()
    for offset, (event_id, payment) in enumerate((("e1", "p1"), ("e2", "p2"))):
        tally.add(
            STRIPE,
            0,
            offset,
            1_000 + offset,
            json.dumps({"provider": "stripe", "provider_event_id": event_id}).encode(),
        )
        normalized = {
            "event_id": event_id,
            "payment_id": payment,
            "event_type": "payment.succeeded",
            "source": {"topic": STRIPE, "partition": 0, "offset": offset},
        }
        tally.add(NORMALIZED, 0, offset, 1_100 + offset, json.dumps(normalized).encode())
    for offset, payment in enumerate(decisions_for):
        decision = {"payment_id": payment, "decision": "approve", "event_id": "e1" if payment == "p1" else "e2"}
        tally.add(DECISIONS, 0, offset, 3_000, json.dumps(decision).encode())
    return tally


def _report(tally: TopicTally, stored: int) -> Report:
    return Report(
        send=SendResult(0, 3, ""),
        gateway=GatewayCounts(Counter({"accepted": 2, "signature_mismatch": 1}), events_published=2),
        normalizer=NormalizerCounts(Counter({"normalized": 2})),
        topics=tally,
        store=StoreTally(stored, stored, 2, 2, 0),
        elapsed_s=1.0,
    )


def test_a_complete_run_reconciles() -> None:
    report = _report(_tally(["p1", "p2"]), stored=2)
    assert report.ok, report.render()
    # Latency: decision at 3000 ms, webhooks published at 1000 and 1001 ms.
    assert sorted(report.topics.decision_latencies_ms) == [1999.0, 2000.0]
    # Normalized at 1100 and 1101 ms: 100 ms each after its webhook.
    assert report.topics.normalize_latencies_ms == [100.0, 100.0]
    # 2 decisions over 2.0 s from the first webhook to the last decision.
    assert report.throughput == 1.0


def test_a_missing_decision_fails() -> None:
    report = _report(_tally(["p1"]), stored=1)
    failed = {check.name for check in report.checks if not check.ok}
    assert failed == {"every payment decided"}


def test_a_payment_decided_twice_fails() -> None:
    report = _report(_tally(["p1", "p2", "p2"]), stored=2)
    failed = {check.name for check in report.checks if not check.ok}
    assert failed == {"one decision per payment", "stored = decided"}


def test_a_lost_event_fails() -> None:
    tally = _tally(["p1", "p2"])
    tally.add(STRIPE, 0, 2, 1_002, json.dumps({"provider": "stripe", "provider_event_id": "e3"}).encode())
    report = _report(tally, stored=2)
    failed = {check.name for check in report.checks if not check.ok}
    assert failed == {
        "accepted envelopes are on the topics",
        "accepted = normalized + dead-lettered + duplicates dropped",
    }


def test_parse_counters_reads_labelled_samples() -> None:
    text = (
        "# HELP gateway_webhook_requests_total x\n"
        'gateway_webhook_requests_total{provider="stripe",outcome="accepted"} 12.0\n'
        'gateway_webhook_requests_total{provider="adyen",outcome="signature_mismatch"} 3.0\n'
        'gateway_webhook_requests_created{provider="stripe",outcome="accepted"} 1.7e9\n'
    )
    assert parse_counters(text, "gateway_webhook_requests_total") == [
        ({"provider": "stripe", "outcome": "accepted"}, 12.0),
        ({"provider": "adyen", "outcome": "signature_mismatch"}, 3.0),
    ]


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 50), percentile(values, 90), percentile(values, 99)) == (50.0, 90.0, 99.0)


def test_a_duplicate_not_dropped_fails() -> None:
    tally = _tally(["p1", "p2"])
    # e1 re-delivered and published again, but the normalizer counted no duplicate.
    tally.add(STRIPE, 0, 2, 1_002, json.dumps({"provider": "stripe", "provider_event_id": "e1"}).encode())
    report = _report(tally, stored=2)
    failed = {check.name for check in report.checks if not check.ok}
    assert "duplicates dropped = re-delivered event ids" in failed
