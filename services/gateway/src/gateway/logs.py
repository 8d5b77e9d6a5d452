"""Logging: structlog through Litestar's plugin, configured here and nowhere else.

Nothing secret reaches a log line: request bodies (card data, Braintree's `bt_signature`) are
never logged, signature headers are obfuscated should headers ever be added to the access log,
and tracebacks are rendered without local variables (a verifier's locals hold key bytes).
"""

from __future__ import annotations

import logging
import sys
import time

import aiokafka  # type: ignore[import-untyped]  # no py.typed
import structlog
from litestar.data_extractors import RequestExtractorField, ResponseExtractorField
from litestar.logging.config import StructLoggingConfig
from litestar.middleware.logging import LoggingMiddlewareConfig
from litestar.plugins.structlog import StructlogConfig, StructlogPlugin

from gateway.settings import GatewaySettings

SECRET_HEADERS: frozenset[str] = frozenset(
    {
        "authorization",
        "x-api-key",
        "cookie",
        "stripe-signature",
        "x-square-hmacsha256-signature",
        "x-square-signature",
        "x-braintree-signature",
    }
)
"""Lower-case header names whose values are replaced by `*****` in any request log."""


REQUEST_LOG_FIELDS: tuple[RequestExtractorField, ...] = ("method", "path", "path_params", "query")
"""Method, path and params only: never headers (signatures) or body (card data)."""
RESPONSE_LOG_FIELDS: tuple[ResponseExtractorField, ...] = ("status_code",)

REPEAT_INTERVAL_SECONDS = 10.0


class RepeatFilter(logging.Filter):
    """One record per distinct message and interval: during a broker outage aiokafka logs every
    failed reconnect (ten a second), which would bury everything else."""

    def __init__(self, interval: float = REPEAT_INTERVAL_SECONDS, max_keys: int = 1024) -> None:
        super().__init__()
        self._interval = interval
        self._max_keys = max_keys
        self._last: dict[tuple[str, int, str], float] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.levelno, str(record.msg))
        now = time.monotonic()
        last = self._last.get(key)
        if last is not None and now - last < self._interval:
            return False
        if len(self._last) >= self._max_keys:
            self._last.clear()
        self._last[key] = now
        return True


def quiet_repeated_kafka_logs() -> None:
    """Attach one `RepeatFilter` to every aiokafka logger (filters do not propagate to children)."""
    repeat_filter = RepeatFilter()
    names = [name for name in logging.root.manager.loggerDict if name.split(".")[0] == aiokafka.__name__]
    for name in [aiokafka.__name__, *names]:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RepeatFilter) for f in logger.filters):
            logger.addFilter(repeat_filter)


class _CurrentStdout:
    """Writes to whatever `sys.stdout` is now: loggers are cached on first use, and a cached
    handle to a replaced stdout (test capture, a server's redirection) would go stale."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


PROCESSORS: list[structlog.typing.Processor] = [
    structlog.contextvars.merge_contextvars,
    structlog.processors.add_log_level,
    # Plain text tracebacks: never the local variables (a verifier's locals hold key bytes).
    structlog.processors.format_exc_info,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    structlog.processors.JSONRenderer(separators=(",", ":")),
]
"""One JSON object per line on stdout."""


def structlog_plugin(settings: GatewaySettings) -> StructlogPlugin:
    level = logging.getLevelNamesMapping().get(settings.log_level.upper(), logging.INFO)
    return StructlogPlugin(
        StructlogConfig(
            structlog_logging_config=StructLoggingConfig(
                processors=PROCESSORS,
                logger_factory=structlog.PrintLoggerFactory(file=_CurrentStdout()),  # type: ignore[arg-type]
                wrapper_class=structlog.make_filtering_bound_logger(level),
                # Reconfiguration (a second app in one process, tests) must reach module loggers;
                # the gateway logs refusals and trouble only, so the lookup cost is irrelevant.
                cache_logger_on_first_use=False,
                # The app's exception handler logs what it maps; unexpected errors it logs with
                # a plain traceback (no locals).
                log_exceptions="never",
                pretty_print_tty=False,
            ),
            middleware_logging_config=LoggingMiddlewareConfig(
                request_log_fields=REQUEST_LOG_FIELDS,
                response_log_fields=RESPONSE_LOG_FIELDS,
                request_headers_to_obfuscate=set(SECRET_HEADERS),
                response_headers_to_obfuscate=set(SECRET_HEADERS),
                exclude=["/healthz", "/readyz", "/metrics"],
            ),
            enable_middleware_logging=settings.access_log,
        )
    )
