"""Inference benchmark: `./pants run services/inference/bench:bench -- [--duration 10] [--rate 2000]`.

1. Trains a fraud booster here (synthetic rows, 100 trees of depth 6), registers and promotes it
   in a temporary model registry.
2. In-process: single-row latency of `ScoringService.score_fraud` and of the raw
   `Booster.inplace_predict` on the same model, interleaved; batch rows/s of
   `ScoringService.score_fraud_batch` (10,000 rows, contract objects in, the encoded JSON
   document out) against raw
   `inplace_predict` on the same matrix.
3. HTTP: a real server process (`python -m inference`, uvicorn, one worker) and an open-loop load
   generator in another process (`loadgen.py`) at a fixed rate, features in the request. Right
   before it, the same load against a bare Litestar POST served the same way (`bare_litestar.py`):
   the HTTP yardstick. Each run also reports the server's CPU per request and the share of CPU
   the hypervisor stole meanwhile (`host.py`), so that a slower host can be told from a slower
   service.
4. The same with the Feast lookup (a real `feast serve` over a tiny materialized repo), at a rate
   one Feast worker can serve, and the same lookup sent to Feast directly, so that what Feast
   costs and what the service adds can be told apart.
5. Prints the numbers and writes a latency histogram PNG (matplotlib) next to a JSON of them.
"""

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import xgboost as xgb
from prometheus_client.parser import text_string_to_metric_families

from contracts.schemas.features import FRAUD_FEATURE_NAMES, FraudFeatures
from contracts.schemas.scoring import FraudBatchRequest, FraudScoreRequest
from inference.feast_client import FeastClient
from inference.metrics import Metrics
from inference.models import ModelManager, default_slots
from inference.scoring import ScoringService
from inference.settings import load_settings
from inference_bench.host import HostSample
from model_registry import ModelRegistry, TrainingWindow, dataset_hash
from testing.processes import ServerProcess, child_env, free_port, start_server

Rows = npt.NDArray[np.float32]
TARGET_HTTP_P99_MS = 5.0
TARGET_HTTP_RATE = 2000.0
TARGET_OVERHEAD = 2.0
TARGET_BATCH_ROWS_S = 200_000.0
BATCH_ROWS = 10_000
IDLE_GAP_S = 0.005


def synthetic_fraud_rows(n: int, seed: int) -> Rows:
    """Rows inside the contract's ranges, with fraud-ish structure for the labels."""
    rng = np.random.default_rng(seed)
    columns: dict[str, npt.NDArray[np.float64]] = {
        "amount_usd": rng.lognormal(3.5, 1.2, n),
        "hour_of_day": rng.integers(0, 24, n).astype(np.float64),
        "is_foreign_card": (rng.random(n) < 0.1).astype(np.float64),
        "is_new_card_for_customer": (rng.random(n) < 0.15).astype(np.float64),
        "is_new_country_for_customer": (rng.random(n) < 0.05).astype(np.float64),
        "customer_txn_count_1h": rng.poisson(0.5, n).astype(np.float64),
        "customer_txn_count_24h": rng.poisson(2.0, n).astype(np.float64),
        "customer_amount_usd_24h": rng.lognormal(4.0, 1.0, n),
        "customer_avg_amount_usd_30d": rng.lognormal(3.5, 0.8, n),
        "card_txn_count_1h": rng.poisson(0.5, n).astype(np.float64),
        "card_distinct_merchants_24h": rng.poisson(1.5, n).astype(np.float64),
        "card_decline_count_24h": rng.poisson(0.2, n).astype(np.float64),
        "customer_distinct_cards_7d": rng.poisson(1.2, n).astype(np.float64),
        "customer_tenure_days": rng.exponential(500, n),
        "customer_dispute_count_90d": rng.poisson(0.05, n).astype(np.float64),
        "merchant_risk_score": rng.beta(2, 8, n),
    }
    columns["amount_to_customer_avg_ratio"] = columns["amount_usd"] / columns["customer_avg_amount_usd_30d"]
    return np.column_stack([columns[name] for name in FRAUD_FEATURE_NAMES]).astype(np.float32)


