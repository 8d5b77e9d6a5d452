"""Events/s of one normalizer worker on the real broker, against a bare aiokafka loop, same run.

1. Produce `--messages` envelopes (the golden envelopes made into new provider events, the four
   providers in turn; `traffic.py`) to the webhook topics, created as the worker creates them. The
   default traffic is realistic: each message a payment of its own, of 1,000 customers with one to
   three cards each, spread over 30 days. `--traffic hot` sends the old worst case instead (the
   golden envelopes repeated: 16 customers whose velocity state grows with the run).
2. Bare loop: one aiokafka consumer of the four topics (its own group) that produces every value
   unchanged to a scratch topic and commits after the acknowledgements: the floor of any
   consume->produce service on this broker and this machine.
3. The worker (`python -m normalizer`, its own group) over the same messages: decode, dedupe, map,
   publish, acknowledge, commit; with the velocity features (`--velocity on`, the default) the run
   ends only once the worker also committed every normalized event and every entity mark it
   produced, i.e. once every feature record of the run is acknowledged.

4. The per-event work alone (decode, map, serialize the golden envelopes in this process, no
   Kafka): the ceiling of one worker process on this host at this moment.

Both consumers start at the offsets the webhook topics had before step 1 (committed for their
groups up front), so a run measures its own messages only, whatever earlier runs left on the
broker. Both runs are timed from their first message to the commit of the last, polled every
100 ms. A host calibration (a fixed pure-Python workload, CPU count, load average) is printed
beside them.

    ./pants run infra/local:stack -- up --services kafka     # or any broker
    KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092 ./pants run services/normalizer/bench:bench -- --messages 20000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition  # type: ignore[import-untyped]
from aiokafka.structs import OffsetAndMetadata  # type: ignore[import-untyped]

from contracts.reference.providers import Provider
from contracts.schemas.normalized_event import SourcePosition
from contracts.topics import NORMALIZED, WEBHOOK_TOPICS, Topic
from normalizer.mapping import MappingError, decode, map_envelope
from normalizer.topics import ensure_topics
from normalizer.velocity import VELOCITY_PARTITIONS
from normalizer_bench import traffic

# The worker's /metrics is polled for progress: every 20 ms (the first version) cost the worker ~7 %
# of its CPU in the profile (aiohttp request handling), a load the bare loop does not carry.
POLL_SECONDS = 0.1
INPUTS: tuple[Topic, ...] = tuple(WEBHOOK_TOPICS.values())
Offsets = dict[Any, int]
"""TopicPartition -> offset."""


@dataclass(frozen=True)
class Timing:
    messages: int
    seconds: float
    """Wall clock, from the first message to the commit of the last."""
    cpu_seconds: float
    """CPU time of the process (all its threads) over the same span: on a shared host, where other
    processes take the cores in bursts, events per CPU second compare the two far more steadily
    than events per second (the bare loop's run is a second long, the worker's many)."""

    def rate(self) -> float:
        return self.messages / self.seconds

    def cpu_rate(self) -> float:
        return self.messages / self.cpu_seconds if self.cpu_seconds else float("inf")

    def describe(self) -> str:
        return (
            f"{self.rate():,.0f} events/s ({self.messages:,} in {self.seconds:.2f} s);"
            f" {self.cpu_rate():,.0f} events per CPU second ({self.cpu_seconds:.2f} s CPU)"
        )


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, all its threads (`/proc/<pid>/stat`)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _partitions(topics: Iterable[Topic]) -> list[Any]:
    return [TopicPartition(t.name, p) for t in topics for p in range(t.partitions)]


async def produce(bootstrap: str, messages: Iterable[traffic.Message]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=10, max_batch_size=256 * 1024)
    await producer.start()
    try:
        pending = [await producer.send(m.topic, m.value, key=m.key) for m in messages]
        await asyncio.gather(*pending)
    finally:
        await producer.stop()


async def _ends(bootstrap: str, partitions: list[Any]) -> Offsets:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        return dict(await consumer.end_offsets(partitions))
    finally:
        await consumer.stop()


async def _commit(bootstrap: str, group: str, offsets: Offsets) -> None:
    """Start `group` at `offsets` (a consumer with a group commits for assigned partitions)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(list(offsets))
        await consumer.commit({tp: OffsetAndMetadata(offset, "") for tp, offset in offsets.items()})
    finally:
        await consumer.stop()


