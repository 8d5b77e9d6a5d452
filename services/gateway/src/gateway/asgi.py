"""The app factory: every route, dependency, plugin and the one exception handler, in one place."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import structlog
from litestar import Litestar, Request, Response
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.openapi.config import OpenAPIConfig
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from gateway import __version__
from gateway.controllers import OperationsController, Refusal, WebhookController
from gateway.errors import BodyTooLargeError, GatewayError, Reason
from gateway.intake import Intake
from gateway.logs import quiet_repeated_kafka_logs, structlog_plugin
from gateway.metrics import Metrics
from gateway.publisher import KafkaPublisher, Publisher
from gateway.settings import GatewaySettings, get_settings
from gateway.webhooks import WebhookService

log = structlog.get_logger("gateway")

_HTTP_REASONS = {404: Reason.NOT_FOUND, 405: Reason.METHOD_NOT_ALLOWED, 413: Reason.BODY_TOO_LARGE}


def _as_gateway_error(exc: Exception) -> tuple[int, Reason, Any, dict[str, str]]:
    if isinstance(exc, GatewayError):
        return exc.status_code, exc.reason, exc.detail, exc.headers()
    if isinstance(exc, HTTPException):
        status = exc.status_code
        if status == BodyTooLargeError.status_code:
            return status, Reason.BODY_TOO_LARGE, "body larger than the configured limit", {}
        reason = _HTTP_REASONS.get(status, Reason.CLIENT_ERROR if status < 500 else Reason.INTERNAL_ERROR)
        return status, reason, exc.detail, dict(exc.headers or {})
    return HTTP_500_INTERNAL_SERVER_ERROR, Reason.INTERNAL_ERROR, None, {}


def refusal_response(request: Request[Any, Any, Any], exc: Exception) -> Response[Refusal]:
    """The one exception handler: refusal reason, status and headers from the exception."""
    status, reason, detail, headers = _as_gateway_error(exc)
    handler = request.scope.get("route_handler")
    provider = handler.opt.get("provider") if handler is not None else None
    metrics: Metrics | None = getattr(request.app.state, "metrics", None)
    if provider is not None and metrics is not None:
        metrics.refused(provider, reason)
    if status >= HTTP_500_INTERNAL_SERVER_ERROR and not isinstance(exc, GatewayError):
        # A bug, not a refusal. format_exc_info renders the traceback without local variables.
        log.error("unhandled_error", provider=provider, path=request.url.path, exc_info=exc)
    elif status >= 500:
        log.warning("deferred", path=request.url.path, provider=provider, reason=reason, status=status, detail=detail)
    else:
        log.info("refused", path=request.url.path, provider=provider, reason=reason, status=status, detail=detail)
    return Response(Refusal(reason=reason, detail=detail), status_code=status, headers=headers)


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

    def provide_publisher() -> Publisher:
        return publisher

    def provide_metrics() -> Metrics:
        return metrics

    def provide_retry_after() -> int:
        return settings.retry_after_seconds

    return Litestar(
        route_handlers=[WebhookController, OperationsController],
        dependencies={
            "webhooks": Provide(provide_service, sync_to_thread=False),
            "publisher": Provide(provide_publisher, sync_to_thread=False),
            "metrics": Provide(provide_metrics, sync_to_thread=False),
            "retry_after_seconds": Provide(provide_retry_after, sync_to_thread=False),
        },
        exception_handlers={Exception: refusal_response},
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
