"""Operations routes: `/healthz` (liveness), `/readyz` (readiness) and `/metrics` (Prometheus)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from litestar import Response, get
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec

from service_kit.metrics import CONTENT_TYPE, ServiceMetrics
from service_kit.problems import ProblemDetails

__all__ = ["Readiness", "operations_routes"]

Readiness = Callable[[], Awaitable[Mapping[str, Any]]]
"""Checks what the service needs to serve: raises a `ServiceError` (a 503 with its reason and
`Retry-After`) when something is missing, else returns details added to the `ready` answer."""


async def _always_ready() -> Mapping[str, Any]:
    return {}


def operations_routes(
    metrics: ServiceMetrics, readiness: Readiness = _always_ready, *, include_in_schema: bool = True
) -> list[HTTPRouteHandler]:
    """The three probes, to add to an app's `route_handlers`."""
    not_ready = {503: ResponseSpec(data_container=ProblemDetails, description="Not ready", generate_examples=False)}
    common: dict[str, Any] = {"tags": ["operations"], "include_in_schema": include_in_schema}

    @get("/healthz", operation_id="health", summary="Liveness: the process serves requests", **common)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @get("/readyz", operation_id="readiness", summary="Readiness", responses=not_ready, **common)
    async def readyz() -> dict[str, Any]:
        return {"status": "ready", **await readiness()}

    @get("/metrics", operation_id="metrics", summary="Prometheus metrics", media_type=CONTENT_TYPE, **common)
    async def prometheus() -> Response[bytes]:
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    return [healthz, readyz, prometheus]
