"""The run's report: counts at every stage, latency and throughput, and the reconciliation checks."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from contracts.topics import VELOCITY
from demo.tally import StoreTally, TopicTally

ACCEPTED = "accepted"
QUARANTINED = "quarantined"
VELOCITY_TOPIC = VELOCITY.name
PUSH_STAGE = "feature_push"
"""The push consumer's dead-letter stage (`feature_repo.push_consumer.STAGE`)."""


@dataclass(frozen=True)
class GatewayCounts:
    """`gateway_webhook_requests_total` by outcome and `gateway_events_published_total`."""

    requests_by_outcome: Counter[str]
    events_published: int

    @property
    def accepted_requests(self) -> int:
        return self.requests_by_outcome[ACCEPTED]

    @property
    def quarantined(self) -> int:
        return self.requests_by_outcome[QUARANTINED]

    def __sub__(self, before: GatewayCounts) -> GatewayCounts:
        """What the gateway counted since `before` (its counters only grow while it runs)."""
        return GatewayCounts(
            self.requests_by_outcome - before.requests_by_outcome, self.events_published - before.events_published
        )

    @property
    def refused_by_reason(self) -> dict[str, int]:
        return {
            reason: count
            for reason, count in sorted(self.requests_by_outcome.items())
            if reason not in (ACCEPTED, QUARANTINED) and count
        }


@dataclass(frozen=True)
class NormalizerCounts:
    """`normalizer_messages_total` by outcome (normalized, dead_lettered, duplicate) and
    `normalizer_velocity_total` by outcome (published, dead_lettered)."""

    by_outcome: Counter[str]
    velocity: Counter[str] = field(default_factory=Counter)

    def __sub__(self, before: NormalizerCounts) -> NormalizerCounts:
        return NormalizerCounts(self.by_outcome - before.by_outcome, self.velocity - before.velocity)


@dataclass(frozen=True)
class PushCounts:
    """The Feast push consumer's counts (the body of its `/healthz`): velocity records pushed
    into the online store, records it dead-lettered (stage `feature_push`), batches committed."""

    pushed: int = 0
    dead_lettered: int = 0
    batches: int = 0

    def __sub__(self, before: PushCounts) -> PushCounts:
        return PushCounts(
            self.pushed - before.pushed, self.dead_lettered - before.dead_lettered, self.batches - before.batches
        )


