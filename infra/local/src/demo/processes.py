"""The services as child processes: own session, log file, readiness polled, stopped fully.

Unlike `local_stack`'s servers these belong to one run: they never outlive the demo, so no pid
files. Stopping sends SIGTERM to the whole process group, waits, then SIGKILLs what is left.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from local_stack.process import group_members

# Loopback only: a proxy from the environment must never see a readiness check.
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))
_POLL_SECONDS = 0.2


class ServiceStartError(Exception):
    """A service exited or never became ready; the message ends with the tail of its log."""


def http_ok(url: str, timeout: float = 2.0) -> bool:
    """True if `url` answers 2xx."""
    try:
        with _NO_PROXY.open(url, timeout=timeout) as response:
            return 200 <= int(response.status) < 300
    except (OSError, urllib.error.URLError, ValueError):
        return False


def http_text(url: str, timeout: float = 5.0) -> str:
    with _NO_PROXY.open(url, timeout=timeout) as response:
        return bytes(response.read()).decode()


@dataclass
class ServiceProcess:
    """One service: its command, environment, log file and readiness check."""

    name: str
    command: Sequence[str]
    env: Mapping[str, str]
    log_path: Path
    ready: Callable[[], bool]
    """A real check that the service does its job now (a health route, a poller on the queue)."""
    links: dict[str, str] = field(default_factory=dict)
    """Addresses worth printing (OpenAPI page, metrics)."""
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                list(self.command),  # noqa: S603 - the command is built by the demo
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env=dict(self.env),
            )

    def wait_ready(self, timeout: float) -> float:
        """Seconds until ready; raises `ServiceStartError` if the process exits or the time runs out."""
        started = time.monotonic()
        while True:
            if self.process is None or self.process.poll() is not None:
                code = None if self.process is None else self.process.returncode
                raise ServiceStartError(f"{self.name} exited with code {code} before it was ready\n{self.log_tail()}")
            if self.ready():
                return time.monotonic() - started
            if time.monotonic() - started > timeout:
                raise ServiceStartError(f"{self.name} not ready after {timeout:.0f} s\n{self.log_tail()}")
            time.sleep(_POLL_SECONDS)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM the process group, wait up to `timeout`, SIGKILL whatever is left of it."""
        if self.process is None:
            return
        pgid = self.process.pid
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout)
        deadline = time.monotonic() + 10.0
        while group_members(pgid) and time.monotonic() < deadline:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)
            time.sleep(0.05)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(5)

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return f"(no log at {self.log_path})"
        tail = "\n".join(text.splitlines()[-lines:])
        return f"--- last lines of {self.log_path} ---\n{tail}"
