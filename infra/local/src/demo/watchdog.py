"""`python -m demo.watchdog <demo pid> <run dir>`: stops a run's services and servers once the
demo process is gone, however it died (SIGKILL, a cancelled test), so nothing is left running."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from functools import partial
from pathlib import Path

from demo.processes import stop_all, stop_recorded
from local_stack.config import StackConfig
from local_stack.stack import SERVICE_NAMES, LocalStack
from local_stack.watchdog import wait_for_exit

PID_DIR = "pids"
STACK_DIR = "stack"


def spawn_watchdog(owner_pid: int, run_dir: Path) -> subprocess.Popen[bytes]:
    """The watchdog in its own session, so whatever kills the demo's process group spares it."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    return subprocess.Popen(
        [sys.executable, "-m", "demo.watchdog", str(owner_pid), str(run_dir)],  # noqa: S603 - our own module
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env=env,
    )


def _quiet(_message: str) -> None:
    """Nobody reads a watchdog's output."""


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    owner_pid, run_dir = int(args[0]), Path(args[1])
    wait_for_exit(owner_pid)
    stop_recorded(run_dir / PID_DIR)
    stack_dir = run_dir / STACK_DIR
    stack = LocalStack(StackConfig(state_dir=stack_dir, cache_dir=stack_dir), progress=_quiet)
    stop_all([partial(stack.down, [name]) for name in SERVICE_NAMES])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
