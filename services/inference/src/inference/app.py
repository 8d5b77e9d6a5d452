"""The app factory: every route, dependency, exception handler and background task is wired here."""

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator, Mapping
from typing import Any

import anyio.to_thread
from litestar import Litestar, Request
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig
from service_kit import NotReadyError, Problem, operations_routes, problem_handler, structlog_plugin

from inference.controllers import ChurnController, FraudController, ModelsController, RetryController
from inference.feast_client import FeastClient
from inference.metrics import Metrics
from inference.models import ModelManager, default_slots
from inference.problems import InferenceRequest
from inference.scoring import ScoringService
from inference.settings import InferenceSettings
from model_registry import ModelRegistry

INFERENCE_SERVICE = "inference"


def create_app(settings: InferenceSettings) -> Litestar:
    metrics = Metrics()
    models = ModelManager(
        ModelRegistry(settings.registry_root), default_slots(settings.fraud_model, settings.churn_model), metrics
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        # A registered champion that does not verify stops the start here, loudly.
        await anyio.to_thread.run_sync(models.load_initial)
        feast = FeastClient(
            settings.feast_url,
            timeout_seconds=settings.feast_timeout_seconds,
            retry_after_seconds=settings.retry_after_seconds,
            metrics=metrics,
            max_entities=settings.feast_max_entities_per_lookup,
        )
        app.state.scoring = ScoringService(models, feast, settings, metrics)
        watcher = asyncio.create_task(models.watch(settings.reload_interval_seconds), name="champion-watcher")
        # Everything allocated so far lives as long as the process: keep it out of the GC's
        # generations, so that collections during requests stay short (p99 latency).
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            await feast.aclose()

    async def readiness() -> Mapping[str, Any]:
        """Every model slot loaded."""
        if not models.ready:
            raise NotReadyError("models are not loaded yet")
        return {"models": {key: f"{models.served(key).name} {models.served(key).version}" for key in models.slots}}

    def count_problem(_: Request[Any, Any, Any], problem: Problem) -> None:
        metrics.problem(problem.status, problem.reason)

    return Litestar(
        route_handlers=[
            FraudController,
            ChurnController,
            RetryController,
            ModelsController,
            *operations_routes(metrics, readiness, include_in_schema=False),
        ],
        lifespan=[lifespan],
        exception_handlers={Exception: problem_handler(INFERENCE_SERVICE, observe=count_problem)},
        request_class=InferenceRequest,
        request_max_body_size=settings.max_body_bytes,
        state=State({"models": models, "metrics": metrics, "settings": settings}),
        openapi_config=OpenAPIConfig(title="inference", version="1.0.0", path="/schema"),
        plugins=[structlog_plugin(settings.log_level, access_log=settings.access_log)],
        debug=False,
    )
