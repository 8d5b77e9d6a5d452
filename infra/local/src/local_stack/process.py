"""Detached server processes: started in their own session, tracked by pid file, stopped fully.

A server outlives the CLI that started it, so its identity lives in a pid file. The file also
records the process start time, so a pid reused after a reboot is never mistaken for ours.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from local_stack.errors import CorruptPidFileError, LocalStackError

_POLL = 0.05


@dataclass(frozen=True)
class PidRecord:
    """The pid and kernel start time of a server process (its session and group leader)."""

    pid: int
    start_time: int


def spawn(
    command: Sequence[str],
    log_path: Path,
    pid_path: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> PidRecord:
    """Start `command` in a new session, output appended to `log_path`, and record its pid."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(  # - the command is built by local_stack itself
            list(command),  # noqa: S603
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=None if env is None else dict(env),
            cwd=cwd,
        )
    record = PidRecord(proc.pid, _start_time(proc.pid) or 0)
    write_pid(pid_path, record)
    return record


def write_pid(pid_path: Path, record: PidRecord) -> None:
    tmp = pid_path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"pid": record.pid, "start_time": record.start_time}))
    tmp.replace(pid_path)


def read_pid(pid_path: Path) -> PidRecord | None:
    """The recorded process if it still runs; a stale pid file is removed.

    A pid file that exists but cannot be read raises `CorruptPidFileError` (and stays): treating it
    as "not running" could start a second server on the same data.
    """
    try:
        text = pid_path.read_text()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise CorruptPidFileError(pid_path, error.strerror or type(error).__name__) from error
    try:
        data = json.loads(text)
        record = PidRecord(int(data["pid"]), int(data["start_time"]))
    except (ValueError, KeyError, TypeError) as error:
        raise CorruptPidFileError(pid_path, f"not a pid record: {type(error).__name__}") from error
    if is_running(record):
        return record
    pid_path.unlink(missing_ok=True)
    return None


def is_running(record: PidRecord) -> bool:
    """True while the process lives and is the one we started (zombies count as gone)."""
    _reap(record.pid)
    start = _start_time(record.pid)
    if start is None:
        return False
    return record.start_time in (0, start)


def group_members(pgid: int) -> list[int]:
    """Live processes of a process group: a server's helpers must go with it."""
    members: list[int] = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        stat = _stat_fields(int(entry.name))
        if stat is not None and stat[2] != "Z" and int(stat[4]) == pgid:
            members.append(int(entry.name))
    return members


def stop(record: PidRecord, first_signal: signal.Signals, timeout: float) -> bool:
    """Ask the server to stop, wait up to `timeout`, then SIGKILL what is left of its group.

    Returns True if the server exited on its own, False if it had to be killed. Helpers that
    outlive an exited server (a leak, not a shutdown in progress) are killed at once.
    """
    if not is_running(record):
        _kill_group(record.pid)
        return True
    with contextlib.suppress(ProcessLookupError):
        os.kill(record.pid, first_signal)
    graceful = _wait_gone(record, timeout)
    _kill_group(record.pid)
    return graceful


def _wait_gone(record: PidRecord, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not is_running(record):
            return True
        time.sleep(_POLL)
    return False


def _kill_group(pgid: int) -> None:
    """SIGKILL whatever is left in the group (the server was its session leader)."""
    deadline = time.monotonic() + 10.0
    while group_members(pgid):
        if time.monotonic() > deadline:
            raise LocalStackError(
                f"processes {group_members(pgid)} of group {pgid} survived SIGKILL for 10 s "
                f"(stuck in the kernel?); check them with `ps -o pid,stat,cmd -g {pgid}`."
            )
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
        _reap(pgid)
        time.sleep(_POLL)


def _reap(pid: int) -> None:
    """Collect the exit status if the server is our own child, so it does not linger as a zombie."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def _stat_fields(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name: state is [2], pgrp [4], start [21]."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    head, _, tail = raw.rpartition(")")
    if not head:
        return None
    return ["", "", *tail.split()]


def _start_time(pid: int) -> int | None:
    fields = _stat_fields(pid)
    if fields is None or fields[2] == "Z":
        return None
    return int(fields[21])
