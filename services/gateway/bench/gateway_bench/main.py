"""`./pants run services/gateway/bench:stripe [-- --server granian --duration 10]`

1. A Kafka broker: `KAFKA_BOOTSTRAP_SERVERS` if set, else one started natively (local_stack).
2. A bare Litestar endpoint (one uvicorn worker) at saturation: the ceiling of this machine.
3. The gateway (one worker, real broker, acks=all) at saturation: verified + acknowledged webhooks/s.
4. The gateway at a fixed offered load of 1,500/s: p50/p99 latency from the scheduled send time.
5. Checks the broker holds one record per accepted webhook, prints a summary, writes a latency
   histogram PNG.

The load generator runs in its own process and talks to the server over loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition  # type: ignore[import-untyped]  # no py.typed

from contracts.reference.providers import Provider
from contracts.topics import WEBHOOK_TOPICS, webhook_topic
from gateway_bench.load import stripe_body
from local_stack import LocalStack, StackConfig
from local_stack.config import Ports
from local_stack.kafka_admin import KafkaAdminError, create_topics, metadata, parse_bootstrap
from local_stack.ports import free_ports

TARGET_ACCEPTED_PER_SECOND = 3000
TARGET_P99_MS = 25.0
TARGET_RATIO_TO_BARE = 0.3


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


@contextmanager
def kafka_broker() -> Iterator[str]:
    external = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if external:
        log(f"using Kafka at {external}")
        yield external
        return
    state_dir = Path(tempfile.mkdtemp(prefix="gateway-bench-"))
    config = dataclasses.replace(
        StackConfig.from_env(), state_dir=state_dir, ports=Ports(*free_ports(len(dataclasses.fields(Ports))))
    )
    stack = LocalStack(config, progress=log)
    try:
        stack.up(["kafka"])
        yield stack.service("kafka").address()
    finally:
        stack.down(["kafka"])
        shutil.rmtree(state_dir, ignore_errors=True)


def ensure_topics(bootstrap: str) -> None:
    host, port = parse_bootstrap(bootstrap)[0]
    existing = {
        t.name for t in metadata(host, port, [t.name for t in WEBHOOK_TOPICS.values()]).topics if t.error_code == 0
    }
    for topic in WEBHOOK_TOPICS.values():
        if topic.name not in existing:
            try:
                create_topics(bootstrap, [topic.name], partitions=topic.partitions)
            except KafkaAdminError as exc:
                if "error 36" not in str(exc):
                    raise


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def tree_cpu_seconds(root: int) -> float:
    """User + system CPU of a process and its descendants (Linux /proc), e.g. granian's worker."""
    ticks = os.sysconf("SC_CLK_TCK")
    stats: dict[int, tuple[int, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        stats[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / ticks)
    total, frontier = 0.0, [root]
    while frontier:
        pid = frontier.pop()
        total += stats.get(pid, (0, 0.0))[1]
        frontier += [child for child, (parent, _) in stats.items() if parent == pid]
    return total


@dataclasses.dataclass
class Server:
    port: int
    pid: int

    def cpu_seconds(self) -> float:
        return tree_cpu_seconds(self.pid)


@contextmanager
def server(app: str, server_kind: str, env: dict[str, str]) -> Iterator[Server]:
    port = free_port()
    command = [sys.executable, "-m", "gateway_bench.server", app, "--port", str(port), "--server", server_kind]
    process = subprocess.Popen(  # our own interpreter and module
        command,  # noqa: S603
        env=env,
    )
    try:
        deadline = time.monotonic() + 60
        probe = "/healthz" if app == "gateway" else "/schema"
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{app} server exited with {process.returncode}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}{probe}", timeout=1):  # noqa: S310
                    break
            except OSError as exc:
                if getattr(exc, "code", None) is not None:  # any HTTP answer means it serves
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{app} server did not start") from exc
                time.sleep(0.2)
        if app == "gateway":
            wait_ready(port)
        yield Server(port, process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def wait_ready(port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=3):  # noqa: S310
                return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError("gateway never became ready (Kafka unreachable?)")


def run_load(mode: str, target: Server, env: dict[str, str], **options: Any) -> dict[str, Any]:
    """One load-generator run; adds the server's CPU seconds per 200 answered."""
    argv = [sys.executable, "-m", "gateway_bench.load", mode, "--port", str(target.port)]
    for name, value in options.items():
        argv += [f"--{name}", str(value)]
    cpu_before = target.cpu_seconds()
    result = subprocess.run(argv, env=env, capture_output=True, text=True, check=False, timeout=600)  # noqa: S603
    cpu = target.cpu_seconds() - cpu_before
    if result.returncode != 0:
        raise RuntimeError(f"load generator failed:\n{result.stderr[-3000:]}")
    data: dict[str, Any] = json.loads(result.stdout)
    data["server_cpu_us_per_accepted"] = cpu / max(1, data["accepted_total"]) * 1e6
    return data


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def warm_up_broker(bootstrap: str, topic: str, records: int = 30_000) -> None:
    """A just-started JVM broker is slow until its JIT has compiled the produce path: send it a
    burst of records first, so that the phases measure the gateway, not the broker's warm-up."""
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=2)
    await producer.start()
    try:
        value = b"x" * 700
        for start in range(0, records, 1000):
            futures = [await producer.send(topic, value, key=b"warm-up-%d" % i) for i in range(start, start + 1000)]
            await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def end_offset_total(bootstrap: str, topic: str) -> int:
    host, port = parse_bootstrap(bootstrap)[0]
    info = next(t for t in metadata(host, port, [topic]).topics if t.name == topic)
    partitions = [TopicPartition(topic, p.partition) for p in info.partitions]
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    await consumer.start()
    try:
        offsets = await consumer.end_offsets(partitions)
    finally:
        await consumer.stop()
    return int(sum(offsets.values()))


def write_histogram(latencies_ms: list[float], path: Path, title: str) -> str:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib not installed: no histogram written"
    path.parent.mkdir(parents=True, exist_ok=True)
    figure, axes = plt.subplots(figsize=(8, 4.5))
    cap = max(percentile(latencies_ms, 0.999), 1.0)
    axes.hist([min(v, cap) for v in latencies_ms], bins=120, color="#3b6ea8")
    for q, style in ((0.5, "--"), (0.99, ":")):
        value = percentile(latencies_ms, q)
        axes.axvline(value, color="black", linestyle=style, label=f"p{int(q * 100)} = {value:.2f} ms")
    axes.set_xlabel("latency (ms), scheduled send to response")
    axes.set_ylabel("requests")
    axes.set_title(title)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return f"latency histogram written to {path}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", choices=["uvicorn", "granian"], default="uvicorn")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds measured per phase")
    parser.add_argument("--connections", type=int, default=48, help="connections at saturation")
    parser.add_argument("--rate", type=float, default=1500.0, help="offered load of the latency phase")
    parser.add_argument("--linger-ms", type=int, default=2)
    parser.add_argument("--png", type=Path, default=Path("dist/bench/gateway_latency.png"))
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs per phase, as the inference bench (the median is reported)"
    )
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds before a missing answer is a miss")
    args = parser.parse_args()

    secret = "whsec_bench_" + secrets.token_hex(16)
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    load_env = base_env | {"BENCH_STRIPE_SECRET": secret}

    with kafka_broker() as bootstrap:
        ensure_topics(bootstrap)
        log("warming up the broker")
        asyncio.run(warm_up_broker(bootstrap, webhook_topic(Provider.STRIPE).name))
        gateway_env = base_env | {
            "GATEWAY_STRIPE_WEBHOOK_SECRETS": f"bench:{secret}",
            "GATEWAY_SQUARE_WEBHOOK_SECRETS": secrets.token_urlsafe(24),
            "GATEWAY_SQUARE_NOTIFICATION_URL": "https://bench.invalid/webhooks/square",
            "GATEWAY_ADYEN_WEBHOOK_SECRETS": secrets.token_hex(32),
            "GATEWAY_BRAINTREE_WEBHOOK_SECRETS": f"bench_public:{secrets.token_hex(16)}",
            "GATEWAY_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "GATEWAY_KAFKA_LINGER_MS": str(args.linger_ms),
            "GATEWAY_LOG_LEVEL": "WARNING",
        }
        phase = {"duration": args.duration, "warmup": 2.0, "timeout": args.timeout}
        runs = range(1, args.repeat + 1)

        with server("bare", args.server, base_env) as target:
            bare_runs = []
            for run in runs:
                log(f"bare Litestar endpoint ({args.server}, 1 worker) at saturation, run {run} of {args.repeat}")
                bare_runs.append(run_load("saturate", target, load_env, connections=args.connections, **phase))
            log("bare Litestar endpoint again, from wrk (a C load generator)")
            bare_wrk = wrk_saturate(target.port, stripe_body_for_wrk(), args.duration, args.connections)

        topic = webhook_topic(Provider.STRIPE).name
        before = asyncio.run(end_offset_total(bootstrap, topic))
        with server("gateway", args.server, gateway_env) as target:
            saturated_runs, fixed_runs = [], []
            for run in runs:
                log(f"gateway ({args.server}, 1 worker, Kafka acks=all) at saturation, run {run} of {args.repeat}")
                saturated_runs.append(run_load("saturate", target, load_env, connections=args.connections, **phase))
            for run in runs:
                log(f"gateway at a fixed offered load of {args.rate:.0f}/s, run {run} of {args.repeat}")
                fixed_runs.append(run_load("rate", target, load_env, rate=args.rate, **phase))
        after = asyncio.run(end_offset_total(bootstrap, topic))

    bare, saturated, fixed = median_run(bare_runs), median_run(saturated_runs), median_run(fixed_runs)

    latencies = fixed["latencies_ms"]
    p50, p99 = percentile(latencies, 0.50), percentile(latencies, 0.99)
    sat_p50, sat_p99 = percentile(saturated["latencies_ms"], 0.5), percentile(saturated["latencies_ms"], 0.99)
    ratio = saturated["accepted_per_second"] / bare["accepted_per_second"]
    histogram = write_histogram(latencies, args.png, f"gateway, Stripe webhooks at {args.rate:.0f}/s offered")
    # Every request sent during warm-up and measurement that got 200 is one record on the topic;
    # a request unanswered at the end may or may not have been published.
    published = after - before
    gateway_runs = saturated_runs + fixed_runs
    accepted = sum(run["accepted_total"] for run in gateway_runs)
    unanswered = sum(run["unanswered"] for run in gateway_runs)
    topic_agrees = accepted <= published <= accepted + unanswered

    def verdict(ok: bool) -> str:
        return "ok" if ok else "BELOW TARGET"

    bare_cpu, gateway_cpu = bare["server_cpu_us_per_accepted"], saturated["server_cpu_us_per_accepted"]
    rows = [
        ("bare Litestar endpoint, accepted/s", f"{bare['accepted_per_second']:,.0f}", ""),
        (
            "gateway verified+acked webhooks/s (saturation)",
            f"{saturated['accepted_per_second']:,.0f}",
            f">= {TARGET_ACCEPTED_PER_SECOND:,}: {verdict(saturated['accepted_per_second'] >= TARGET_ACCEPTED_PER_SECOND)}",
        ),
        ("  latency at saturation p50 / p99 (ms)", f"{sat_p50:.2f} / {sat_p99:.2f}", f"{args.connections} connections"),
        ("gateway / bare", f"{ratio:.2f}x", f">= {TARGET_RATIO_TO_BARE}x: {verdict(ratio >= TARGET_RATIO_TO_BARE)}"),
        (
            "server CPU per accepted request, bare / gateway (us)",
            f"{bare_cpu:.0f} / {gateway_cpu:.0f}",
            f"one dedicated core: ~{1e6 / gateway_cpu:,.0f}/s gateway, CPU ratio {bare_cpu / gateway_cpu:.2f}x",
        ),
        (f"latency at {args.rate:.0f}/s offered, p50 (ms)", f"{p50:.2f}", ""),
        (
            f"latency at {args.rate:.0f}/s offered, p99 (ms)",
            f"{p99:.2f}",
            f"< {TARGET_P99_MS}: {verdict(p99 < TARGET_P99_MS)}",
        ),
        (f"  accepted at {args.rate:.0f}/s", f"{fixed['accepted_per_second']:,.0f}/s", f"statuses {fixed['statuses']}"),
        (
            f"  sent / answered / missed in the window at {args.rate:.0f}/s",
            f"{fixed['sent_in_window']:,} / {fixed['answered_in_window']:,} / {fixed['missed_in_window']:,}",
            f"a miss counts as {args.timeout:.0f} s in the percentiles",
        ),
        (
            "records appended to " + topic,
            f"{published:,}",
            f"200 answers: {accepted:,}, unanswered at the end: {unanswered:,}: "
            + ("agree" if topic_agrees else "MISMATCH"),
        ),
        (
            "runs per phase (median shown)",
            f"{args.repeat}",
            "gateway/s per run: " + ", ".join(f"{run['accepted_per_second']:,.0f}" for run in saturated_runs),
        ),
    ]
    if bare_wrk is None:
        rows.append(("bare Litestar from wrk, accepted/s", "n/a", "wrk is not installed (apt-get install wrk)"))
    else:
        rows.append(
            (
                "bare Litestar from wrk, accepted/s",
                f"{bare_wrk['requests_per_second']:,.0f}",
                f"ours {bare['accepted_per_second']:,.0f}: a much higher wrk number means our client was the limit",
            )
        )
    width = max(len(name) for name, _, _ in rows)
    load1, load5, _ = os.getloadavg()
    print(
        f"\ngateway benchmark ({args.server}, 1 worker, {os.cpu_count()} CPUs, {args.duration:.0f} s per phase, "
        f"load average {load1:.1f} / {load5:.1f} at the end: other processes share these CPUs)"
    )
    for name, value, note in rows:
        print(f"  {name:<{width}}  {value:>14}  {note}")
    print(f"  saturation statuses: bare {bare['statuses']}, gateway {saturated['statuses']}")
    print(f"  {histogram}")
    print(
        json.dumps(
            {
                "server": args.server,
                "bare_accepted_per_second": round(bare["accepted_per_second"]),
                "gateway_accepted_per_second": round(saturated["accepted_per_second"]),
                "ratio_to_bare": round(ratio, 3),
                "saturation_p50_ms": round(sat_p50, 2),
                "saturation_p99_ms": round(sat_p99, 2),
                "fixed_rate": args.rate,
                "fixed_rate_p50_ms": round(p50, 2),
                "fixed_rate_p99_ms": round(p99, 2),
                "fixed_rate_mean_ms": round(statistics.fmean(latencies), 2) if latencies else None,
                "records_appended": published,
                "server_cpu_us_per_accepted_bare": round(bare_cpu),
                "server_cpu_us_per_accepted_gateway": round(gateway_cpu),
                "load_average_1m": round(load1, 2),
                "fixed_rate_sent": fixed["sent_in_window"],
                "fixed_rate_answered": fixed["answered_in_window"],
                "fixed_rate_missed": fixed["missed_in_window"],
                "accepted_total": accepted,
                "unanswered_total": unanswered,
                "topic_agrees": topic_agrees,
                "bare_wrk_per_second": None if bare_wrk is None else round(bare_wrk["requests_per_second"]),
                "runs_per_phase": args.repeat,
            }
        )
    )
    if not topic_agrees:
        print(
            f"gateway benchmark: {published:,} records appended but {accepted:,} webhooks answered 200 "
            f"({unanswered:,} unanswered): every accepted webhook must be one record",
            file=sys.stderr,
        )
        raise SystemExit(1)


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median accepted/s (an actual run, so its numbers belong together)."""
    ordered = sorted(runs, key=lambda run: run["accepted_per_second"])
    return ordered[(len(ordered) - 1) // 2]


def stripe_body_for_wrk() -> bytes:
    """One webhook body for the bare endpoint (it does not verify signatures)."""
    return stripe_body(0)


def wrk_saturate(port: int, body: bytes, duration: float, connections: int) -> dict[str, Any] | None:
    """The bare endpoint's throughput from wrk (one thread), or None when wrk is not on PATH:
    our Python client needs about a core at saturation, wrk a fraction of one."""
    wrk = shutil.which("wrk")
    if wrk is None:
        return None
    with tempfile.TemporaryDirectory() as work:
        script = Path(work) / "post.lua"
        text = body.decode()
        level = "=" * (max((len(run) for run in re.findall(r"=+", text)), default=0) + 1)
        script.write_text(
            f'wrk.method = "POST"\nwrk.body = [{level}[{text}]{level}]\n'
            'wrk.headers["Content-Type"] = "application/json"\n'
        )
        argv = [
            wrk,
            "-t1",
            f"-c{connections}",
            f"-d{duration:.0f}s",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}/webhooks/stripe",
        ]
        output = subprocess.run(argv, check=True, capture_output=True, text=True).stdout  # noqa: S603 (fixed argv)
    match = re.search(r"^Requests/sec:\s+([0-9.]+)", output, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"wrk printed no Requests/sec:\n{output}")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    return {"requests_per_second": float(match.group(1)), "non_2xx": int(non_2xx.group(1)) if non_2xx else 0}


if __name__ == "__main__":
    main()
