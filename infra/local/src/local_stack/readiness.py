"""Waiting for a server by asking it, never by sleeping a fixed time.

The loop polls a real check (protocol request, HTTP call, pg_isready) and gives up early with
the log tail if the process has died, so a failed start is reported in seconds, not at timeout.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from local_stack.errors import ServiceStartError

_INTERVAL = 0.1


def log_tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


def wait_until_ready(
    service: str,
    is_ready: Callable[[], bool],
    is_alive: Callable[[], bool],
    log_path: Path,
    timeout: float,
) -> float:
    """Poll `is_ready` until it holds; return the seconds waited. Raises if the server dies."""
    start = time.monotonic()
    deadline = start + timeout
    while True:
        if is_ready():
            return time.monotonic() - start
        if not is_alive():
            raise ServiceStartError(
                f"{service} exited during start-up. Last lines of {log_path}:\n{log_tail(log_path)}"
            )
        if time.monotonic() > deadline:
            raise ServiceStartError(
                f"{service} was not ready after {timeout:.0f} s (raise LOCAL_STACK_START_TIMEOUT "
                f"on a slow machine). Last lines of {log_path}:\n{log_tail(log_path)}"
            )
        time.sleep(_INTERVAL)
