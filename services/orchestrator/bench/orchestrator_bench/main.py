"""Orchestrator benchmark: payments/s and latency from the event on `payments.normalized.v1` to
its decision on `payments.decisions.v1`, with the real inference service (rules-v1 over a real
Feast) in the loop, beside Temporal's floor on this host: the same bridge driving a workflow with
the same number of activities, empty (`floor.py`), on the same server in the same run.

    ./pants package services/inference:inference
    ./pants run services/orchestrator/bench:bench -- --inference-pex dist/services.inference/inference.pex

Starts its own Temporal dev server and Kafka broker (infra/local), Feast and inference; the
worker and the bridge run as their own processes, as deployed. Prints one line per measurement.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import hashlib
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer  # type: ignore[import-untyped]  # no py.typed
from events import make_event, new_payment_id
from integration.support import card_of, start_feature_store, start_inference

from contracts.schemas.decision import PaymentDecision
from local_stack import LocalStack, StackConfig
from local_stack.config import Ports
from local_stack.kafka_admin import create_topics
from local_stack.ports import free_ports
from testing.processes import child_env


@dataclasses.dataclass
class Result:
    label: str
    sent: int
    decided: int
    seconds: float
    latencies_ms: list[float]

    def line(self) -> str:
        lat = sorted(self.latencies_ms)
        p50 = statistics.median(lat) if lat else float("nan")
        p99 = lat[min(len(lat) - 1, int(0.99 * len(lat)))] if lat else float("nan")
        return (
            f"{self.label:<34} sent={self.sent:5d} decided={self.decided:5d} "
            f"throughput={self.decided / self.seconds:7.1f}/s p50={p50:7.1f} ms p99={p99:7.1f} ms "
            f"load1={os.getloadavg()[0]:.1f}"
        )


def calibration() -> str:
    """A fixed CPU-bound job timed on this host (sha256 of 1 MiB, 200 times, in this process):
    how much CPU the bench had, to set beside its numbers (printed at start and end)."""
    block = b"x" * (1 << 20)
    started = time.perf_counter()
    for _ in range(200):
        hashlib.sha256(block).digest()
    return f"calibration: sha256 of 200 MiB in {(time.perf_counter() - started) * 1000:.0f} ms, load1={os.getloadavg()[0]:.1f}"


_METRIC = re.compile(r'^(orchestrator_activity_\w+)\{activity="(\w+)"(?:,outcome="(\w+)")?\} ([0-9.e+-]+)$')


async def activity_profile(worker_port: int) -> list[str]:
    """Where a payment's time went in the worker: attempts and mean time per activity type, from
    the worker's own `/metrics` (the floor's worker serves none)."""
    try:
        async with httpx.AsyncClient(timeout=5) as http:
            text = (await http.get(f"http://127.0.0.1:{worker_port}/metrics")).text
    except httpx.HTTPError as error:
        return [f"  (no /metrics: {error!r})"]
    attempts: dict[str, float] = {}
    failed: dict[str, float] = {}
    seconds: dict[str, float] = {}
    for line in text.splitlines():
        match = _METRIC.match(line)
        if match is None:
            continue
        name, activity, outcome, value = match.groups()
        if name == "orchestrator_activity_seconds_total":
            seconds[activity] = float(value)
        elif outcome == "failed":
            failed[activity] = failed.get(activity, 0) + float(value)
            attempts[activity] = attempts.get(activity, 0) + float(value)
        else:
            attempts[activity] = attempts.get(activity, 0) + float(value)
    return [
        f"  {activity:<20} attempts={attempts[activity]:6.0f} failed={failed.get(activity, 0):4.0f} "
        f"mean={1000 * seconds.get(activity, 0) / attempts[activity]:7.1f} ms"
        for activity in sorted(attempts)
        if attempts[activity]
    ]


@contextmanager
def process(module: str, env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    argv = [sys.executable, "-m", module]
    environment = child_env(env)
    with log.open("ab") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=environment)  # noqa: S603
    try:
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)


async def measure(label: str, bootstrap: str, topics: tuple[str, str], rate: float | None, count: int) -> Result:
    """Send `count` events at `rate`/s (None: as fast as the producer goes); time each decision."""
    normalized, decisions = topics
    consumer = AIOKafkaConsumer(decisions, bootstrap_servers=bootstrap, auto_offset_reset="latest")
    await consumer.start()
    await consumer.seek_to_end()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=0)
    await producer.start()
    sent_at: dict[str, float] = {}
    latencies: list[float] = []
    done = asyncio.Event()
    last_decision = 0.0

    async def collect() -> None:
        nonlocal last_decision
        while len(latencies) < count:
            batch = await consumer.getmany(timeout_ms=200)
            now = time.perf_counter()
            for records in batch.values():
                for record in records:
                    decision = PaymentDecision.model_validate_json(record.value)
                    started = sent_at.pop(decision.payment_id, None)
                    if started is not None:
                        latencies.append((now - started) * 1000)
                        last_decision = now
        done.set()

    collector = asyncio.create_task(collect())
    events = [
        make_event(new_payment_id(), customer_id="cus_safe", card_fingerprint=card_of("cus_safe")) for _ in range(count)
    ]
    first = time.perf_counter()
    for index, event in enumerate(events):
        if rate is not None:
            delay = first + index / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
        sent_at[event.payment_id] = time.perf_counter()
        await producer.send(normalized, event.model_dump_json().encode(), key=event.payment_id.encode())
    await producer.flush()
    try:
        await asyncio.wait_for(done.wait(), timeout=120 + count / 10)
    except TimeoutError:
        collector.cancel()
    await producer.stop()
    await consumer.stop()
    return Result(label, count, len(latencies), max(last_decision - first, 1e-9), latencies)


async def run_mode(
    label: str,
    module: str,
    env: dict[str, str],
    topics: tuple[str, str],
    bootstrap: str,
    args: argparse.Namespace,
    logs: Path,
) -> list[Result]:
    results = []
    # The worker and the bridge each serve /healthz on a port of their own.
    worker_port, bridge_port = free_ports(2)
    with (
        process(module, {**env, "ORCHESTRATOR_HEALTH_PORT": str(worker_port)}, logs / f"{label}-worker.log"),
        process(
            "orchestrator.bridge", {**env, "ORCHESTRATOR_HEALTH_PORT": str(bridge_port)}, logs / f"{label}-bridge.log"
        ),
    ):
        await measure(f"{label} warm-up", bootstrap, topics, 20, 40)
        for rate in args.rates:
            results.append(await measure(f"{label} at {rate:g}/s", bootstrap, topics, rate, int(rate * args.seconds)))
            print(results[-1].line(), flush=True)
        results.append(await measure(f"{label} burst", bootstrap, topics, None, args.burst))
        print(results[-1].line(), flush=True)
        if module == "orchestrator.worker":
            print(f"{label} activities (whole run, from the worker's /metrics):", flush=True)
            for line in await activity_profile(worker_port):
                print(line, flush=True)
    return results


async def main_async(args: argparse.Namespace) -> None:
    root = Path(tempfile.mkdtemp(prefix="orchestrator-bench-"))
    root.chmod(0o755)
    config = dataclasses.replace(
        StackConfig.from_env(), state_dir=root / "stack", ports=Ports(*free_ports(len(dataclasses.fields(Ports))))
    )
    stack = LocalStack(config)
    print(calibration(), flush=True)
    try:
        stack.up(["temporal", "kafka"])
        bootstrap = stack.service("kafka").address()
        temporal = stack.service("temporal").address()
        with (
            start_feature_store(root / "feast") as feast,
            start_inference(feast.base_url, root / "inference", Path(args.inference_pex)) as inference,
        ):
            logs = root / "logs"
            logs.mkdir()
            all_results: list[Result] = []
            for label, module in (("orchestrator", "orchestrator.worker"), ("floor", "orchestrator_bench.floor")):
                normalized, decisions, dlq, retries = (
                    f"bench-{label}-{name}" for name in ("normalized", "decisions", "dlq", "retries")
                )
                create_topics(bootstrap, [normalized], partitions=6)
                create_topics(bootstrap, [decisions, dlq, retries], partitions=6)
                env = {
                    "ORCHESTRATOR_TEMPORAL_ADDRESS": temporal,
                    "ORCHESTRATOR_TASK_QUEUE": f"bench-{label}",
                    "ORCHESTRATOR_STORE_DSN": f"sqlite:///{root}/{label}.db",
                    "ORCHESTRATOR_INFERENCE_URL": inference.base_url,
                    "ORCHESTRATOR_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
                    "ORCHESTRATOR_KAFKA_GROUP_ID": f"bench-{label}",
                    "ORCHESTRATOR_NORMALIZED_TOPIC": normalized,
                    "ORCHESTRATOR_DECISIONS_TOPIC": decisions,
                    "ORCHESTRATOR_DLQ_TOPIC": dlq,
                    "ORCHESTRATOR_RETRIES_TOPIC": retries,
                    "ORCHESTRATOR_LOG_LEVEL": "WARNING",
                }
                if args.store_dsn:
                    env["ORCHESTRATOR_STORE_DSN"] = args.store_dsn
                if args.regular_activities:
                    env["ORCHESTRATOR_LOCAL_ACTIVITIES"] = "false"
                env = {**{k: v for k, v in os.environ.items() if not k.startswith("ORCHESTRATOR_")}, **env}
                all_results += await run_mode(label, module, env, (normalized, decisions), bootstrap, args, logs)
            print(calibration(), flush=True)
            print(f"host: {os.cpu_count()} cores; logs in {logs}", flush=True)
    finally:
        stack.down()
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--inference-pex", required=True, help="dist/services.inference/inference.pex")
    parser.add_argument("--rates", type=float, nargs="+", default=[50.0, 100.0], help="paced rates, payments/s")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each paced run")
    parser.add_argument("--burst", type=int, default=1000, help="payments sent at once for the max-throughput run")
    parser.add_argument("--store-dsn", default="", help="store of the real worker (default: a SQLite file)")
    parser.add_argument(
        "--regular-activities",
        action="store_true",
        help="ORCHESTRATOR_LOCAL_ACTIVITIES=false for both workers (the release before local activities)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the state folder and logs")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
