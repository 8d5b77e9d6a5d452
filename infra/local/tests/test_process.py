"""Stopping leaves nothing behind: not the server, not its helpers, not a stubborn process."""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

import pytest

from local_stack.errors import CorruptPidFileError
from local_stack.process import group_members, is_running, read_pid, spawn, stop

IGNORES_SIGTERM = (
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('up', flush=True); time.sleep(600)"
)
SPAWNS_A_HELPER = (
    "import subprocess, sys, time; "
    "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)']); time.sleep(600)"
)


def test_spawn_records_a_pid_that_stop_clears(tmp_path: Path) -> None:
    record = spawn([sys.executable, "-c", "import time; time.sleep(600)"], tmp_path / "s.log", tmp_path / "s.pid")
    assert read_pid(tmp_path / "s.pid") == record

    assert stop(record, signal.SIGTERM, timeout=10) is True

    assert not is_running(record)
    assert read_pid(tmp_path / "s.pid") is None
    assert not (tmp_path / "s.pid").exists()


def test_a_process_ignoring_sigterm_is_killed(tmp_path: Path) -> None:
    record = spawn([sys.executable, "-c", IGNORES_SIGTERM], tmp_path / "s.log", tmp_path / "s.pid")
    while "up" not in (tmp_path / "s.log").read_text():
        time.sleep(0.01)  # polls for the line that says the handler is installed

    assert stop(record, signal.SIGTERM, timeout=0.5) is False

    assert not is_running(record)


def test_helpers_in_the_servers_group_go_too(tmp_path: Path) -> None:
    record = spawn([sys.executable, "-c", SPAWNS_A_HELPER], tmp_path / "s.log", tmp_path / "s.pid")
    while len(group_members(record.pid)) < 2:
        time.sleep(0.01)  # polls until the helper exists

    stop(record, signal.SIGTERM, timeout=10)

    assert group_members(record.pid) == []


def test_a_pid_file_of_a_dead_process_is_stale(tmp_path: Path) -> None:
    record = spawn([sys.executable, "-c", "pass"], tmp_path / "s.log", tmp_path / "s.pid")
    stop(record, signal.SIGTERM, timeout=10)

    assert read_pid(tmp_path / "s.pid") is None


@pytest.mark.parametrize("content", ["", "{not json", '{"pid": 12}', '{"pid": "x", "start_time": 1}', "[1, 2]"])
def test_a_corrupt_pid_file_is_refused_not_taken_for_a_stopped_server(tmp_path: Path, content: str) -> None:
    pid_path = tmp_path / "s.pid"
    pid_path.write_text(content)
    with pytest.raises(CorruptPidFileError, match="s.pid cannot be read") as error:
        read_pid(pid_path)
    assert "delete" in str(error.value)
    assert pid_path.read_text() == content  # kept for the person to look at


def test_no_pid_file_means_not_running(tmp_path: Path) -> None:
    assert read_pid(tmp_path / "s.pid") is None