def train(rows: Rows, seed: int) -> xgb.Booster:
    col = {name: rows[:, i] for i, name in enumerate(FRAUD_FEATURE_NAMES)}
    logit = (
        -5.0
        + 1.5 * col["is_foreign_card"]
        + 1.0 * col["is_new_card_for_customer"]
        + 0.4 * np.minimum(col["amount_to_customer_avg_ratio"], 10)
        + 0.6 * col["card_decline_count_24h"]
        + 3.0 * col["merchant_risk_score"]
    )
    labels = (np.random.default_rng(seed).random(len(rows)) < 1 / (1 + np.exp(-logit))).astype(np.float32)
    params = {"objective": "binary:logistic", "max_depth": 6, "eta": 0.1, "nthread": 2, "seed": seed}
    return xgb.train(params, xgb.DMatrix(rows, label=labels), num_boost_round=100)


def percentiles(samples_us: Sequence[float]) -> dict[str, float]:
    ordered = np.sort(np.asarray(samples_us, dtype=np.float64))
    if len(ordered) == 0:
        return {"n": 0}
    return {
        "n": float(len(ordered)),
        "p50_us": float(np.percentile(ordered, 50)),
        "p90_us": float(np.percentile(ordered, 90)),
        "p99_us": float(np.percentile(ordered, 99)),
        "p999_us": float(np.percentile(ordered, 99.9)),
        "max_us": float(ordered[-1]),
    }


# -- in-process -------------------------------------------------------------------------------


async def in_process(registry: ModelRegistry, version: str, rows: Rows, samples: int) -> dict[str, Any]:
    settings = load_settings(registry_root=registry.root)
    metrics = Metrics()
    models = ModelManager(registry, default_slots("fraud", "churn"), metrics)
    models.load_initial()
    feast = FeastClient(settings.feast_url, timeout_seconds=1, retry_after_seconds=1, metrics=metrics)
    scoring = ScoringService(models, feast, settings, metrics)
    raw = registry.load("fraud", version).booster
    raw.set_param({"nthread": 1})  # as the service configures its booster

    requests = [
        FraudScoreRequest(
            payment_id=f"pay_{i}",
            features=FraudFeatures.model_validate(dict(zip(FRAUD_FEATURE_NAMES, map(float, row), strict=True))),
        )
        for i, row in enumerate(rows[:BATCH_ROWS])
    ]
    single_rows = [np.ascontiguousarray(rows[i : i + 1]) for i in range(len(requests))]

    for i in range(500):  # warm-up
        raw.inplace_predict(single_rows[i], validate_features=False)
        await scoring.score_fraud(requests[i])
    raw_us, service_us = [], []
    for i in range(samples):
        k = i % len(requests)
        started = time.perf_counter()
        raw.inplace_predict(single_rows[k], validate_features=False)
        raw_us.append((time.perf_counter() - started) * 1e6)
        started = time.perf_counter()
        await scoring.score_fraud(requests[k])
        service_us.append((time.perf_counter() - started) * 1e6)

    # The same call after the process slept: on this VM an idle vCPU comes back slow, which is
    # why low request rates cost more CPU per request than high ones.
    after_idle_us = []
    for i in range(200):
        await asyncio.sleep(IDLE_GAP_S)
        started = time.perf_counter()
        raw.inplace_predict(single_rows[i], validate_features=False)
        after_idle_us.append((time.perf_counter() - started) * 1e6)

    batch = FraudBatchRequest(items=requests)
    matrix = rows[:BATCH_ROWS]
    batch_raw, batch_service = [], []
    for _ in range(7):
        started = time.perf_counter()
        raw.inplace_predict(matrix, validate_features=False)
        batch_raw.append(time.perf_counter() - started)
        started = time.perf_counter()
        await scoring.score_fraud_batch(batch)
        batch_service.append(time.perf_counter() - started)
    # Single-row requests that are in flight together (as under load) share one model call.
    concurrent_rows_s = {}
    for together in (1, 8, 64):
        started = time.perf_counter()
        for start in range(0, 2048, together):
            if together == 1:
                await scoring.score_fraud(requests[start])
            else:
                await asyncio.gather(*(scoring.score_fraud(requests[k]) for k in range(start, start + together)))
        concurrent_rows_s[together] = 2048 / (time.perf_counter() - started)
    await feast.aclose()
    single_raw, single_service = percentiles(raw_us), percentiles(service_us)
    raw_rows_s = BATCH_ROWS / statistics.median(batch_raw)
    service_rows_s = BATCH_ROWS / statistics.median(batch_service)
    return {
        "single_raw": single_raw,
        "single_raw_after_idle": percentiles(after_idle_us),
        "single_service": single_service,
        "single_ratio_p50": single_service["p50_us"] / single_raw["p50_us"],
        "single_ratio_p99": single_service["p99_us"] / single_raw["p99_us"],
        "batch_raw_rows_s": raw_rows_s,
        "batch_service_rows_s": service_rows_s,
        "batch_ratio": raw_rows_s / service_rows_s,
        "concurrent_single_rows_s": concurrent_rows_s,
        "raw_single_us": raw_us,
        "service_single_us": service_us,
    }


