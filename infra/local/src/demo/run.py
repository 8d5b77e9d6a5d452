"""One run of the main job: platform up, traffic sent, everything decided, report, platform down."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path

from demo.drill import DRILL_RATE, Drill
from demo.pipelines import History, Pipelines
from demo.platform import Platform, find_pexes, gateway_env, python311, running
from demo.processes import http_text
from demo.report import GatewayCounts, NormalizerCounts, PushCounts, Report, RunReport, SendResult
from demo.tally import StoreTally, TopicReader, TopicTally, parse_counters, read_store
from local_stack.service import Progress

_SENT = re.compile(r"^sent:\s+(\d+) requests", re.MULTILINE)
_VERDICT = re.compile(r"genuine refused: (\d+)\s+faulty accepted: (\d+)\s+quarantined: (\d+)")


@dataclass(frozen=True)
class Traffic:
    """What the simulator sends (its `send` options)."""

    customers: int = 200
    days: int = 7
    seed: int = 42
    start: str = "2025-01-06"
    """First simulated day (ISO 8601)."""
    limit: int | None = None
    invalid_signature_share: float = 0.04
    malformed_share: float = 0.04
    concurrency: int = 16
    rate: float | None = None
    """Requests per second (the simulator's `--rate`); None: as fast as the gateway answers."""
    redeliver: int = 10
    """Requests sent a second time after the stream (the first N of it), as a provider re-delivers."""

    def arguments(self, limit: int | None = None) -> list[str]:
        args = [
            "--customers", str(self.customers),
            "--days", str(self.days),
            "--seed", str(self.seed),
            "--start", self.start,
            "--invalid-signature-share", str(self.invalid_signature_share),
            "--malformed-share", str(self.malformed_share),
            "--concurrency", str(self.concurrency),
        ]  # fmt: skip
        limits = [n for n in (self.limit, limit) if n is not None]
        args += ["--rate", str(self.rate)] if self.rate is not None else []
        return args + (["--limit", str(min(limits))] if limits else [])

    def after(self) -> Traffic:
        """The next wave: the days right after this one, from another seed (new ids)."""
        return replace(
            self, start=(date.fromisoformat(self.start) + timedelta(days=self.days)).isoformat(), seed=self.seed + 1
        )


def run(
    run_dir: Path,
    pex_dir: Path,
    traffic: Traffic,
    *,
    history: History | None = None,
    dbt_project: Path | None = None,
    ready_timeout: float = 300.0,
    settle_timeout: float = 300.0,
    progress: Progress,
    bar: bool = True,
    hold: bool = False,
    drill: bool = False,
) -> RunReport:
    """Bring the platform up, send wave 1 and settle it; then (with a `history`) run the pipelines,
    bring the features online, wait for the promoted model, send wave 2 and settle it; report.

    Everything started is stopped on the way out, also on Ctrl-C or an error.
    """
    started = time.monotonic()
    pexes = find_pexes(pex_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    platform = Platform(run_dir, pexes, progress)
    pipelines = Pipelines(platform, dbt_project or Path.cwd() / "dbt")
    with running(platform):
        platform.start_stack()
        if history is not None:
            pipelines.seed_history(history)
        platform.start_services(gateway_env(pexes["simulator"], platform.url("gateway")), ready_timeout)
        ui = pipelines.start_ui() if history is not None else None
        progress(_addresses(platform))
        first = Drill(platform, ready_timeout, lambda: _gateway_counts(platform).events_published) if drill else None
        wave, positions = _wave(platform, "wave 1", traffic, {}, settle_timeout, bar, progress, first)
        waves, model = [wave], None
        if history is not None and ui is not None:
            progress(f"Dagster UI: loading the pipelines ({ui.wait_ready(ready_timeout):.1f} s)")
            progress("pipelines: ingest, dbt, training set, training, evaluation, promotion ...")
            seconds = pipelines.materialize()
            progress(f"pipelines done in {seconds:.1f} s; features to Feast (export, materialize) ...")
            model = pipelines.summary(history, seconds, pipelines.features())
            if model.champion_version is None:
                raise RuntimeError(f"the pipelines promoted no model; see {platform.logs / 'pipelines.log'}")
            served = pipelines.wait_served(model.champion_version, ready_timeout)
            progress(f"inference serves {model.champion_version} ({served:.1f} s after the pipelines)")
            wave, _ = _wave(platform, "wave 2", traffic.after(), positions, settle_timeout, bar, progress)
            waves.append(wave)
        report = RunReport(waves, model, time.monotonic() - started)
        if hold:
            print(report.render(), flush=True)
            progress("holding the platform up for inspection; Ctrl-C stops everything")
            while all(service.alive() for service in platform.services.values()):
                time.sleep(1)
    return report


def _wave(
    platform: Platform,
    name: str,
    traffic: Traffic,
    start: dict[tuple[str, int], int],
    settle_timeout: float,
    bar: bool,
    progress: Progress,
    drill: Drill | None = None,
) -> tuple[Report, dict[tuple[str, int], int]]:
    """Send one wave and wait until it is decided; its counts are what changed during the wave
    (topics read from where the previous wave ended, counters and store rows as differences)."""
    started = time.monotonic()
    before = Baseline(
        _gateway_counts(platform), _normalizer_counts(platform), _push_counts(platform), read_store(platform.store_path)
    )
    progress(f"{name}: simulated traffic from {traffic.start} (seed {traffic.seed})")
    drill_log: list[str] = []
    if drill is not None:
        traffic = replace(traffic, rate=traffic.rate or DRILL_RATE)
        drill.start()
    send = _send(platform, traffic, progress)
    if drill is not None:
        drill.join()
        drill_log = drill.check()
    topics, positions = asyncio.run(_settle(platform, settle_timeout, bar, start, before, drill is not None))
    report = Report(
        send=send,
        gateway=_gateway_counts(platform) - before.gateway,
        normalizer=_normalizer_counts(platform) - before.normalizer,
        topics=topics,
        store=read_store(platform.store_path) - before.store,
        push=_push_counts(platform) - before.push,
        elapsed_s=time.monotonic() - started,
        name=name,
        drill=drill is not None,
        drill_log=drill_log,
    )
    progress(f"{name}: {'reconciled' if report.ok else 'NOT RECONCILED'} in {report.elapsed_s:.1f} s")
    return report, positions


@dataclass(frozen=True)
class Baseline:
    """The platform's counters and store rows before a wave."""

    gateway: GatewayCounts
    normalizer: NormalizerCounts
    push: PushCounts
    store: StoreTally


def _addresses(platform: Platform) -> str:
    rows = [("Temporal UI", platform.temporal_ui), ("Kafka", platform.bootstrap)]
    for name, service in platform.services.items():
        rows += [(f"{'Dagster' if name == 'dagster' else name} {label}", url) for label, url in service.links.items()]
    rows += [("payments store", str(platform.store_path)), ("logs", str(platform.logs))]
    width = max(len(label) for label, _ in rows)
    return "\n".join(["addresses:", *(f"  {label:<{width}}  {url}" for label, url in rows)])


def _send(platform: Platform, traffic: Traffic, progress: Progress) -> SendResult:
    """The simulated stream, then its first `redeliver` requests once more, freshly signed: a
    provider re-delivering events it already delivered (the normalizer must drop them)."""
    first = _simulator_send(platform, traffic.arguments(), "simulator", progress)
    if traffic.redeliver <= 0:
        return first
    again = _simulator_send(platform, traffic.arguments(limit=traffic.redeliver), "simulator-redelivery", progress)
    return SendResult(
        max(first.exit_code, again.exit_code),
        first.sent + again.sent,
        first.summary + again.summary,
        again.sent,
        first.genuine_refused + again.genuine_refused,
        first.faulty_accepted + again.faulty_accepted,
        first.quarantined + again.quarantined,
    )


def _simulator_send(platform: Platform, arguments: list[str], log_name: str, progress: Progress) -> SendResult:
    command = [
        python311(), str(platform.pexes["simulator"]), "send",
        "--base-url", platform.url("gateway"), "--test-secrets", *arguments,
    ]  # fmt: skip
    progress("sending: " + " ".join(command[2:]))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    # The simulator's progress bar goes to our stderr; its summary (stdout) is parsed and kept.
    result = subprocess.run(command, stdout=subprocess.PIPE, text=True, env=env, check=False)  # noqa: S603
    (platform.logs / f"{log_name}.log").write_text(result.stdout)
    progress(result.stdout.strip())
    sent, verdict = _SENT.search(result.stdout), _VERDICT.search(result.stdout)
    if sent is None or verdict is None:
        raise RuntimeError(f"no summary from `simulator send` (exit code {result.returncode}):\n{result.stdout}")
    return SendResult(
        result.returncode,
        int(sent.group(1)),
        result.stdout,
        genuine_refused=int(verdict.group(1)),
        faulty_accepted=int(verdict.group(2)),
        quarantined=int(verdict.group(3)),
    )


async def _settle(
    platform: Platform,
    timeout: float,
    bar: bool,
    start: dict[tuple[str, int], int],
    before: Baseline,
    drill: bool = False,
) -> tuple[TopicTally, dict[tuple[str, int], int]]:
    """Read the topics until every accepted envelope is normalized, dead-lettered or dropped as a
    duplicate, every payment is decided, and the store holds every decision (or time is up).
    Returns the tally and where reading stopped."""
    reader = TopicReader(platform.bootstrap, start)
    await reader.start()
    deadline = time.monotonic() + timeout
    try:
        while True:
            while await reader.poll(timeout_ms=200):
                pass
            tally = reader.tally
            gateway = _gateway_counts(platform) - before.gateway
            normalizer_counts = _normalizer_counts(platform) - before.normalizer
            normalizer = normalizer_counts.by_outcome
            push = _push_counts(platform) - before.push
            store = read_store(platform.store_path) - before.store
            processed = tally.normalized + tally.dead_letters_by_stage["normalizer"] + int(normalizer["duplicate"])
            decided = len(tally.payments_to_decide & set(tally.decisions_by_payment))
            _draw(bar, processed, tally.webhook_records, decided, len(tally.payments_to_decide), store.decision_rows)
            done = (
                tally.webhook_records >= gateway.events_published
                and not tally.lost_events
                # A SIGKILLed normalizer's counters restart from zero: the drill goes by event ids.
                and (processed >= tally.webhook_records or drill)
                and decided == len(tally.payments_to_decide)
                and store.decision_rows >= tally.decisions
                # The normalizer's velocity records are on the topic, and the push consumer
                # brought every one of them into the online store.
                and (tally.velocity_records >= normalizer_counts.velocity["published"] or drill)
                and push.pushed + push.dead_lettered >= tally.velocity_records
            )
            stopped = [name for name, service in platform.services.items() if not service.alive()]
            if done or stopped or time.monotonic() > deadline:
                if stopped:
                    print(f"\nservices exited during the run: {', '.join(stopped)}", file=sys.stderr)
                # One more read: a late duplicate decision must show up in the report.
                await asyncio.sleep(1.0)
                while await reader.poll(timeout_ms=500):
                    pass
                _draw(
                    bar, processed, tally.webhook_records, decided, len(tally.payments_to_decide), store.decision_rows
                )
                if bar:
                    print(file=sys.stderr)
                return reader.tally, await reader.positions()
            await asyncio.sleep(0.5)
    finally:
        await reader.stop()


def _draw(bar: bool, processed: int, accepted: int, decided: int, to_decide: int, stored: int) -> None:
    if not bar:
        return
    width = 30
    done = width * decided // to_decide if to_decide else 0
    line = (
        f"\r[{'#' * done}{'.' * (width - done)}] decided {decided}/{to_decide} payments | "
        f"processed {processed}/{accepted} envelopes | stored {stored}   "
    )
    print(line, end="", file=sys.stderr, flush=True)


def _gateway_counts(platform: Platform) -> GatewayCounts:
    text = http_text(f"{platform.url('gateway')}/metrics")
    outcomes: Counter[str] = Counter()
    for labels, value in parse_counters(text, "gateway_webhook_requests_total"):
        outcomes[labels["outcome"]] += int(value)
    events = sum(int(value) for _, value in parse_counters(text, "gateway_events_published_total"))
    return GatewayCounts(outcomes, events)


def _normalizer_counts(platform: Platform) -> NormalizerCounts:
    text = http_text(f"{platform.url('normalizer')}/metrics")
    outcomes: Counter[str] = Counter()
    for labels, value in parse_counters(text, "normalizer_messages_total"):
        outcomes[labels["outcome"]] += int(value)
    velocity: Counter[str] = Counter()
    for labels, value in parse_counters(text, "normalizer_velocity_total"):
        velocity[labels["outcome"]] += int(value)
    return NormalizerCounts(outcomes, velocity)


def _push_counts(platform: Platform) -> PushCounts:
    """The push consumer's counts, from the JSON body of its `/healthz`."""
    body = json.loads(http_text(f"{platform.url('push')}/healthz"))
    return PushCounts(int(body["pushed"]), int(body["dead_lettered"]), int(body["batches"]))
