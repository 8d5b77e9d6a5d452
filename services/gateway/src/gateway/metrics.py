"""The gateway's Prometheus metrics (on top of `service_kit.ServiceMetrics`'s registry per app)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram
from service_kit import CONTENT_TYPE, ServiceMetrics

from contracts.reference.providers import Provider

__all__ = ["CONTENT_TYPE", "Metrics"]

ACCEPTED = "accepted"
QUARANTINED = "quarantined"

# Publish latency at sub-millisecond to multi-second resolution (broker trouble shows at the top).
LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class Metrics(ServiceMetrics):
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        super().__init__("gateway", registry)
        self.requests = Counter(
            "gateway_webhook_requests",
            "Webhook requests by provider and outcome (`accepted`, `quarantined` or the refusal reason).",
            ["provider", "outcome"],
            registry=self.registry,
        )
        self.events = Counter(
            "gateway_events_published",
            "Envelopes acknowledged by Kafka, by provider (an Adyen request may carry several).",
            ["provider"],
            registry=self.registry,
        )
        self.publish_latency = Histogram(
            "gateway_publish_latency_seconds",
            "Time from handing a webhook's envelopes to the producer to the broker's acknowledgement.",
            ["provider"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        # Label children resolved once: the hot path then only increments.
        self._accepted = {p: self.requests.labels(p.value, ACCEPTED) for p in Provider}
        self._events = {p: self.events.labels(p.value) for p in Provider}
        self._latency = {p: self.publish_latency.labels(p.value) for p in Provider}

    def accepted(self, provider: Provider, events: int, publish_seconds: float) -> None:
        self._accepted[provider].inc()
        self._events[provider].inc(events)
        self._latency[provider].observe(publish_seconds)

    def quarantined(self, provider: Provider) -> None:
        self.requests.labels(provider.value, QUARANTINED).inc()

    def refused(self, provider: str, reason: str) -> None:
        self.requests.labels(provider, reason).inc()