# -- HTTP -------------------------------------------------------------------------------------


def start_inference(registry: ModelRegistry, work: Path, feast_url: str) -> ServerProcess:
    port = free_port()
    env = {
        "INFERENCE_PORT": str(port),
        "INFERENCE_REGISTRY_ROOT": str(registry.root),
        "INFERENCE_FEAST_URL": feast_url,
        "INFERENCE_LOG_LEVEL": "WARNING",
        "INFERENCE_USD_RATES": json.dumps({"USD": 1.0}),
    }
    return start_server(
        [sys.executable, "-m", "inference"],
        base_url=f"http://127.0.0.1:{port}",
        ready_path="/readyz",
        log_path=work / f"inference-{port}.log",
        env=env,
    )


def start_yardstick(work: Path) -> ServerProcess:
    port = free_port()
    return start_server(
        [sys.executable, "-m", "inference_bench.bare_litestar", "--port", str(port)],
        base_url=f"http://127.0.0.1:{port}",
        ready_path="/readyz",
        log_path=work / f"yardstick-{port}.log",
    )


def load(
    server: ServerProcess, path: str, body: dict[str, Any], rate: float, duration: float, work: Path
) -> dict[str, Any]:
    """Warm up for a second, then measure `duration` seconds at `rate` from another process."""
    port = server.base_url.rsplit(":", 1)[1]
    body_file = work / "body.json"
    body_file.write_text(json.dumps(body))
    out = work / "load.json"
    for seconds in (1.0, duration):
        before = HostSample.take(server.process.pid)  # the measured run only
        argv = [
            sys.executable,
            "-m",
            "inference_bench.loadgen",
            "--port",
            port,
            "--path",
            path,
            "--body-file",
            str(body_file),
            "--rate",
            str(rate),
            "--duration",
            str(seconds),
            "--out",
            str(out),
        ]
        subprocess.run(argv, check=True, env=child_env())  # noqa: S603 (our own module, fixed argv)
    after = HostSample.take(server.process.pid)
    result: dict[str, Any] = json.loads(out.read_text())
    result |= after.since(before, result["sent"])
    result["summary"] = percentiles(result["latencies_us"])
    result["achieved_rps"] = len(result["latencies_us"]) / max(result["elapsed_s"], 1e-9)
    return result


def predict_calls(server: ServerProcess) -> tuple[float, float]:
    """(model calls, rows scored) so far, from the service's `inference_predict_batch_rows`."""
    with urllib.request.urlopen(server.base_url + "/metrics", timeout=10) as response:  # noqa: S310 (loopback)
        text = response.read().decode()
    for family in text_string_to_metric_families(text):
        if family.name == "inference_predict_batch_rows":
            values = {sample.name: sample.value for sample in family.samples}
            return values["inference_predict_batch_rows_count"], values["inference_predict_batch_rows_sum"]
    return 0.0, 0.0


def http_batch(server: ServerProcess, rows: Rows, repeats: int) -> dict[str, float]:
    """One batch request at a time: JSON parsing and contract validation of every item included."""
    items = [
        {"payment_id": f"pay_{i}", "features": dict(zip(FRAUD_FEATURE_NAMES, map(float, row), strict=True))}
        for i, row in enumerate(rows)
    ]
    body = json.dumps({"items": items}).encode()
    seconds = []
    for _ in range(repeats + 1):  # the first is a warm-up
        url = server.base_url + "/v1/fraud/score:batch"  # http on loopback, built here
        request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})  # noqa: S310
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            raw = response.read()
        seconds.append(time.perf_counter() - started)
        answered = json.loads(raw)
        if len(answered["items"]) != len(rows):
            raise RuntimeError(f"batch answered {len(answered['items'])} items for {len(rows)} rows")
    median = statistics.median(seconds[1:])
    return {"rows": float(len(rows)), "body_bytes": float(len(body)), "median_s": median, "rows_s": len(rows) / median}


