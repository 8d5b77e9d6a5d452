"""Events/s of one normalizer worker on the real broker, against a bare aiokafka loop, same run.

1. Produce `--messages` envelopes (the golden envelopes as new provider events, the four providers
   in turn) to the webhook topics, created as the worker creates them.
2. Bare loop: one aiokafka consumer of the four topics (its own group) that produces every value
   unchanged to a scratch topic and commits after the acknowledgements: the floor of any
   consume->produce service on this broker and this machine.
3. The worker (`python -m normalizer`, its own group) over the same messages: decode, dedupe, map,
   publish, acknowledge, commit.

Both are timed from their first message to the commit of the last, polled every 20 ms. A host
calibration (a fixed pure-Python workload, CPU count, load average) is printed beside them.

    ./pants run infra/local:stack -- up --services kafka     # or any broker
    KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092 ./pants run services/normalizer/bench:bench -- --messages 40000
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
from importlib import resources
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition  # type: ignore[import-untyped]

from contracts.topics import WEBHOOK_TOPICS, Topic
from normalizer.topics import ensure_topics

POLL_SECONDS = 0.02
INPUTS: tuple[Topic, ...] = tuple(WEBHOOK_TOPICS.values())


def _golden() -> list[dict[str, Any]]:
    text = resources.files("golden").joinpath("envelopes.jsonl").read_text()
    return [json.loads(line) for line in text.splitlines() if line]


async def produce(bootstrap: str, count: int, tag: str) -> None:
    fixtures = _golden()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=10, max_batch_size=256 * 1024)
    await producer.start()
    try:
        pending = []
        for n in range(count):
            fixture = fixtures[n % len(fixtures)]
            document = json.loads(fixture["value"])
            document["provider_event_id"] = f"{tag}-{n}"
            pending.append(
                await producer.send(fixture["topic"], json.dumps(document).encode(), key=f"{tag}-{n}".encode())
            )
        await asyncio.gather(*pending)
    finally:
        await producer.stop()


async def _ends(consumer: AIOKafkaConsumer) -> dict[Any, int]:
    partitions = [TopicPartition(t.name, p) for t in INPUTS for p in range(t.partitions)]
    return dict(await consumer.end_offsets(partitions))


async def bare_loop(bootstrap: str) -> tuple[int, float]:
    """Consume the inputs, produce each value unchanged, commit after the acks: (messages, seconds)."""
    scratch = f"bench.bare.{uuid.uuid4().hex[:8]}"
    await ensure_topics(bootstrap, 1, [Topic(scratch, "same as input", INPUTS[0].value, INPUTS[0].partitions)])
    consumer = AIOKafkaConsumer(
        *[t.name for t in INPUTS],
        bootstrap_servers=bootstrap,
        group_id=f"bench-bare-{uuid.uuid4().hex[:8]}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=2000,
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5, max_batch_size=256 * 1024)
    await consumer.start()
    await producer.start()
    try:
        ends = await _ends(consumer)
        total = sum(ends.values())
        done, started = 0, 0.0
        while done < total:
            batch = await consumer.getmany(timeout_ms=1000, max_records=2000)
            if batch and not started:
                started = time.perf_counter()
            sends = [
                await producer.send(scratch, record.value, key=record.key)
                for records in batch.values()
                for record in records
            ]
            await asyncio.gather(*sends)
            await consumer.commit()
            done += len(sends)
        return total, time.perf_counter() - started
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


async def _committed(bootstrap: str, group: str, ends: dict[Any, int]) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        return sum([(await consumer.committed(tp)) or 0 for tp in ends])
    finally:
        await consumer.stop()


def worker_run(bootstrap: str, total: int, ends: dict[Any, int]) -> tuple[int, float]:
    """Run one worker over every input message: (messages, seconds from first to last commit)."""
    group = f"bench-normalizer-{uuid.uuid4().hex[:8]}"
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
    )
    log = Path(env["NORMALIZER_DATA_DIR"]) / "worker.log"
    with log.open("wb") as out:
        worker = subprocess.Popen(
            [sys.executable, "-m", "normalizer"],  # noqa: S603 (our own module, no shell)
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        started = 0.0
        deadline = time.monotonic() + 600
        while True:
            if worker.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker stopped or too slow:\n{log.read_text()[-3000:]}")
            processed = _processed(url)
            if processed and not started:
                started = time.perf_counter()
            if processed >= total and asyncio.run(_committed(bootstrap, group, ends)) >= total:
                return total, time.perf_counter() - started
            time.sleep(POLL_SECONDS)  # polling interval of the worker's metrics
    finally:
        worker.terminate()
        worker.wait(timeout=60)


def calibration() -> str:
    """A fixed pure-Python workload (JSON round trips of one envelope), to compare hosts and runs."""
    text = _golden()[0]["value"]
    started = time.perf_counter()
    rounds = 20_000
    for _ in range(rounds):
        json.dumps(json.loads(text))
    per_second = rounds / (time.perf_counter() - started)
    load = os.getloadavg()
    return f"json round trips/s {per_second:,.0f}; cpus {os.cpu_count()}; load average {load[0]:.2f} {load[1]:.2f}"


async def _prepare(bootstrap: str, messages: int) -> dict[Any, int]:
    await ensure_topics(bootstrap, 1)
    await produce(bootstrap, messages, f"bench-{uuid.uuid4().hex[:8]}")
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        return await _ends(consumer)
    finally:
        await consumer.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="normalizer-bench", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"))
    parser.add_argument("--messages", type=int, default=40_000, help="envelopes to add to the webhook topics")
    args = parser.parse_args(argv)
    print(f"host: {calibration()}", flush=True)
    ends = asyncio.run(_prepare(args.bootstrap, args.messages))
    total = sum(ends.values())
    print(f"messages in the webhook topics (all of them are processed by both): {total:,}", flush=True)
    bare_n, bare_s = asyncio.run(bare_loop(args.bootstrap))
    print(
        f"bare aiokafka consume->produce loop: {bare_n / bare_s:,.0f} events/s ({bare_n:,} in {bare_s:.2f} s)",
        flush=True,
    )
    norm_n, norm_s = worker_run(args.bootstrap, total, ends)
    print(f"normalizer, one worker:              {norm_n / norm_s:,.0f} events/s ({norm_n:,} in {norm_s:.2f} s)")
    print(
        f"ratio normalizer / bare loop:        {(norm_n / norm_s) / (bare_n / bare_s):.2f}x (aim: >= 0.30x, >= 5,000 events/s)"
    )
    print(f"host: {calibration()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