@dataclass(frozen=True)
class SendResult:
    exit_code: int
    sent: int
    summary: str
    redelivered: int = 0
    """Of `sent`, requests delivered a second time on purpose (the first N of the stream again)."""
    genuine_refused: int = 0
    faulty_accepted: int = 0
    """Requests with a bad signature or an unreadable body answered 2xx: never right."""
    quarantined: int = 0
    """Correctly signed requests the contract refuses, answered 2xx: the gateway quarantined them."""


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class Report:
    send: SendResult
    gateway: GatewayCounts
    normalizer: NormalizerCounts
    topics: TopicTally
    store: StoreTally
    push: PushCounts
    elapsed_s: float
    name: str = "wave 1"
    drill: bool = False
    """Faults were injected: a SIGKILLed normalizer lost its counters, and may replay records."""
    drill_log: list[str] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.checks = reconcile(self)

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    def render(self) -> str:
        t, g, n, s = self.topics, self.gateway, self.normalizer.by_outcome, self.store
        lines = ["", f"== {self.name} " + "=" * (76 - len(self.name))]
        lines.append(
            f"sent (simulator)          {self.send.sent:>7}   {self.send.redelivered} of them re-delivered; "
            f"exit code {self.send.exit_code}"
        )
        lines.append(f"accepted (gateway)        {g.accepted_requests:>7}   requests; {g.events_published} envelopes")
        lines.append(f"  on webhook topics       {t.webhook_records:>7}   " + _counts(t.webhooks_by_provider))
        lines.append(
            f"refused (gateway)         {sum(g.refused_by_reason.values()):>7}   " + _counts(g.refused_by_reason)
        )
        lines.append(f"quarantined (gateway)     {g.quarantined:>7}")
        lines.append(f"normalized                {t.normalized:>7}   " + _counts(t.normalized_by_type))
        lines.append(
            f"dead-lettered             {sum(t.dead_letters_by_stage.values()):>7}   "
            + _counts(t.dead_letters_by_stage)
        )
        for (stage, reason), count in sorted(t.dead_letters_by_reason.items()):
            lines.append(f"  {stage}/{reason:<31} {count:>5}")
        lines.append(
            f"deduplicated (normalizer) {int(n['duplicate']):>7}   re-delivered ids on topics: {t.duplicate_webhooks}"
        )
        lines.append(f"payments to decide        {len(t.payments_to_decide):>7}")
        lines.append(
            f"decided (topic)           {t.decisions:>7}   "
            + _counts(t.decisions_by_outcome)
            + (f"; {t.decision_copies} identical copies re-published" if t.decision_copies else "")
        )
        lines.append(
            f"stored decisions          {s.decision_rows:>7}   {s.decided_payments} payments; "
            f"{s.payments} payment rows, {s.payment_events} events, {s.dead_letters} dead letters"
        )
        lines.append(f"velocity records (topic)  {t.velocity_records:>7}   " + _counts(t.velocity_by_entity))
        lines.append(
            f"pushed to Feast online    {self.push.pushed:>7}   push consumer: {self.push.dead_lettered} "
            f"dead-lettered, {self.push.batches} batches"
        )
        lines.append("")
        lines.append(
            "end-to-end latency (gateway publish -> decision published): " + _percentiles(t.decision_latencies_ms)
        )
        lines.append(
            "  of which gateway publish -> normalized published:        " + _percentiles(t.normalize_latencies_ms)
        )
        lines.append(f"throughput: {self.throughput:.1f} decisions/s; the wave took {self.elapsed_s:.1f} s")
        lines.append("scored by (fraud model version): " + _counts(t.decisions_by_model))
        for entry in self.drill_log:
            lines.append(f"drill: {entry}")
        lines.append("")
        for check in self.checks:
            lines.append(f"[{'ok' if check.ok else 'FAIL'}] {check.name}: {check.detail}")
        lines.append("reconciled" if self.ok else "NOT RECONCILED")
        return "\n".join(lines)

    @property
    def throughput(self) -> float:
        t = self.topics
        if t.first_webhook_ms is None or t.last_decision_ms is None or t.last_decision_ms <= t.first_webhook_ms:
            return 0.0
        return t.decisions / ((t.last_decision_ms - t.first_webhook_ms) / 1000)


def reconcile(report: Report) -> list[Check]:
    """Each check compares two sources that do not derive from each other."""
    t, g, n, s = report.topics, report.gateway, report.normalizer.by_outcome, report.store
    normalizer_dlq = t.dead_letters_by_stage["normalizer"]
    duplicates = int(n["duplicate"])
    lost = t.lost_events
    checks = [
        Check(
            "sender",
            report.send.genuine_refused == 0
            and report.send.faulty_accepted == 0
            and report.send.quarantined == g.quarantined,
            f"genuine refused {report.send.genuine_refused}; faulty accepted {report.send.faulty_accepted}; "
            f"quarantined {report.send.quarantined}, "
            f"gateway quarantined {g.quarantined} (simulator exit code {report.send.exit_code})",
        ),
        Check(
            "accepted envelopes are on the topics",
            # A publish the broker wrote but could not acknowledge before it went down was answered
            # 503 and re-delivered by the sender: in a drill the topics may hold such extra copies.
            t.webhook_records >= g.events_published if report.drill else g.events_published == t.webhook_records,
            f"gateway published {g.events_published}, webhook topics hold {t.webhook_records}"
            + (
                f" ({t.webhook_records - g.events_published} written but unacknowledged, then re-delivered)"
                if report.drill and t.webhook_records > g.events_published
                else ""
            ),
        ),
        Check(
            "nothing lost: every accepted event normalized or dead-lettered",
            not lost,
            f"{len(set(t.webhook_event_at.values()))} distinct accepted events, {len(lost)} missing"
            + (f", e.g. {sorted(lost)[:3]}" if lost else "")
            + (f"; {t.replayed} normalized again after a restart (harmless duplicates)" if t.replayed else ""),
        ),
    ]
    if report.drill:
        # The SIGKILLed normalizer's counters died with it: counted from the topics by event id.
        distinct_normalized, dead = len(t.normalized_ids), len(t.normalizer_dead_ids)
        checks.append(
            Check(
                "accepted = normalized + dead-lettered + duplicates (distinct event ids)",
                t.webhook_records == distinct_normalized + dead + t.duplicate_webhooks,
                f"{t.webhook_records} = {distinct_normalized} + {dead} + {t.duplicate_webhooks} re-delivered",
            )
        )
        return checks + _decision_checks(t, s) + [_push_check(report)]
    checks += [
        Check(
            "accepted = normalized + dead-lettered + duplicates dropped",
            t.webhook_records == t.normalized + normalizer_dlq + duplicates,
            f"{t.webhook_records} = {t.normalized} + {normalizer_dlq} + {duplicates}",
        ),
        Check(
            "duplicates dropped = re-delivered event ids",
            duplicates == t.duplicate_webhooks,
            f"normalizer dropped {duplicates}, the webhook topics repeat {t.duplicate_webhooks} event ids",
        ),
        Check(
            "normalizer counters agree with the topics",
            (int(n["normalized"]), int(n["dead_lettered"])) == (t.normalized, normalizer_dlq),
            f"counters {int(n['normalized'])} normalized / {int(n['dead_lettered'])} dead-lettered, "
            f"topics {t.normalized} / {normalizer_dlq}",
        ),
        Check(
            "velocity records: normalizer published = on the topic",
            int(report.normalizer.velocity["published"]) == t.velocity_records,
            f"normalizer published {int(report.normalizer.velocity['published'])}, "
            f"{VELOCITY_TOPIC} holds {t.velocity_records}",
        ),
    ]
    return checks + _decision_checks(t, s) + [_push_check(report)]


