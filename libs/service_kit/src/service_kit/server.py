"""Process start: settings validated before anything binds a port, then uvicorn."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TypeVar

import uvicorn
from litestar import Litestar

from service_config import ConfigurationError
from service_kit.logs import configure_stdlib_logging

__all__ = ["run_server", "settings_or_exit"]

SettingsT = TypeVar("SettingsT")

CONFIGURATION_EXIT_CODE = 2


def settings_or_exit(service: str, get_settings: Callable[[], SettingsT]) -> SettingsT:
    """The service's settings, or exit 2 with the message naming every variable to fix."""
    try:
        return get_settings()
    except ConfigurationError as exc:
        print(f"{service}: {exc}", file=sys.stderr)
        raise SystemExit(CONFIGURATION_EXIT_CODE) from None


def run_server(
    app: Litestar, *, host: str, port: int, log_level: str, graceful_shutdown_seconds: int | None = None
) -> None:
    """Serve `app` until SIGTERM/SIGINT, every log line as JSON on stdout.

    uvicorn's access log is off: a service logs requests through its app (`structlog_plugin`'s
    `access_log`), with secret headers obfuscated.
    """
    configure_stdlib_logging(log_level)
    uvicorn.run(
        app,
        host=host,
        port=port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,
        server_header=False,
        log_config=None,
        log_level=log_level.lower(),
        timeout_graceful_shutdown=graceful_shutdown_seconds,
    )
