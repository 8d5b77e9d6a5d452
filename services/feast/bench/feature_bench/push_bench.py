"""Records/s of the push consumer on a real broker and a real (SQLite) online store, against a
bare aiokafka consume-and-commit loop over the same records, in the same run.

1. Produce `--records` `VelocityFeatures` (customers and cards in turn, `--entities` distinct
   entities per kind, each entity's `as_of` increasing) to a scratch topic with the partitions of
   `features.velocity.v1`.
2. Baseline: one aiokafka consumer (its own group) that reads every record and commits each
   batch, no decoding: the floor of any consumer of this topic on this broker and host.
3. The push consumer (`feature_repo.push_consumer.PushConsumer`, its own group, this process):
   decode, newest per entity per batch, `store.push` into SQLite, commit.

Timed from the first poll to the last commit. A host calibration is printed beside them.

    ./pants run infra/local:stack -- up --services kafka     # or any broker
    KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092 ./pants run services/feast/bench:push-bench -- --records 20000
"""

import argparse
import asyncio
import json
import os
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer  # type: ignore[import-untyped]
from aiokafka.admin import AIOKafkaAdminClient, NewTopic  # type: ignore[import-untyped]

from contracts.schemas.velocity import CardVelocity, CustomerVelocity, VelocityFeatures
from contracts.topics import VELOCITY
from feature_repo import cli
from feature_repo.push_consumer import PushConsumer
from feature_repo.settings import load_settings
from feature_repo.store import open_store

T0 = datetime(2026, 12, 1, tzinfo=UTC)
EVENT_ID = uuid.UUID("0b7f8f52-4e0e-4a53-8a2c-7d1e1e0e9a01")


def record(n: int, entities: int) -> VelocityFeatures:
    at = T0 + timedelta(seconds=n)
    if n % 2:
        return VelocityFeatures(
            entity="card",
            entity_id=f"fp_{n // 2 % entities}",
            as_of=at,
            event_id=EVENT_ID,
            payment_id=f"p{n}",
            features=CardVelocity(card_txn_count_1h=n % 7),
        )
    features = CustomerVelocity(customer_txn_count_1h=n % 5, customer_txn_count_24h=n % 11, customer_amount_usd_24h=n)
    return VelocityFeatures(
        entity="customer",
        entity_id=f"cus_{n // 2 % entities}",
        as_of=at,
        event_id=EVENT_ID,
        payment_id=f"p{n}",
        features=features,
    )


async def produce(bootstrap: str, topic: str, count: int, entities: int) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=VELOCITY.partitions, replication_factor=1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=10, max_batch_size=256 * 1024)
    await producer.start()
    try:
        futures = []
        for n in range(count):
            value = record(n, entities)
            futures.append(await producer.send(topic, value.model_dump_json().encode(), key=value.key().encode()))
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def baseline(bootstrap: str, topic: str, count: int, batch: int) -> float:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"bench-bare-{uuid.uuid4().hex[:8]}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        seen, started = 0, None
        while seen < count:
            polled = await consumer.getmany(timeout_ms=500, max_records=batch)
            messages = [m for part in polled.values() for m in part]
            if messages and started is None:
                started = time.perf_counter()
            seen += len(messages)
            if messages:
                await consumer.commit({tp: part[-1].offset + 1 for tp, part in polled.items() if part})
        return count / (time.perf_counter() - (started or time.perf_counter()))
    finally:
        await consumer.stop()


async def push_run(bootstrap: str, topic: str, count: int, root: Path, batch: int) -> float:
    settings = load_settings(root=root, push_group_id=f"bench-push-{uuid.uuid4().hex[:8]}", push_batch_size=batch)
    cli.apply(settings)
    consumer = PushConsumer(settings, open_store(settings), bootstrap, topic=topic)
    await consumer.start()
    try:
        seen, started = 0, None
        while seen < count:
            handled = await consumer.run_once()
            if handled and started is None:
                started = time.perf_counter()
            seen += handled
        assert consumer.counts.dead_lettered == 0, "the bench's records must all be pushed"
        return count / (time.perf_counter() - (started or time.perf_counter()))
    finally:
        await consumer.stop()


def calibration() -> str:
    """A fixed pure-Python workload (JSON round trips of one record), to compare hosts and runs."""
    text = record(0, 1).model_dump_json()
    started = time.perf_counter()
    rounds = 20_000
    for _ in range(rounds):
        json.dumps(json.loads(text))
    per_second = rounds / (time.perf_counter() - started)
    load = os.getloadavg()
    return f"json round trips/s {per_second:,.0f}; cpus {os.cpu_count()}; load average {load[0]:.2f} {load[1]:.2f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--entities", type=int, default=5_000, help="distinct customers (and cards)")
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args(argv)
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if not bootstrap:
        parser.error("KAFKA_BOOTSTRAP_SERVERS must name a running broker")
    topic = f"bench.velocity.{uuid.uuid4().hex[:8]}"
    print(f"host: {calibration()}", flush=True)
    asyncio.run(produce(bootstrap, topic, args.records, args.entities))
    bare = asyncio.run(baseline(bootstrap, topic, args.records, args.batch))
    with tempfile.TemporaryDirectory() as work:
        pushed = asyncio.run(push_run(bootstrap, topic, args.records, Path(work), args.batch))
    print(f"baseline: bare aiokafka consume+commit   {bare:>10,.0f} records/s")
    print(f"push consumer (decode, push, commit)    {pushed:>10,.0f} records/s  ({pushed / bare:.2f}x the baseline)")
    print(f"records {args.records:,}, entities {args.entities:,} per kind, batch {args.batch:,}")
    print(f"host: {calibration()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