def _push_check(report: Report) -> Check:
    """Every velocity record on the topic went into the online store (or was dead-lettered by
    the push consumer, which the dead-letter topic must then show). In a drill the broker
    restart may have the push consumer read an uncommitted batch again: a push is an upsert of
    the same values, so more pushes than records are harmless there."""
    t, p = report.topics, report.push
    handled = p.pushed + p.dead_lettered
    streamed = t.velocity_records > 0 or t.normalized == 0
    complete = handled >= t.velocity_records if report.drill else handled == t.velocity_records
    dead = t.dead_letters_by_stage[PUSH_STAGE]
    return Check(
        "every velocity record pushed to the online store",
        streamed and complete and p.dead_lettered == dead,
        f"{VELOCITY_TOPIC} holds {t.velocity_records}; push consumer pushed {p.pushed}, "
        f"dead-lettered {p.dead_lettered} (dead-letter topic: {dead})"
        + ("" if streamed else "; no velocity records although events were normalized"),
    )


def _decision_checks(t: TopicTally, s: StoreTally) -> list[Check]:
    decided = set(t.decisions_by_payment)
    undecided = t.payments_to_decide - decided
    twice = {payment: count for payment, count in t.decisions_by_payment.items() if count > 1}
    return [
        Check(
            "every payment decided",
            not undecided and len(t.payments_to_decide) > 0,
            f"{len(t.payments_to_decide) - len(undecided)} of {len(t.payments_to_decide)}"
            + (f"; undecided e.g. {sorted(undecided)[:3]}" if undecided else ""),
        ),
        Check(
            "one decision per payment",
            not twice and decided <= t.payments_to_decide,
            f"{t.decisions} decisions for {len(decided)} payments"
            + (f"; twice: {dict(list(twice.items())[:3])}" if twice else "")
            + (
                f"; unknown payments: {sorted(decided - t.payments_to_decide)[:3]}"
                if not decided <= t.payments_to_decide
                else ""
            ),
        ),
        Check(
            "stored = decided",
            s.decision_rows == t.decisions and s.decided_payments == len(decided),
            f"store {s.decision_rows} rows / {s.decided_payments} payments, topic {t.decisions} / {len(decided)}",
        ),
    ]


def _counts(counter: Counter[str] | dict[str, int]) -> str:
    return ", ".join(f"{key} {value}" for key, value in sorted(counter.items()) if value) or "-"


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0-100); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


