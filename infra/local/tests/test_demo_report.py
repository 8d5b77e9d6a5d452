"""The demo's reconciliation and metric parsing on hand-built tallies (no servers)."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace

from demo.report import (
    GatewayCounts,
    ModelSummary,
    NormalizerCounts,
    PushCounts,
    Report,
    RunReport,
    SendResult,
    percentile,
)
from demo.tally import StoreTally, TopicTally, parse_counters

from contracts.reference.providers import Provider
from contracts.schemas.normalized_event import event_id_for

NORMALIZED = "payments.normalized.v1"
DECISIONS = "payments.decisions.v1"
STRIPE = "webhooks.stripe.v1"
VELOCITY = "features.velocity.v1"
DLQ = "payments.dlq.v1"
PUSHED = "every velocity record pushed to the online store"


def _event_id(provider_event_id: str) -> str:
    """The id the normalizer gives a stripe event (contracts' uuid5 of provider and id)."""
    return str(event_id_for(Provider.STRIPE, provider_event_id))


def _tally(decisions_for: list[str], scored_by: str = "rules-v1", velocity: bool = True) -> TopicTally:
    """Two stripe webhooks (ids a, b) normalized into payments p1, p2, with the velocity records
    of each payment's customer and card; decisions as given."""
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
            "event_id": _event_id(event_id),
            "payment_id": payment,
            "event_type": "payment.succeeded",
            "source": {"topic": STRIPE, "partition": 0, "offset": offset},
        }
        tally.add(NORMALIZED, 0, offset, 1_100 + offset, json.dumps(normalized).encode())
        for entity in ("customer", "card") if velocity else ():
            record = {"entity": entity, "entity_id": f"{entity}-{payment}", "payment_id": payment}
            tally.add(VELOCITY, 0, tally.velocity_records, 1_150, json.dumps(record).encode())
    for offset, payment in enumerate(decisions_for):
        decision = {
            "payment_id": payment,
            "decision": "approve",
            "event_id": _event_id("e1" if payment == "p1" else "e2"),
            "fraud_model_version": scored_by,
        }
        tally.add(DECISIONS, 0, offset, 3_000, json.dumps(decision).encode())
    return tally


