"""HTTP measurements against real server processes: the inference service and the bare-Litestar
yardstick (each `python -m ...`, uvicorn, one worker), loaded at a fixed rate by `loadgen.py` in
another process, with what the host did meanwhile (`host.py`)."""

import json
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from contracts.schemas.features import FRAUD_FEATURE_NAMES
from inference_bench.host import HostSample
from inference_bench.stats import percentiles
from inference_bench.workload import Rows
from model_registry import ModelRegistry
from testing.processes import ServerProcess, child_env, free_port, start_server


def start_inference(registry: ModelRegistry, work: Path, feast_url: str) -> ServerProcess:
    port = free_port()
    env = {
        "INFERENCE_PORT": str(port),
        "INFERENCE_REGISTRY_ROOT": str(registry.root),
        "INFERENCE_FEAST_URL": feast_url,
        "INFERENCE_LOG_LEVEL": "WARNING",
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
    server: ServerProcess,
    path: str,
    body: dict[str, Any],
    rate: float | None,
    duration: float,
    work: Path,
    *,
    connections: int = 32,
) -> dict[str, Any]:
    """Warm up for a second, then measure `duration` seconds at `rate` (None: as fast as the
    server answers, each connection back to back) from another process."""
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
            *(["--saturate"] if rate is None else ["--rate", str(rate)]),
            "--connections",
            str(connections),
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
    result["connections"] = connections
    return result


def load_service(
    server: ServerProcess, path: str, body: dict[str, Any], rate: float, duration: float, work: Path
) -> dict[str, Any]:
    """`load` against the inference service, plus the rows per model call it made meanwhile
    (micro-batching; the warm-up second included)."""
    calls_before, rows_before = predict_calls(server)
    run = load(server, path, body, rate, duration, work)
    calls_after, rows_after = predict_calls(server)
    calls = calls_after - calls_before
    run["rows_per_call"] = (rows_after - rows_before) / calls if calls else None
    return run


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
