"""The app factory: every route, dependency, exception handler and background task is wired here."""

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator

import anyio.to_thread
from litestar import Litestar
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig

from inference.controllers import ChurnController, FraudController, ModelsController, OpsController, RetryController
from inference.feast_client import FeastClient
from inference.metrics import Metrics
from inference.models import ModelManager, default_slots
from inference.problems import InferenceRequest, problem_response
from inference.scoring import ScoringService
from inference.settings import InferenceSettings
from model_registry import ModelRegistry

logger = logging.getLogger(__name__)


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

    return Litestar(
        route_handlers=[FraudController, ChurnController, RetryController, ModelsController, OpsController],
        lifespan=[lifespan],
        exception_handlers={Exception: problem_response},
        request_class=InferenceRequest,
        request_max_body_size=settings.max_body_bytes,
        state=State({"models": models, "metrics": metrics, "settings": settings}),
        openapi_config=OpenAPIConfig(title="inference", version="1.0.0", path="/schema"),
        logging_config=None,
        debug=False,
    )
