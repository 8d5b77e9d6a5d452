"""What the host did during a measurement: a server process's CPU time and the CPU stolen by the
hypervisor (Linux `/proc`). Benchmarks on shared vCPUs move with their neighbours; these numbers
let a reader tell a slower host from a slower service."""

import os
from dataclasses import dataclass
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def process_cpu_seconds(pid: int) -> float | None:
    """User plus system CPU seconds so far of `pid` and its live descendants (`feast serve` answers
    from gunicorn workers); None where `/proc` is not available."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    own = (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime (fields 14 and 15 of stat)
    return own + sum(process_cpu_seconds(child) or 0.0 for child in _children(pid))


def _cpu_ticks() -> tuple[int, int] | None:
    """(steal, total) ticks over all CPUs since boot."""
    try:
        first = Path("/proc/stat").read_text().splitlines()[0].split()
    except OSError:
        return None
    values = [int(value) for value in first[1:9]]  # user nice system idle iowait irq softirq steal
    return values[7], sum(values)


@dataclass
class HostSample:
    cpu_seconds: float | None
    ticks: tuple[int, int] | None

    @classmethod
    def take(cls, pid: int) -> "HostSample":
        return cls(process_cpu_seconds(pid), _cpu_ticks())

    def since(self, before: "HostSample", requests: int) -> dict[str, float | None]:
        """Server CPU per request (us) and the share of all CPU time stolen (%) between samples."""
        cpu_us = None
        if self.cpu_seconds is not None and before.cpu_seconds is not None and requests:
            cpu_us = (self.cpu_seconds - before.cpu_seconds) / requests * 1e6
        steal = None
        if self.ticks is not None and before.ticks is not None and self.ticks[1] > before.ticks[1]:
            steal = 100.0 * (self.ticks[0] - before.ticks[0]) / (self.ticks[1] - before.ticks[1])
        return {"server_cpu_us_per_request": cpu_us, "host_steal_percent": steal}
