"""Liveness, readiness (with the service's own check) and the metrics exposition."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from litestar import Litestar, Request
from litestar.testing import AsyncTestClient
from service_kit import Problem, ServiceError, ServiceMetrics, operations_routes, problem_handler

pytestmark = pytest.mark.anyio


class NotReadyError(ServiceError):
    status_code = 503
    default_reason = "not_ready"

    def headers(self) -> dict[str, str]:
        return {"Retry-After": "2"}


def make_app(state: dict[str, bool], *, include_in_schema: bool = True) -> Litestar:
    metrics = ServiceMetrics("shop")

    async def readiness() -> Mapping[str, Any]:
        if not state["ready"]:
            raise NotReadyError("warehouse not connected")
        return {"warehouse": "connected"}

    def observe(_: Request[Any, Any, Any], problem: Problem) -> None:
        metrics.problem(problem.status, problem.reason)

    return Litestar(
        route_handlers=operations_routes(metrics, readiness, include_in_schema=include_in_schema),
        exception_handlers={Exception: problem_handler("shop", observe=observe)},
    )


async def test_readiness_follows_the_services_check_and_liveness_does_not() -> None:
    state = {"ready": False}
    async with AsyncTestClient(app=make_app(state)) as client:
        not_ready = await client.get("/readyz")
        alive = await client.get("/healthz")
        state["ready"] = True
        ready = await client.get("/readyz")
        metrics = await client.get("/metrics")
        schema = (await client.get("/schema/openapi.json")).json()
    assert (not_ready.status_code, not_ready.headers["retry-after"]) == (503, "2")
    assert not_ready.json()["reason"] == "not_ready"
    assert alive.json() == {"status": "ok"}
    assert ready.json() == {"status": "ready", "warehouse": "connected"}
    assert metrics.headers["content-type"].startswith("text/plain")
    assert 'shop_errors_total{reason="not_ready",status="503"} 1.0' in metrics.text
    assert {"/healthz", "/readyz", "/metrics"} <= set(schema["paths"])


async def test_probes_can_stay_out_of_the_schema() -> None:
    async with AsyncTestClient(app=make_app({"ready": True}, include_in_schema=False)) as client:
        schema = (await client.get("/schema/openapi.json")).json()
    assert not {"/healthz", "/readyz", "/metrics"} & set(schema.get("paths", {}))


def test_each_metrics_object_has_its_own_registry() -> None:
    first, second = ServiceMetrics("shop"), ServiceMetrics("shop")
    first.problem(404, "not_found")
    assert first.registry.get_sample_value("shop_errors_total", {"status": "404", "reason": "not_found"}) == 1.0
    assert second.registry.get_sample_value("shop_errors_total", {"status": "404", "reason": "not_found"}) is None