async def bare_loop(bootstrap: str, group: str, total: int) -> Timing:
    """Consume the inputs, produce each value unchanged, commit after the acks."""
    scratch = f"bench.bare.{uuid.uuid4().hex[:8]}"
    await ensure_topics(bootstrap, 1, [Topic(scratch, "same as input", INPUTS[0].value, INPUTS[0].partitions)])
    consumer = AIOKafkaConsumer(
        *[t.name for t in INPUTS],
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=2000,
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5, max_batch_size=256 * 1024)
    await consumer.start()
    await producer.start()
    try:
        done, started, cpu = 0, 0.0, 0.0
        while done < total:
            batch = await consumer.getmany(timeout_ms=1000, max_records=2000)
            if batch and not started:
                started, cpu = time.perf_counter(), time.process_time()
            sends = [
                await producer.send(scratch, record.value, key=record.key)
                for records in batch.values()
                for record in records
            ]
            await asyncio.gather(*sends)
            await consumer.commit()
            done += len(sends)
        return Timing(total, time.perf_counter() - started, time.process_time() - cpu)
    finally:
        await producer.stop()
        await consumer.stop()


def _processed(url: str) -> int:
    try:
        with urllib.request.urlopen(url + "/metrics", timeout=5) as response:  # noqa: S310 (loopback)
            text = response.read().decode()
    except OSError:
        return 0
    return sum(int(n) for n in re.findall(r"normalizer_messages_total\{[^}]*\} ([0-9]+)", text))