def _percentiles(values: list[float]) -> str:
    if not values:
        return "no samples"
    parts = [f"p{q} {percentile(values, q):.0f} ms" for q in (50, 90, 99)]
    return "  ".join([*parts, f"max {max(values):.0f} ms", f"({len(values)} samples)"])


RULES_VERSION = "rules-v1"
"""The baseline inference serves while the registry has no champion."""
RULES_METRIC_PREFIX = "rules_v1."
"""Card metrics of the rules baseline on the same holdout, as the pipelines record them
(`rules_v1.holdout_pr_auc` beside the model's `holdout_pr_auc`)."""
MODEL_METRIC_PREFIX = "holdout_"


@dataclass(frozen=True)
class ModelSummary:
    """What the pipelines produced between the waves, read from the registry and the pipelines."""

    champion_version: str | None
    """The registry's champion after the pipelines ran (None: nothing promoted)."""
    card_metrics: dict[str, float]
    history_payments: int
    pipeline_seconds: float
    feature_rows: dict[str, int]
    """Rows exported from the warehouse to the Feast offline store, per table."""
    pr_curve_png: Path | None = None

    def metric_rows(self) -> list[tuple[str, str, str]]:
        """(metric, model, rules baseline) for each holdout metric on the card."""
        rules = {
            k.removeprefix(RULES_METRIC_PREFIX).removeprefix(MODEL_METRIC_PREFIX): v
            for k, v in self.card_metrics.items()
            if k.startswith(RULES_METRIC_PREFIX)
        }
        model = {
            k.removeprefix(MODEL_METRIC_PREFIX): v
            for k, v in self.card_metrics.items()
            if k.startswith(MODEL_METRIC_PREFIX)
        }
        return [
            (name, _metric(name, model.get(name)), _metric(name, rules.get(name))) for name in sorted(model | rules)
        ]


COUNT_METRICS = ("holdout_rows", "holdout_positives")
"""Card metrics that count rows (shown as integers, not as 406.0000)."""


def _metric(name: str, value: float | None) -> str:
    if value is None:
        return "not recorded"
    return f"{value:.0f}" if name in COUNT_METRICS else f"{value:.4f}"


@dataclass
class RunReport:
    """Both waves and the pipelines between them."""

    waves: list[Report]
    model: ModelSummary | None
    elapsed_s: float
    checks: list[Check] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.checks = model_checks(self)

    @property
    def ok(self) -> bool:
        return all(wave.ok for wave in self.waves) and all(check.ok for check in self.checks)

    def render(self) -> str:
        lines = [wave.render() for wave in self.waves]
        if self.model is not None:
            m = self.model
            lines.append("")
            lines.append("== model " + "=" * 71)
            lines.append(f"history in the store        {m.history_payments} payments (labels mature after 60 days)")
            lines.append(f"pipelines (ingest, dbt, training, evaluation, promotion) took {m.pipeline_seconds:.1f} s")
            lines.append("features exported to Feast  " + _counts(m.feature_rows))
            lines.append(f"promoted champion           {m.champion_version or 'none'}")
            lines.append(f"  {'holdout metric':<28} {'model':>14} {'rules-v1':>14}")
            for name, model, rules in m.metric_rows():
                lines.append(f"  {name:<28} {model:>14} {rules:>14}")
            lines.append(f"PR curve                    {m.pr_curve_png or 'not found'}")
        lines.append("")
        for check in self.checks:
            lines.append(f"[{'ok' if check.ok else 'FAIL'}] {check.name}: {check.detail}")
        lines.append(f"run took {self.elapsed_s:.1f} s")
        lines.append("every wave reconciled" if self.ok else "NOT RECONCILED")
        return "\n".join(lines)


def model_checks(report: RunReport) -> list[Check]:
    """A trained model was promoted, and the wave after the pipelines was scored by it."""
    if report.model is None or len(report.waves) < 2:
        return []
    champion = report.model.champion_version
    scored = report.waves[-1].topics.decisions_by_model
    return [
        Check("a trained model was promoted", champion is not None, f"champion {champion or 'none'}"),
        Check(
            f"{report.waves[-1].name} scored by the champion",
            champion is not None and set(scored) == {champion},
            "decisions by model version: " + _counts(scored),
        ),
    ]
