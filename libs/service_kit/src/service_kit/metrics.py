"""Prometheus metrics in a registry per app, so that tests and benchmarks never share counters."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest

__all__ = ["CONTENT_TYPE", "ServiceMetrics"]

CONTENT_TYPE = CONTENT_TYPE_LATEST


class ServiceMetrics:
    """Base of a service's metrics: its own registry, a refusal counter, and the exposition.

    A service subclasses it and adds its counters to `self.registry`; the operations routes
    (`service_kit.ops`) serve `render()` on `/metrics`.
    """

    def __init__(self, service: str, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
        self.problems = Counter(
            f"{service}_errors",
            "Refused or failed requests, by HTTP status and reason.",
            ["status", "reason"],
            registry=self.registry,
        )

    def problem(self, status: int, reason: str) -> None:
        self.problems.labels(str(status), reason).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
