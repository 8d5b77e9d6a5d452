"""A test run killed mid-way (a Pants timeout, say) leaves no server behind."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from local_stack import LocalStack, StackConfig

OWNER = """
import dataclasses, json, os, signal, sys
from pathlib import Path
from local_stack import LocalStack, StackConfig
from local_stack.config import Ports
from local_stack.ports import free_ports
from local_stack.watchdog import spawn_watchdog

state = Path(sys.argv[1])
config = dataclasses.replace(StackConfig.from_env(), state_dir=state, ports=Ports(*free_ports(7)))
stack = LocalStack(config)
(status,) = stack.up(["temporal"])
spawn_watchdog(os.getpid(), state, remove_state=False)
print(json.dumps({"pid": status.pid}), flush=True)
os.kill(os.getpid(), signal.SIGKILL)  # die without any cleanup
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_servers_stop_when_their_owner_is_killed() -> None:
    state_dir = Path(tempfile.mkdtemp(prefix="local-stack-watchdog-"))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    try:
        owner = subprocess.run(
            [sys.executable, "-c", OWNER, str(state_dir)],  # noqa: S603
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        server_pid = int(json.loads(owner.stdout.strip().splitlines()[-1])["pid"])

        deadline = time.monotonic() + 60
        while _alive(server_pid) and time.monotonic() < deadline:
            time.sleep(0.05)  # polls for the watchdog's `down` to finish

        assert owner.returncode == -9
        assert not _alive(server_pid), "the server outlived its killed owner"
    finally:
        LocalStack(StackConfig(state_dir=state_dir, cache_dir=state_dir)).down()
        shutil.rmtree(state_dir, ignore_errors=True)
