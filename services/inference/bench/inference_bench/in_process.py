"""In-process measurements: `ScoringService` against raw `Booster.inplace_predict` on the same
model, single rows interleaved and 10,000-row batches, plus single rows in flight together."""

import asyncio
import statistics
import time
from typing import Any

import numpy as np

from contracts.schemas.features import FRAUD_FEATURE_NAMES, FraudFeatures
from contracts.schemas.scoring import FraudBatchRequest, FraudScoreRequest
from inference.feast_client import FeastClient
from inference.metrics import Metrics
from inference.models import ModelManager, default_slots
from inference.scoring import ScoringService
from inference.settings import load_settings
from inference_bench.stats import percentiles
from inference_bench.workload import Rows
from model_registry import ModelRegistry

BATCH_ROWS = 10_000
IDLE_GAP_S = 0.005


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