def feast_repo(work: Path, rows: Rows) -> Path:
    from testing.feast_server import OnlineTable, build_feature_repo

    row = dict(zip(FRAUD_FEATURE_NAMES, map(float, rows[0]), strict=True))
    written = datetime.now(UTC) - timedelta(minutes=5)
    customer = [n for n in FRAUD_FEATURE_NAMES if n.startswith("customer_")] + ["is_new_country_for_customer"]
    card = [n for n in FRAUD_FEATURE_NAMES if n.startswith("card_")]
    tables = [
        OnlineTable(
            "customer_fraud",
            ("customer_id",),
            tuple(customer),
            [{"customer_id": "cus_1", **{n: row[n] for n in customer}}],
            written,
        ),
        OnlineTable(
            "card_fraud",
            ("card_fingerprint",),
            tuple(card),
            [{"card_fingerprint": "card_1", **{n: row[n] for n in card}}],
            written,
        ),
        OnlineTable(
            "customer_card",
            ("customer_id", "card_fingerprint"),
            ("is_new_card_for_customer",),
            [
                {
                    "customer_id": "cus_1",
                    "card_fingerprint": "card_1",
                    "is_new_card_for_customer": row["is_new_card_for_customer"],
                }
            ],
            written,
        ),
        OnlineTable(
            "merchant_risk",
            ("merchant_id",),
            ("merchant_risk_score",),
            [{"merchant_id": "mer_1", "merchant_risk_score": row["merchant_risk_score"]}],
            written,
        ),
    ]
    services = {"fraud_v1": ["customer_fraud", "card_fraud", "customer_card", "merchant_risk"]}
    return build_feature_repo(work / "feature_repo", tables, services, project="bench").path


# -- report -----------------------------------------------------------------------------------


def _ms(value_us: float) -> str:
    return f"{value_us / 1000:.3f} ms"


def _host(run: dict[str, Any]) -> str:
    cpu, steal = run.get("server_cpu_us_per_request"), run.get("host_steal_percent")
    rows_per_call = run.get("rows_per_call")
    return (
        f"server CPU {'n/a' if cpu is None else f'{cpu:.0f} us'} per request,"
        + (f" {rows_per_call:.2f} rows per model call," if rows_per_call else "")
        + f" CPU stolen from this VM {'n/a' if steal is None else f'{steal:.1f} %'}"
    )


