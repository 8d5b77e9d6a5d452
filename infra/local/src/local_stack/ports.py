"""Port checks before a start, so a clash is reported by port and setting, not by a server log."""

from __future__ import annotations

import random
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from local_stack.errors import LocalStackError, PortInUseError

_LOWEST_PORT = 10_000  # above the well-known and most registered service ports


@dataclass(frozen=True)
class PortUse:
    """A port a service listens on, and the variable that moves it."""

    port: int
    setting: str


def is_free(host: str, port: int) -> bool:
    """True if nothing listens on host:port (a port in TIME_WAIT counts as free, as for servers)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def ensure_free(service: str, host: str, uses: Iterable[PortUse]) -> None:
    for use in uses:
        if not is_free(host, use.port):
            raise PortInUseError(service, use.port, use.setting)


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """Distinct ports that are free now, chosen below the kernel's ephemeral range.

    A port from the ephemeral range (what `bind(0)` returns) can be taken at any moment as the
    local end of some client's connection, e.g. while a server restarts on it; ports below the
    range are only ever taken by a deliberate bind.
    """
    low, _ = _ephemeral_range()
    candidates = list(range(_LOWEST_PORT, low))
    random.shuffle(candidates)
    chosen = [port for port in candidates[: 50 * count] if is_free(host, port)][:count]
    if len(chosen) < count:
        raise LocalStackError(
            f"found only {len(chosen)} of {count} free ports between {_LOWEST_PORT} and {low}; "
            "stop some servers or set the LOCAL_STACK_*_PORT variables yourself."
        )
    return chosen


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999  # Linux's default


def accepts_connections(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False
