"""Start, stop and inspect one server, whatever it is.

Starting is idempotent (a running, ready server is left alone) and serialised per server by a
lock, so two `up`s or two test processes sharing a state dir cannot start it twice.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from local_stack.locking import file_lock
from local_stack.ports import ensure_free
from local_stack.process import is_running, read_pid, spawn, stop
from local_stack.readiness import wait_until_ready
from local_stack.service import Service


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    running: bool
    pid: int | None
    address: str
    log_path: Path


def status(service: Service) -> ServiceStatus:
    record = read_pid(service.pid_path)
    return ServiceStatus(
        name=service.name,
        running=record is not None,
        pid=record.pid if record else None,
        address=service.address(),
        log_path=service.log_path,
    )


def start(service: Service) -> ServiceStatus:
    """Start the server unless it already runs, and return once it is ready for clients."""
    timeout = service.config.start_timeout
    with file_lock(service.directory / ".lock"):
        record = read_pid(service.pid_path)
        if record is None:
            ensure_free(service.name, service.config.host, service.port_uses())
            service.prepare()
            _mark_log(service)
            record = spawn(
                service.command(),
                service.log_path,
                service.pid_path,
                env=service.process_env(),
                cwd=service.directory,
            )
            service.progress(f"starting {service.name} (pid {record.pid})")
        started = record
        try:
            waited = wait_until_ready(
                service.name,
                service.is_ready,
                lambda: is_running(started),
                service.log_path,
                timeout,
            )
        except BaseException:
            stop(started, service.stop_signal, service.stop_timeout)
            service.pid_path.unlink(missing_ok=True)
            raise
        service.progress(f"{service.name} ready at {service.address()} ({waited:.1f} s)")
    return status(service)


def halt(service: Service) -> bool:
    """Stop the server and everything it spawned; True if one was running."""
    if not service.directory.exists():
        return False
    with file_lock(service.directory / ".lock"):
        record = read_pid(service.pid_path)
        if record is None:
            return False
        service.progress(f"stopping {service.name} (pid {record.pid})")
        graceful = stop(record, service.stop_signal, service.stop_timeout)
        if not graceful:
            service.progress(f"{service.name} ignored {service.stop_signal.name}; killed it")
        service.pid_path.unlink(missing_ok=True)
        return True


def _mark_log(service: Service) -> None:
    service.directory.mkdir(parents=True, exist_ok=True)
    with open(service.log_path, "a") as log:
        log.write(f"\n===== local_stack: starting {service.name} at {time.ctime()} =====\n")