def report(results: dict[str, Any], out_dir: Path) -> None:
    inproc = results["in_process"]
    lines = [
        "inference benchmark (fraud model: 100 trees, depth 6, 17 features)",
        f"  machine: {os.cpu_count()} cpus, load average {os.getloadavg()[0]:.2f} at the end",
        "in-process, single row (ScoringService.score_fraud vs raw Booster.inplace_predict):",
        f"  raw inplace_predict   p50 {_ms(inproc['single_raw']['p50_us'])}  p99 {_ms(inproc['single_raw']['p99_us'])}",
        f"  service               p50 {_ms(inproc['single_service']['p50_us'])}  p99 {_ms(inproc['single_service']['p99_us'])}",
        f"  raw, {IDLE_GAP_S * 1000:.0f} ms after the process last ran  p50 {_ms(inproc['single_raw_after_idle']['p50_us'])}"
        "  (an idle vCPU comes back slow here: low request rates cost more per request)",
        f"  overhead ratio        p50 {inproc['single_ratio_p50']:.2f}x  p99 {inproc['single_ratio_p99']:.2f}x"
        f"  (target <= {TARGET_OVERHEAD:.0f}x: {'met' if inproc['single_ratio_p50'] <= TARGET_OVERHEAD else 'MISSED'} at p50)",
        f"in-process, batch of {BATCH_ROWS:,} rows:",
        f"  raw inplace_predict   {inproc['batch_raw_rows_s']:,.0f} rows/s",
        f"  service               {inproc['batch_service_rows_s']:,.0f} rows/s  ({inproc['batch_ratio']:.2f}x slower than raw;"
        f" target >= {TARGET_BATCH_ROWS_S:,.0f}: {'met' if inproc['batch_service_rows_s'] >= TARGET_BATCH_ROWS_S else 'MISSED'})",
    ]
    concurrent = inproc["concurrent_single_rows_s"]
    lines.append(
        "in-process, single-row requests in flight together (micro-batched into one model call):  "
        + "  ".join(f"{n} at a time {rate:,.0f} rows/s" for n, rate in concurrent.items())
    )
    batch = results.get("http_batch")
    if batch:
        lines.append(
            f"HTTP, batch of {batch['rows']:,.0f} rows ({batch['body_bytes'] / 1e6:.1f} MB of JSON), one at a time:"
            f" {batch['median_s'] * 1000:.0f} ms per request, {batch['rows_s']:,.0f} rows/s"
            " (parsing and validating the request included)"
        )
    for key, title in (
        ("http_yardstick", "yardstick, a bare Litestar POST (same request contract, constant answer)"),
        ("http", "features in the request"),
        ("http_feast", "Feast lookup"),
        ("feast_alone", "the Feast feature server alone, same lookup"),
    ):
        runs = results.get(key)
        if not runs:
            lines.append(f"HTTP, {title}: not run ({results.get(key + '_skipped', 'disabled')})")
            continue
        for run in runs:
            summary = run["summary"]
            lines.append(
                f"HTTP, {title}: offered {run['rate']:.0f} req/s for {run['duration']:.0f} s,"
                f" achieved {run['achieved_rps']:.0f} req/s, errors {run['errors'] or 0}, {_host(run)}"
            )
            if summary.get("n"):
                verdict = ""
                if key == "http" and run["rate"] == TARGET_HTTP_RATE:
                    met = summary["p99_us"] < TARGET_HTTP_P99_MS * 1000
                    verdict = (
                        f"  (target p99 < {TARGET_HTTP_P99_MS:.0f} ms at {TARGET_HTTP_RATE:.0f} req/s:"
                        f" {'met' if met else 'MISSED'})"
                    )
                lines.append(
                    f"  p50 {_ms(summary['p50_us'])}  p90 {_ms(summary['p90_us'])}  p99 {_ms(summary['p99_us'])}"
                    f"  p99.9 {_ms(summary['p999_us'])}  max {_ms(summary['max_us'])}{verdict}"
                )
    plot = plot_histogram(results, out_dir / "latency.png")
    lines.append(f"histogram: {plot}" if plot else "histogram: not written (matplotlib unavailable)")
    lines.append(f"numbers: {out_dir / 'results.json'}")
    print("\n".join(lines))


