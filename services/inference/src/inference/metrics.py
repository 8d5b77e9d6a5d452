"""Prometheus metrics, one registry per app so that tests can build many apps in one process."""

from prometheus_client import Counter, Gauge, Histogram
from service_kit import ServiceMetrics

_LATENCY_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)


class Metrics(ServiceMetrics):
    """`inference_errors` (refusals by status and reason) comes from `ServiceMetrics`."""

    def __init__(self) -> None:
        super().__init__("inference")
        self.predictions = Counter(
            "inference_predictions",
            "Rows scored, by model, version and where the features came from.",
            ["model", "version", "feature_source"],
            registry=self.registry,
        )
        self.predict_seconds = Histogram(
            "inference_predict_seconds",
            "Time in the model's predict call (one per batch request or per micro-batch of single rows).",
            ["model"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.predict_batch_rows = Histogram(
            "inference_predict_batch_rows",
            "Single-row requests scored together in one model call (see batching.py).",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
            registry=self.registry,
        )
        self.feast_seconds = Histogram(
            "inference_feast_lookup_seconds",
            "Online feature lookups against the Feast feature server.",
            ["feature_service"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.feature_freshness = Histogram(
            "inference_feature_freshness_seconds",
            "Age of the oldest online feature used for a prediction.",
            ["feature_service"],
            buckets=(1, 10, 60, 300, 900, 3600, 6 * 3600, 86400, 7 * 86400),
            registry=self.registry,
        )
        self.model_info = Gauge(
            "inference_model_info",
            "1 for the model version each slot serves.",
            ["model", "version", "kind"],
            registry=self.registry,
        )
        self.reloads = Counter(
            "inference_model_reloads",
            "Champion changes picked up, by outcome (swapped, rejected).",
            ["model", "outcome"],
            registry=self.registry,
        )