def _report(tally: TopicTally, stored: int, name: str = "wave 1", push: PushCounts | None = None) -> Report:
    """Counters as a healthy platform shows them for `_tally`'s topics: 2 events normalized, 4
    velocity records published by the normalizer and pushed by the push consumer."""
    return Report(
        send=SendResult(0, 3, ""),
        gateway=GatewayCounts(Counter({"accepted": 2, "signature_mismatch": 1}), events_published=2),
        normalizer=NormalizerCounts(Counter({"normalized": 2}), Counter({"published": 4})),
        topics=tally,
        store=StoreTally(stored, stored, 2, 2, 0),
        push=PushCounts(pushed=4, batches=1) if push is None else push,
        elapsed_s=1.0,
        name=name,
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
    tally = _tally(["p1", "p2"])
    # A second, different decision for p2 (not an identical copy of the first).
    again = {"payment_id": "p2", "decision": "decline", "event_id": _event_id("e2"), "fraud_model_version": "rules-v1"}
    tally.add(DECISIONS, 0, 2, 3_100, json.dumps(again).encode())
    report = _report(tally, stored=2)
    failed = {check.name for check in report.checks if not check.ok}
    assert failed == {"one decision per payment", "stored = decided"}


def test_a_lost_event_fails() -> None:
    tally = _tally(["p1", "p2"])
    tally.add(STRIPE, 0, 2, 1_002, json.dumps({"provider": "stripe", "provider_event_id": "e3"}).encode())
    report = _report(tally, stored=2)
    failed = {check.name for check in report.checks if not check.ok}
    assert failed == {
        "accepted envelopes are on the topics",
        "nothing lost: every accepted event normalized or dead-lettered",
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


def _model(champion: str | None, metrics: dict[str, float]) -> ModelSummary:
    return ModelSummary(champion, metrics, history_payments=10, pipeline_seconds=1.0, feature_rows={})


def test_the_second_wave_scored_by_the_promoted_champion_passes() -> None:
    waves = [_report(_tally(["p1", "p2"]), stored=2), _report(_tally(["p1", "p2"], "v2"), 2, "wave 2")]
    report = RunReport(waves, _model("v2", {}), elapsed_s=3.0)
    assert report.ok, report.render()
    assert [c.name for c in report.checks] == ["a trained model was promoted", "wave 2 scored by the champion"]


def test_a_second_wave_scored_by_the_rules_fails() -> None:
    waves = [_report(_tally(["p1", "p2"]), stored=2), _report(_tally(["p1", "p2"]), 2, "wave 2")]
    report = RunReport(waves, _model("v2", {}), elapsed_s=3.0)
    assert not report.ok
    assert "rules-v1 2" in report.render()


def test_nothing_promoted_fails() -> None:
    waves = [_report(_tally(["p1", "p2"]), stored=2), _report(_tally(["p1", "p2"]), 2, "wave 2")]
    assert not RunReport(waves, _model(None, {}), elapsed_s=3.0).ok


def test_model_metrics_against_the_rules_with_missing_ones_not_recorded() -> None:
    model = _model(
        "v2",
        {
            "holdout_pr_auc": 0.5,
            "rules_v1.holdout_pr_auc": 0.25,
            "holdout_roc_auc": 0.9,
            "holdout_holdout_rows": 406.0,
            "rules_v1.holdout_holdout_rows": 406.0,
        },
    )
    assert model.metric_rows() == [
        ("holdout_rows", "406", "406"),
        ("pr_auc", "0.5000", "0.2500"),
        ("roc_auc", "0.9000", "not recorded"),
    ]


def test_a_wave_is_what_changed_since_the_baseline() -> None:
    before = GatewayCounts(Counter({"accepted": 5, "signature_mismatch": 1}), events_published=5)
    after = GatewayCounts(Counter({"accepted": 8, "signature_mismatch": 1, "malformed_body": 2}), events_published=9)
    wave = after - before
    assert (wave.accepted_requests, wave.events_published, wave.refused_by_reason) == (3, 4, {"malformed_body": 2})
    assert StoreTally(10, 9, 8, 7, 1) - StoreTally(4, 4, 4, 4, 1) == StoreTally(6, 5, 4, 3, 0)
    assert (NormalizerCounts(Counter(duplicate=3)) - NormalizerCounts(Counter(duplicate=1))).by_outcome == {
        "duplicate": 2
    }


def test_a_drill_counts_by_event_id_and_tolerates_a_replay() -> None:
    tally = _tally(["p1", "p2"])
    # After a SIGKILL the normalizer normalizes e1 again (at-least-once); its counters restarted.
    replay = {"event_id": _event_id("e1"), "payment_id": "p1", "event_type": "payment.succeeded", "source": None}
    tally.add(NORMALIZED, 0, 2, 1_200, json.dumps(replay).encode())
    report = replace(_report(tally, stored=2), normalizer=NormalizerCounts(Counter()), drill=True)
    assert report.ok, report.render()
    assert tally.replayed == 1
    assert "1 normalized again after a restart" in report.render()
    # Without the drill the same topics fail the counter checks: the replay is counted.
    assert not replace(report, drill=False).ok


def test_an_identical_decision_record_again_is_a_copy_and_a_different_one_a_second_decision() -> None:
    tally = _tally(["p1", "p2", "p2"])
    assert (tally.decisions, tally.decision_copies) == (2, 1)
    assert _report(tally, stored=2).ok
    changed = {"payment_id": "p2", "decision": "decline", "event_id": _event_id("e2"), "fraud_model_version": "x"}
    tally.add(DECISIONS, 0, 3, 3_000, json.dumps(changed).encode())
    failed = {check.name for check in _report(tally, stored=2).checks if not check.ok}
    assert "one decision per payment" in failed


def test_velocity_records_on_the_topic_are_counted_by_entity() -> None:
    tally = _tally(["p1", "p2"])
    assert (tally.velocity_records, dict(tally.velocity_by_entity)) == (4, {"customer": 2, "card": 2})
    assert "velocity records (topic)        4   card 2, customer 2" in _report(tally, stored=2).render()


def test_a_velocity_record_the_push_consumer_did_not_push_fails() -> None:
    report = _report(_tally(["p1", "p2"]), stored=2, push=PushCounts(pushed=3, batches=1))
    failed = {check.name for check in report.checks if not check.ok}
    assert failed == {PUSHED}


def test_a_velocity_record_pushed_twice_fails_outside_a_drill_and_passes_in_one() -> None:
    # A broker restart in the drill may have the push consumer read an uncommitted batch again.
    report = _report(_tally(["p1", "p2"]), stored=2, push=PushCounts(pushed=5, batches=2))
    assert {check.name for check in report.checks if not check.ok} == {PUSHED}
    drilled = replace(report, normalizer=NormalizerCounts(Counter()), drill=True)
    assert drilled.ok, drilled.render()


def test_a_record_the_push_consumer_dead_lettered_must_be_on_the_dead_letter_topic() -> None:
    tally = _tally(["p1", "p2"])
    # It counts one dead letter, but the dead-letter topic holds none of stage feature_push.
    report = _report(tally, stored=2, push=PushCounts(pushed=3, dead_lettered=1, batches=1))
    assert {check.name for check in report.checks if not check.ok} == {PUSHED}
    letter = {"stage": "feature_push", "source": {"topic": VELOCITY, "partition": 0, "offset": 3}, "reasons": []}
    tally.add(DLQ, 0, 0, 1_300, json.dumps(letter).encode())
    assert _report(tally, stored=2, push=PushCounts(pushed=3, dead_lettered=1, batches=1)).ok


def test_normalized_events_without_velocity_records_fail() -> None:
    report = replace(
        _report(_tally(["p1", "p2"], velocity=False), stored=2, push=PushCounts()),
        normalizer=NormalizerCounts(Counter({"normalized": 2})),
    )
    failed = {check.name for check in report.checks if not check.ok}
    assert failed == {PUSHED}
    assert "no velocity records although events were normalized" in report.render()


def test_velocity_records_the_normalizer_counted_but_the_topic_lacks_fail() -> None:
    report = replace(
        _report(_tally(["p1", "p2"]), stored=2),
        normalizer=NormalizerCounts(Counter({"normalized": 2}), Counter({"published": 5})),
    )
    failed = {check.name for check in report.checks if not check.ok}
    assert failed == {"velocity records: normalizer published = on the topic"}
