"""Latency summaries, in microseconds."""

from collections.abc import Sequence

import numpy as np


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
