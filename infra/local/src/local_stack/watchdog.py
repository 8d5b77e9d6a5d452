"""Stops a test-owned stack if the process that owns it dies without cleaning up.

Servers run in their own sessions, so a pytest killed by a timeout would leave them behind; this
small process waits for its owner's death (a pidfd, no polling) and then runs `down`.
"""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from local_stack.config import StackConfig


def spawn_watchdog(owner_pid: int, state_dir: Path, remove_state: bool) -> subprocess.Popen[bytes]:
    """Start the watchdog in its own session, so whatever kills the owner's group spares it."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    command = [sys.executable, "-m", "local_stack.watchdog", str(owner_pid), str(state_dir)]
    if remove_state:
        command.append("--remove-state")
    return subprocess.Popen(
        command,  # noqa: S603
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env=env,
    )


def wait_for_exit(pid: int) -> None:
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    try:
        select.select([fd], [], [])
    finally:
        os.close(fd)


def _quiet(_message: str) -> None:
    """Nobody reads a watchdog's output."""


def main(argv: Sequence[str] | None = None) -> int:
    from local_stack.stack import LocalStack

    args = list(sys.argv[1:] if argv is None else argv)
    owner_pid, state_dir = int(args[0]), Path(args[1])
    wait_for_exit(owner_pid)
    LocalStack(StackConfig(state_dir=state_dir, cache_dir=state_dir), progress=_quiet).down()
    if "--remove-state" in args:
        shutil.rmtree(state_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
