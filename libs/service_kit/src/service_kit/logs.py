"""Logging: one JSON object per line on stdout, through structlog and Litestar's plugin.

Nothing secret reaches a log line: request bodies are never logged, secret headers (the common
ones here, a service adds its own, e.g. provider signature headers) are obfuscated in the access
log, and tracebacks are rendered without local variables (a verifier's locals hold key bytes).
Records of standard-library loggers (uvicorn, aiokafka, a service's `logging.getLogger`) are
rendered as the same JSON lines (`configure_stdlib_logging`).
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterable

import structlog
from litestar.data_extractors import RequestExtractorField, ResponseExtractorField
from litestar.logging.config import StructLoggingConfig
from litestar.middleware.logging import LoggingMiddlewareConfig
from litestar.plugins.structlog import StructlogConfig, StructlogPlugin

__all__ = [
    "PROBE_PATHS",
    "SECRET_HEADERS",
    "RepeatFilter",
    "configure_stdlib_logging",
    "quiet_repeated_logs",
    "structlog_plugin",
]

SECRET_HEADERS: frozenset[str] = frozenset(
    {"authorization", "proxy-authorization", "x-api-key", "cookie", "set-cookie"}
)
"""Lower-case header names whose values are replaced by `*****` in any request log."""

PROBE_PATHS = ("/healthz", "/readyz", "/metrics")
"""Never in the access log: scraped every few seconds."""

REQUEST_LOG_FIELDS: tuple[RequestExtractorField, ...] = ("method", "path", "path_params", "query")
"""Method, path and params only: never headers (secrets) or body (card data)."""
RESPONSE_LOG_FIELDS: tuple[ResponseExtractorField, ...] = ("status_code",)

REPEAT_INTERVAL_SECONDS = 10.0


class _CurrentStdout:
    """Writes to whatever `sys.stdout` is now: loggers are cached on first use, and a cached
    handle to a replaced stdout (test capture, a server's redirection) would go stale."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


_SHARED: list[structlog.typing.Processor] = [
    structlog.contextvars.merge_contextvars,
    structlog.processors.add_log_level,
    # Plain text tracebacks: never the local variables.
    structlog.processors.format_exc_info,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]
_RENDER = structlog.processors.JSONRenderer(separators=(",", ":"))


def _level(name: str) -> int:
    return logging.getLevelNamesMapping().get(name.upper(), logging.INFO)


def structlog_plugin(level: str, *, access_log: bool = False, secret_headers: Iterable[str] = ()) -> StructlogPlugin:
    """Litestar's structlog plugin, configured the one way every service logs.

    `access_log` logs each request (method, path, params) and its status; `secret_headers` are
    obfuscated on top of `SECRET_HEADERS`, should headers ever be added to that log.
    """
    obfuscate = set(SECRET_HEADERS) | {header.lower() for header in secret_headers}
    return StructlogPlugin(
        StructlogConfig(
            structlog_logging_config=StructLoggingConfig(
                processors=[*_SHARED, _RENDER],
                logger_factory=structlog.PrintLoggerFactory(file=_CurrentStdout()),  # type: ignore[arg-type]
                wrapper_class=structlog.make_filtering_bound_logger(_level(level)),
                # Reconfiguration (a second app in one process, tests) must reach module loggers.
                cache_logger_on_first_use=False,
                # The problem handler logs what it maps, and bugs with a plain traceback.
                log_exceptions="never",
                pretty_print_tty=False,
            ),
            middleware_logging_config=LoggingMiddlewareConfig(
                request_log_fields=REQUEST_LOG_FIELDS,
                response_log_fields=RESPONSE_LOG_FIELDS,
                request_headers_to_obfuscate=obfuscate,
                response_headers_to_obfuscate=obfuscate,
                exclude=list(PROBE_PATHS),
            ),
            enable_middleware_logging=access_log,
        )
    )


def configure_stdlib_logging(level: str) -> None:
    """Route standard-library log records to stdout as the same JSON lines (call once at start)."""
    handler = logging.StreamHandler(_CurrentStdout())
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[structlog.stdlib.add_logger_name, *_SHARED],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, _RENDER],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(_level(level))


class RepeatFilter(logging.Filter):
    """One record per distinct message and interval: a client library that logs every failed
    reconnect (ten a second during an outage) would bury everything else."""

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


def quiet_repeated_logs(package: str) -> None:
    """Attach one `RepeatFilter` to a package's logger and every child logger that exists
    (filters do not propagate to children)."""
    repeat_filter = RepeatFilter()
    names = [name for name in logging.root.manager.loggerDict if name.split(".")[0] == package]
    for name in [package, *names]:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RepeatFilter) for f in logger.filters):
            logger.addFilter(repeat_filter)
