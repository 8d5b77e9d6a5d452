"""The app factory: every route, dependency, plugin and the one exception handler, in one place."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, Request
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi.config import OpenAPIConfig
from service_kit import Problem, operations_routes, problem_handler

from gateway import __version__
from gateway.controllers import WebhookController
from gateway.errors import BrokerUnavailableError
from gateway.intake import Intake
from gateway.logs import quiet_repeated_kafka_logs, structlog_plugin
from gateway.metrics import Metrics
from gateway.publisher import KafkaPublisher, Publisher
from gateway.settings import GatewaySettings, get_settings
from gateway.webhooks import WebhookService

GATEWAY_SERVICE = "gateway"


def observe_problem(metrics: Metrics) -> Callable[[Request[Any, Any, Any], Problem], None]:
    """Count every refusal, and per provider on the webhook routes."""

    def observe(request: Request[Any, Any, Any], problem: Problem) -> None:
        metrics.problem(problem.status, problem.reason)
        handler = request.scope.get("route_handler")
        provider = handler.opt.get("provider") if handler is not None else None
        if provider is not None:
            metrics.refused(provider, problem.reason)

    return observe


def create_app(settings: GatewaySettings, publisher: Publisher | None = None) -> Litestar:
    """Build the gateway. Tests pass their settings (and may pass a publisher)."""
    quiet_repeated_kafka_logs()
    metrics = Metrics()
    publisher = publisher if publisher is not None else KafkaPublisher(settings)
    service = WebhookService(Intake(settings), publisher, metrics, log_accepted=settings.log_level.upper() == "DEBUG")

    @asynccontextmanager
    async def kafka_lifespan(_: Litestar) -> AsyncIterator[None]:
        await publisher.start()
        # Everything alive now (modules, schemas, the app) lives as long as the process: keep it
        # out of the garbage collector's full passes, which otherwise pause every request for
        # tens of milliseconds every few thousand webhooks (the p99).
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            await publisher.stop()

    def provide_service() -> WebhookService:
        return service

    async def readiness() -> Mapping[str, Any]:
        """Kafka answers a metadata request."""
        if not await publisher.ready():
            raise BrokerUnavailableError("Kafka is not reachable", retry_after=settings.retry_after_seconds)
        return {}

    return Litestar(
        route_handlers=[WebhookController, *operations_routes(metrics, readiness)],
        dependencies={"webhooks": Provide(provide_service, sync_to_thread=False)},
        # Plain JSON media type: providers' delivery logs show a refusal's body as JSON.
        exception_handlers={
            Exception: problem_handler(GATEWAY_SERVICE, observe=observe_problem(metrics), media_type="application/json")
        },
        lifespan=[kafka_lifespan],
        plugins=[structlog_plugin(settings)],
        request_max_body_size=settings.max_body_bytes,
        openapi_config=OpenAPIConfig(
            title="Payments webhook gateway",
            version=__version__,
            description="Verifies payment-provider webhooks and publishes them to Kafka before answering 2xx.",
            path="/schema",
        ),
        state=State({"metrics": metrics}),
    )


def create_app_from_env() -> Litestar:
    """For ASGI servers' factory mode: `uvicorn --factory gateway.asgi:create_app_from_env`."""
    return create_app(get_settings())
