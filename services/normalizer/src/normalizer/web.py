"""`/healthz`, `/readyz` and `/metrics` on Faust's own web server."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from faust.web import Request, Response, View

if TYPE_CHECKING:
    from normalizer.app import Normalizer

PROMETHEUS_TEXT = "text/plain; version=0.0.4"


def ready(normalizer: Normalizer) -> tuple[bool, str]:
    """Ready once the worker holds partitions, its tables are recovered and no rebalance runs."""
    app = normalizer.app
    if normalizer.failure is not None:
        return False, normalizer.failure
    if app.rebalancing:
        return False, "rebalancing"
    if not app.tables.recovery.completed.is_set():  # type: ignore[attr-defined]  # TableManager has it
        return False, "recovering tables"
    if not app.consumer.assignment():
        return False, "no partitions assigned"
    return True, "ready"


def install(normalizer: Normalizer) -> None:
    app = normalizer.app

    @app.page("/healthz")
    class Health(View):
        async def get(self, request: Request, **kwargs: Any) -> Response:
            return self.json({"status": "ok"})

    @app.page("/readyz")
    class Readiness(View):
        async def get(self, request: Request, **kwargs: Any) -> Response:
            ok, why = ready(normalizer)
            return self.json({"status": why}, status=200 if ok else 503)

    @app.page("/metrics")
    class Metrics(View):
        async def get(self, request: Request, **kwargs: Any) -> Response:
            return self.text(normalizer.metrics.render(), content_type=PROMETHEUS_TEXT)
