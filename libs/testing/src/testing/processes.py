"""Server subprocesses for tests: a free loopback port, the test's import path for the child, and
a readiness probe (an HTTP GET that must answer 200) instead of sleeps.

Stdlib only, so that every resolve's tests can use it.
"""

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType


def free_port() -> int:
    """A loopback port that nothing listens on right now (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This interpreter's import path for a child process (under Pants, packages live on sys.path)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(path for path in sys.path if path)
    env.update(extra or {})
    return env


def http_ok(url: str, timeout_seconds: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout_seconds) as response:  # noqa: S310 (loopback URL we built)
            return bool(response.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


@dataclass
class ServerProcess:
    """A started server; `stop()` (or leaving the `with` block) terminates it and waits."""

    process: subprocess.Popen[bytes]
    log_path: Path
    base_url: str
    stop_timeout_seconds: float = field(default=30.0)

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=self.stop_timeout_seconds)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> "ServerProcess":
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def start_server(
    command: Sequence[str],
    *,
    base_url: str,
    ready_path: str,
    log_path: Path,
    env: Mapping[str, str] | None = None,
    timeout_seconds: float = 120.0,
) -> ServerProcess:
    """Start `command`; return once `GET {base_url}{ready_path}` answers 200, or raise with its log."""
    with log_path.open("wb") as log:
        argv = list(command)  # from the test itself; no shell
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=child_env(env))  # noqa: S603
    server = ServerProcess(process=process, log_path=log_path, base_url=base_url)
    deadline = time.monotonic() + timeout_seconds
    while not http_ok(base_url + ready_path):
        try:
            # Waiting on the process is the pause between probes, and notices an early exit.
            code: int | None = process.wait(timeout=0.1)
        except subprocess.TimeoutExpired:
            code = None
        if code is not None or time.monotonic() > deadline:
            server.stop()
            what = f"exited with {code}" if code is not None else f"not ready after {timeout_seconds:.0f} s"
            raise RuntimeError(f"{command[0]} {what}:\n{server.log_tail()}")
    return server
