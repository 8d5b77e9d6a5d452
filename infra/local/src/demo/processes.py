"""The services as child processes: own session, log file, readiness polled, stopped fully.

They belong to one run: the demo stops them on the way out, and its watchdog (`demo.watchdog`)
stops them from their pid files if the demo is killed first. Stopping sends SIGTERM to the whole
process group, waits, then SIGKILLs what is left.
"""

from __future__ import annotations

import signal
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from local_stack.process import PidRecord, is_running, read_pid, spawn, stop

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
    """One service: its command, environment, log file and readiness check.

    Started in its own session with a pid file (`local_stack.process`), so the demo's watchdog
    can stop the whole process group even if the demo itself is killed.
    """

    name: str
    command: Sequence[str]
    env: Mapping[str, str]
    log_path: Path
    ready: Callable[[], bool]
    """A real check that the service does its job now (a health route, a poller on the queue)."""
    links: dict[str, str] = field(default_factory=dict)
    """Addresses worth printing (OpenAPI page, metrics)."""
    record: PidRecord | None = None

    def start(self, pid_dir: Path) -> None:
        pid_dir.mkdir(parents=True, exist_ok=True)
        self.record = spawn(self.command, self.log_path, pid_dir / f"{self.name}.pid", env=self.env)

    def wait_ready(self, timeout: float) -> float:
        """Seconds until ready; raises `ServiceStartError` if the process exits or time runs out."""
        started = time.monotonic()
        while True:
            if not self.alive():
                raise ServiceStartError(f"{self.name} exited before it was ready\n{self.log_tail()}")
            if self.ready():
                return time.monotonic() - started
            if time.monotonic() - started > timeout:
                raise ServiceStartError(f"{self.name} not ready after {timeout:.0f} s\n{self.log_tail()}")
            time.sleep(_POLL_SECONDS)

    def alive(self) -> bool:
        return self.record is not None and is_running(self.record)

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM, wait up to `timeout`, then SIGKILL whatever is left of the process group."""
        if self.record is not None:
            stop(self.record, signal.SIGTERM, timeout)

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return f"(no log at {self.log_path})"
        tail = "\n".join(text.splitlines()[-lines:])
        return f"--- last lines of {self.log_path} ---\n{tail}"


def stop_all(stoppers: Sequence[Callable[[], object]]) -> None:
    """Run every stop at once (each waits for its own process): the slowest one sets the time,
    not their sum. Raises the first error once all of them have run."""
    if not stoppers:
        return
    with ThreadPoolExecutor(max_workers=len(stoppers), thread_name_prefix="stop") as pool:
        futures = [pool.submit(stopper) for stopper in stoppers]
    errors = [future.exception() for future in futures if future.exception() is not None]
    if errors:
        raise errors[0]  # type: ignore[misc]  # an exception, filtered above


def stop_recorded(pid_dir: Path, timeout: float = 15.0) -> None:
    """Stop every service whose pid file is in `pid_dir`, all at once (what the watchdog does)."""

    def stopper(pid_path: Path) -> Callable[[], None]:
        def stop_one() -> None:
            record = read_pid(pid_path)
            if record is not None:
                stop(record, signal.SIGTERM, timeout)
            pid_path.unlink(missing_ok=True)

        return stop_one

    stop_all([stopper(pid_path) for pid_path in sorted(pid_dir.glob("*.pid"))])
