"""The plumbing every HTTP service repeats, once: problem details with a `reason`, structured
logs with secret headers obfuscated, Prometheus metrics, health and readiness, server start.

A service builds on it like this (see `libs/README.md`)::

    metrics = MyMetrics()  # a ServiceMetrics subclass
    Litestar(
        route_handlers=[*my_controllers, *operations_routes(metrics, readiness)],
        exception_handlers={Exception: problem_handler("my-service", observe=...)},
        plugins=[structlog_plugin(settings.log_level, access_log=settings.access_log)],
    )
"""

from service_kit.logs import SECRET_HEADERS, RepeatFilter, quiet_repeated_logs, structlog_plugin
from service_kit.metrics import CONTENT_TYPE, ServiceMetrics
from service_kit.ops import Readiness, operations_routes
from service_kit.problems import (
    PROBLEM_MEDIA_TYPE,
    BodyTooLargeError,
    CommonReason,
    MalformedBodyError,
    NotReadyError,
    Problem,
    ProblemDetails,
    ServiceError,
    problem_for,
    problem_handler,
)
from service_kit.server import run_server, settings_or_exit

__all__ = [
    "CONTENT_TYPE",
    "PROBLEM_MEDIA_TYPE",
    "SECRET_HEADERS",
    "BodyTooLargeError",
    "CommonReason",
    "MalformedBodyError",
    "NotReadyError",
    "Problem",
    "ProblemDetails",
    "Readiness",
    "RepeatFilter",
    "ServiceError",
    "ServiceMetrics",
    "operations_routes",
    "problem_for",
    "problem_handler",
    "quiet_repeated_logs",
    "run_server",
    "settings_or_exit",
    "structlog_plugin",
]
