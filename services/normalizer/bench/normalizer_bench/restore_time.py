"""How long a worker takes to become ready with N Stripe facts in its table's changelog (README
"Memory": restart and rebalance pause the lookup).

    ./pants run services/normalizer/bench:restore-time -- --bootstrap HOST:PORT [--facts N]

Fills `<app>-stripe-merchants-changelog` (6 partitions) with N table values as the lookup writes
them (`held`), then starts one worker (`python -m normalizer`) of that app id and times it from
start to `/readyz` 200 (ready only once its tables are recovered). The baseline, in the same run,
is a worker of an app id with an empty table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Sequence
from pathlib import Path

from aiokafka import AIOKafkaProducer  # type: ignore[import-untyped]

from normalizer.settings import NormalizerSettings
from normalizer.stripe_merchants import PARTITIONS, TABLE_NAME, held
from normalizer.topics import TopicSpec, ensure_topics


async def fill(bootstrap: str, app_id: str, n: int) -> None:
    topic = f"{app_id}-{TABLE_NAME}-changelog"
    retention = NormalizerSettings.model_fields["stripe_merchant_retention_seconds"].default
    configs = {"cleanup.policy": "compact,delete", "retention.ms": str(int(retention * 1000))}
    await ensure_topics(bootstrap, 1, [TopicSpec(topic, PARTITIONS, configs)])
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=20, max_batch_size=512 * 1024)
    await producer.start()
    try:
        now = time.time()
        futures = []
        for i in range(n):
            party = {
                "merchant_id": f"M{i % 10_000:012d}",
                "customer_id": f"cus_{i:014d}",
                "device_id": f"dev_{i:016x}",
                "ip_country": "GB",
                "merchant_category": "5812",
            }
            key, value = json.dumps(f"pi_{i:024d}").encode(), json.dumps(held(party, now)).encode()
            futures.append(await producer.send(topic, value, key=key, partition=i % PARTITIONS))
            if len(futures) >= 50_000:
                await asyncio.gather(*futures)
                futures = []
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/readyz", timeout=2) as response:  # noqa: S310 (loopback)
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def time_to_ready(bootstrap: str, app_id: str, timeout_seconds: float = 1200) -> float:
    port = 17000 + os.getpid() % 1000
    url = f"http://127.0.0.1:{port}"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(path for path in sys.path if path)
    data = Path(tempfile.mkdtemp(prefix="normalizer-restore-"))
    env.update(
        NORMALIZER_KAFKA_BOOTSTRAP_SERVERS=bootstrap,
        NORMALIZER_APP_ID=app_id,
        NORMALIZER_WEB_PORT=str(port),
        NORMALIZER_DATA_DIR=str(data),
        NORMALIZER_LOG_LEVEL="WARNING",
    )
    with (data / "worker.log").open("wb") as out:
        started = time.perf_counter()
        command = [sys.executable, "-m", "normalizer"]
        worker = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)  # noqa: S603 (ours, no shell)
    try:
        while not _ready(url):
            if worker.poll() is not None or time.perf_counter() - started > timeout_seconds:
                raise RuntimeError(f"worker stopped or not ready:\n{(data / 'worker.log').read_text()[-3000:]}")
            time.sleep(0.1)  # polling interval of /readyz
        return time.perf_counter() - started
    finally:
        worker.terminate()
        worker.wait(timeout=60)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"))
    parser.add_argument("--facts", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    run = uuid.uuid4().hex[:8]
    empty, filled = f"restore-bench-{run}-empty", f"restore-bench-{run}-filled"
    asyncio.run(ensure_topics(args.bootstrap, 1))
    baseline = time_to_ready(args.bootstrap, empty)
    began = time.perf_counter()
    asyncio.run(fill(args.bootstrap, filled, args.facts))
    print(f"filled {args.facts:,} facts in {time.perf_counter() - began:.1f} s", flush=True)
    with_facts = time_to_ready(args.bootstrap, filled)
    print(f"load average {os.getloadavg()}")
    print(f"start to ready, empty table (baseline): {baseline:6.1f} s")
    print(f"start to ready, {args.facts:,} facts:   {with_facts:6.1f} s  (restore ~{with_facts - baseline:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
