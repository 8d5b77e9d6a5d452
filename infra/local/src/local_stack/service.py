"""What every server has in common: a state folder, a command, ports and a readiness check.

`supervisor` starts and stops any `Service`; the per-server modules only say how theirs runs.
"""

from __future__ import annotations

import signal
import sys
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import ClassVar

from local_stack.config import StackConfig
from local_stack.ports import PortUse

Progress = Callable[[str], None]


def print_progress(message: str) -> None:
    """Default progress sink: stderr, so `up`'s stdout stays machine-readable."""
    print(f"[local-stack] {message}", file=sys.stderr, flush=True)


class Service(ABC):
    name: ClassVar[str]
    stop_signal: ClassVar[signal.Signals] = signal.SIGTERM
    stop_timeout: ClassVar[float] = 30.0

    def __init__(self, config: StackConfig, progress: Progress = print_progress) -> None:
        self.config = config
        self.progress = progress

    @property
    def directory(self) -> Path:
        """This server's folder in the state dir: data, version stamp, log and pid file."""
        return self.config.state_dir / self.name

    @property
    def log_path(self) -> Path:
        return self.directory / f"{self.name}.log"

    @property
    def pid_path(self) -> Path:
        return self.directory / f"{self.name}.pid"

    @abstractmethod
    def address(self) -> str:
        """Where clients connect (host:port or a DSN)."""

    @abstractmethod
    def client_env(self) -> dict[str, str]:
        """The variables a client reads to find this server (`KAFKA_BOOTSTRAP_SERVERS`, ...)."""

    @abstractmethod
    def port_uses(self) -> list[PortUse]:
        """Ports this server binds, each with the variable that moves it."""

    @abstractmethod
    def prepare(self) -> None:
        """One-time and per-start work before the process runs (download, format, initdb)."""

    @abstractmethod
    def command(self) -> list[str]:
        """The server's command line, run in its own session."""

    @abstractmethod
    def is_ready(self) -> bool:
        """A real check that clients can use the server now."""

    def process_env(self) -> Mapping[str, str] | None:
        """Environment for the server process; None inherits ours."""
        return None