async def _behind(bootstrap: str, group: str, ends: Offsets) -> int:
    """How many records of `ends`' partitions `group` has not committed yet."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        return sum([max(0, end - ((await consumer.committed(tp)) or 0)) for tp, end in ends.items()])
    finally:
        await consumer.stop()


def _velocity_done(bootstrap: str, group: str) -> bool:
    """The worker committed every normalized event of the run (the fan-out) and every mark (the
    features): read once the inputs are committed, when no more normalized events are coming."""
    normalized = asyncio.run(_ends(bootstrap, _partitions([NORMALIZED])))
    if asyncio.run(_behind(bootstrap, group, normalized)):
        return False
    marks = Topic(f"{group}-velocity-entities", "marks", NORMALIZED.value, VELOCITY_PARTITIONS)
    return asyncio.run(_behind(bootstrap, group, asyncio.run(_ends(bootstrap, _partitions([marks]))))) == 0


def worker_run(bootstrap: str, group: str, total: int, ends: Offsets, velocity: bool) -> Timing:
    """Run one worker over every input message (and, with velocity, every feature of them)."""
    port = 16000 + os.getpid() % 1000
    url = f"http://127.0.0.1:{port}"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(path for path in sys.path if path)
    env.update(
        NORMALIZER_KAFKA_BOOTSTRAP_SERVERS=bootstrap,
        NORMALIZER_APP_ID=group,
        NORMALIZER_WEB_PORT=str(port),
        NORMALIZER_DATA_DIR=tempfile.mkdtemp(prefix="normalizer-bench-"),
        NORMALIZER_LOG_LEVEL="WARNING",
        NORMALIZER_SESSION_TIMEOUT_SECONDS="6",
        NORMALIZER_HEARTBEAT_INTERVAL_SECONDS="0.5",
        NORMALIZER_REBALANCE_TIMEOUT_SECONDS="6",
        NORMALIZER_COMMIT_INTERVAL_SECONDS="0.2",
        NORMALIZER_VELOCITY_ENABLED=str(velocity).lower(),
    )
    log = Path(env["NORMALIZER_DATA_DIR"]) / "worker.log"
    with log.open("wb") as out:
        worker = subprocess.Popen(
            [sys.executable, "-m", "normalizer"],  # noqa: S603 (our own module, no shell)
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    print(f"worker pid {worker.pid} (for a profiler: py-spy record --pid {worker.pid})", flush=True)
    try:
        started, cpu = 0.0, 0.0
        deadline = time.monotonic() + 1800
        inputs_done = False
        while True:
            if worker.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker stopped or too slow:\n{log.read_text()[-3000:]}")
            if not inputs_done:
                processed = _processed(url)
                if processed and not started:
                    started, cpu = time.perf_counter(), _cpu_seconds(worker.pid)
                inputs_done = processed >= total and asyncio.run(_behind(bootstrap, group, ends)) == 0
                if inputs_done and velocity:
                    print(f"  (every input committed after {time.perf_counter() - started:.2f} s)", flush=True)
            if inputs_done and (not velocity or _velocity_done(bootstrap, group)):
                return Timing(total, time.perf_counter() - started, _cpu_seconds(worker.pid) - cpu)
            time.sleep(POLL_SECONDS)  # polling interval of the worker's metrics and commits
    finally:
        worker.terminate()
        worker.wait(timeout=60)


def mapping_only(rounds: int = 20) -> float:
    """Events/s of the per-event work alone, in this process, no Kafka: decode the envelope (the
    contracts' pydantic models), map it, serialize the `NormalizedEvent`. A ceiling for one worker
    process on this host at this moment, whatever the consume/produce path costs."""
    source = SourcePosition(topic=INPUTS[0].name, partition=0, offset=0)
    messages = [(Provider(fixture["topic"].split(".")[1]), fixture["value"].encode()) for fixture in traffic.golden()]
    mapped, started = 0, time.perf_counter()
    for _ in range(rounds):
        for provider, value in messages:
            try:
                map_envelope(provider, decode(provider, value), source).model_dump_json().encode()
            except MappingError:
                continue  # the golden set holds only mappable envelopes; counted out if not
            mapped += 1
    return mapped / (time.perf_counter() - started)


def calibration() -> str:
    """A fixed pure-Python workload (JSON round trips of one envelope), to compare hosts and runs."""
    text = traffic.golden()[0]["value"]
    started = time.perf_counter()
    rounds = 20_000
    for _ in range(rounds):
        json.dumps(json.loads(text))
    per_second = rounds / (time.perf_counter() - started)
    load = os.getloadavg()
    return f"json round trips/s {per_second:,.0f}; cpus {os.cpu_count()}; load average {load[0]:.2f} {load[1]:.2f}"


async def _prepare(bootstrap: str, messages: Iterable[traffic.Message]) -> tuple[Offsets, Offsets]:
    """Produce the run's messages: (input offsets before, after)."""
    await ensure_topics(bootstrap, 1)
    inputs = _partitions(INPUTS)
    before = await _ends(bootstrap, inputs)
    await produce(bootstrap, messages)
    return before, await _ends(bootstrap, inputs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="normalizer-bench", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"))
    parser.add_argument("--messages", type=int, default=20_000, help="envelopes to add to the webhook topics")
    parser.add_argument(
        "--traffic",
        choices=("realistic", "hot"),
        default="realistic",
        help="realistic: a payment per message, --customers over --days (default); hot: the golden envelopes repeated",
    )
    parser.add_argument("--customers", type=int, default=1_000, help="customers of the realistic traffic")
    parser.add_argument("--days", type=int, default=30, help="days the realistic traffic's event times span")
    parser.add_argument("--velocity", choices=("on", "off"), default="on", help="the worker computes the features")
    args = parser.parse_args(argv)
    print(f"host: {calibration()}", flush=True)
    tag = f"bench-{uuid.uuid4().hex[:8]}"
    if args.traffic == "realistic":
        label = (
            f"realistic traffic: a payment per message, {args.customers:,} customers, 1-3 cards each, {args.days} days"
        )
        messages = traffic.realistic(args.messages, tag, args.customers, args.days)
    else:
        label = "HOT-ENTITY WORST CASE: the 24 golden envelopes repeated (16 customers, same payments and times)"
        messages = traffic.hot(args.messages, tag)
    print(f"traffic: {label}; velocity features {args.velocity}", flush=True)
    before, after = asyncio.run(_prepare(args.bootstrap, messages))
    total = sum(after[tp] - before[tp] for tp in after)
    print(f"messages of this run in the webhook topics (all of them are processed by both): {total:,}", flush=True)
    bare, group = f"bench-bare-{uuid.uuid4().hex[:8]}", f"bench-normalizer-{uuid.uuid4().hex[:8]}"
    asyncio.run(_commit(args.bootstrap, bare, before))
    # The worker's fan-out reads payments.normalized.v1 from its end: this run's events only.
    normalized_end = asyncio.run(_ends(args.bootstrap, _partitions([NORMALIZED])))
    asyncio.run(_commit(args.bootstrap, group, {**before, **normalized_end}))
    bare_run = asyncio.run(bare_loop(args.bootstrap, bare, total))
    print(f"bare aiokafka consume->produce loop: {bare_run.describe()}", flush=True)
    worker = worker_run(args.bootstrap, group, total, after, args.velocity == "on")
    what = "velocity on, until every feature is committed" if args.velocity == "on" else "velocity off"
    print(f"normalizer, one worker ({what}): {worker.describe()}")
    print(
        f"ratio normalizer / bare loop:        {worker.rate() / bare_run.rate():.2f}x"
        f" (aim: >= 0.30x, >= 5,000 events/s; {args.traffic} traffic, velocity {args.velocity});"
        f" per CPU second: {worker.cpu_rate() / bare_run.cpu_rate():.2f}x"
    )
    print(f"decode + map + serialize alone, no Kafka: {mapping_only():,.0f} events/s (the per-event ceiling now)")
    print(f"host: {calibration()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