def plot_histogram(results: dict[str, Any], path: Path) -> Path | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    series: list[tuple[str, Sequence[float]]] = [
        ("in-process raw inplace_predict", results["in_process"]["raw_single_us"]),
        ("in-process service", results["in_process"]["service_single_us"]),
    ]
    for key, label in (
        ("http_yardstick", "HTTP, bare Litestar POST (yardstick)"),
        ("http", "HTTP, features in request"),
        ("http_feast", "HTTP, Feast lookup"),
        ("feast_alone", "Feast alone"),
    ):
        for run in results.get(key) or []:
            series.append((f"{label} @ {run['rate']:.0f} req/s", run["latencies_us"]))
    figure, axis = plt.subplots(figsize=(10, 5.5))
    everything = np.concatenate([np.asarray(values, dtype=np.float64) for _, values in series if len(values)])
    bins = np.logspace(np.log10(max(everything.min(), 1.0)), np.log10(everything.max()), 80)
    for label, values in series:
        weights = np.full(len(values), 1.0 / max(len(values), 1))
        axis.hist(values, bins=bins.tolist(), weights=weights.tolist(), histtype="step", linewidth=1.5, label=label)
    axis.set_xscale("log")
    axis.set_xlabel("latency (µs, log scale)")
    axis.set_ylabel("fraction of requests per bin")
    axis.axvline(TARGET_HTTP_P99_MS * 1000, color="grey", linestyle="--", label="HTTP p99 target")
    axis.set_title("inference latency: single-row fraud scores")
    axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def _write(results: dict[str, Any], out_dir: Path) -> None:
    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {
                k: strip(v) for k, v in value.items() if k not in ("latencies_us", "raw_single_us", "service_single_us")
            }
        return value

    (out_dir / "results.json").write_text(json.dumps(strip(results), indent=2))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of measured HTTP load per run")
    parser.add_argument(
        "--rates", default="2000", help="comma-separated req/s with features in the request (one run each)"
    )
    parser.add_argument(
        "--feast-rate",
        type=float,
        default=50.0,
        help="req/s with the Feast lookup (one `feast serve` worker saturates near 100 req/s here)",
    )
    parser.add_argument("--samples", type=int, default=5000, help="in-process single-row samples")
    parser.add_argument("--no-feast", action="store_true", help="skip the Feast run")
    parser.add_argument("--out", type=Path, default=Path("dist/inference-bench"))
    args = parser.parse_args(argv)
    out_dir = args.out.resolve()
    out_dir.mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory(prefix="inference-bench-") as tmp:
        work = Path(tmp)
        rows = synthetic_fraud_rows(50_000, seed=7)
        booster = train(rows[:40_000], seed=7)
        registry = ModelRegistry(work / "registry")
        card = registry.register(
            booster,
            name="fraud",
            feature_set_version="fraud_v1",
            training_window=TrainingWindow(
                start=datetime(2025, 1, 1, tzinfo=UTC), end=datetime(2025, 2, 1, tzinfo=UTC)
            ),
            data_hash=dataset_hash(rows[:40_000]),
            code_version=os.environ.get("GIT_SHA", "bench"),
        )
        registry.promote("fraud", card.version)
        holdout = rows[40_000:]
        results: dict[str, Any] = {"model_version": card.version}
        print("in-process runs ...", file=sys.stderr, flush=True)
        results["in_process"] = asyncio.run(in_process(registry, card.version, holdout, args.samples))

        body = {"payment_id": "pay_1", "features": dict(zip(FRAUD_FEATURE_NAMES, map(float, holdout[0]), strict=True))}
        results["http"], results["http_yardstick"] = [], []
        with (
            start_yardstick(work) as yardstick,
            start_inference(registry, work, f"http://127.0.0.1:{free_port()}") as server,
        ):
            for rate in (float(part) for part in args.rates.split(",")):
                print(f"HTTP yardstick (bare Litestar POST) at {rate:.0f} req/s ...", file=sys.stderr, flush=True)
                run = load(yardstick, "/v1/fraud/score", body, rate, args.duration, work)
                results["http_yardstick"].append(run | {"rate": rate, "duration": args.duration})
                print(f"HTTP run at {rate:.0f} req/s ...", file=sys.stderr, flush=True)
                calls_before, rows_before = predict_calls(server)
                run = load(server, "/v1/fraud/score", body, rate, args.duration, work)
                calls_after, rows_after = predict_calls(server)
                calls, rows_scored = calls_after - calls_before, rows_after - rows_before
                run["rows_per_call"] = rows_scored / calls if calls else None  # warm-up second included
                results["http"].append(run | {"rate": rate, "duration": args.duration})
            print(f"HTTP batches of {BATCH_ROWS:,} rows ...", file=sys.stderr, flush=True)
            results["http_batch"] = http_batch(server, holdout[:BATCH_ROWS], repeats=7)

        if args.no_feast:
            results["http_feast_skipped"] = results["feast_alone_skipped"] = "--no-feast"
        else:
            print("building and serving a Feast repo ...", file=sys.stderr, flush=True)
            from testing.feast_server import start_feature_server

            with (
                start_feature_server(feast_repo(work, holdout)) as feast_server,
                start_inference(registry, work, feast_server.base_url) as server,
            ):
                lookup = {
                    "payment_id": "pay_1",
                    "customer_id": "cus_1",
                    "card_fingerprint": "card_1",
                    "context": {
                        "amount_minor": 4200,
                        "currency": "USD",
                        "occurred_at": datetime.now(UTC).isoformat(),
                        "merchant_id": "mer_1",
                    },
                }
                print(f"HTTP run with Feast at {args.feast_rate:.0f} req/s ...", file=sys.stderr, flush=True)
                run = load(server, "/v1/fraud/score", lookup, args.feast_rate, args.duration, work)
                results["http_feast"] = [run | {"rate": args.feast_rate, "duration": args.duration}]
                # The same lookup sent to Feast directly: what the feature server alone costs.
                print(f"Feast alone at {args.feast_rate:.0f} req/s ...", file=sys.stderr, flush=True)
                direct = {
                    "feature_service": "fraud_v1",
                    "entities": {"customer_id": ["cus_1"], "card_fingerprint": ["card_1"], "merchant_id": ["mer_1"]},
                }
                run = load(feast_server, "/get-online-features", direct, args.feast_rate, args.duration, work)
                results["feast_alone"] = [run | {"rate": args.feast_rate, "duration": args.duration}]
        _write(results, out_dir)
        report(results, out_dir)


if __name__ == "__main__":
    main()
