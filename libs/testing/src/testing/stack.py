"""One local stack per pytest process: started on demand, on free ports, in a temporary dir.

Fixtures that find no server in the environment start theirs here. The stack is stopped when
pytest finishes; a watchdog stops it too if pytest is killed before it can clean up.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

from local_stack import LocalStack, StackConfig
from local_stack.config import Ports
from local_stack.ports import free_ports
from local_stack.watchdog import spawn_watchdog

_stacks: dict[int, LocalStack] = {}


def _progress(message: str) -> None:
    print(f"[testing] {message}", file=sys.stderr, flush=True)


def owned_stack_for(config: pytest.Config) -> LocalStack:
    """The stack this pytest process owns; created (no server started yet) on first use."""
    key = id(config)
    if key not in _stacks:
        _stacks[key] = _new_stack(config)
    return _stacks[key]


def _new_stack(config: pytest.Config) -> LocalStack:
    state_dir = Path(tempfile.mkdtemp(prefix="local-stack-"))
    # PostgreSQL may run as another OS user (we may be root); it must reach its data folder.
    state_dir.chmod(0o755)
    defaults = StackConfig.from_env()
    stack_config = dataclasses.replace(
        defaults, state_dir=state_dir, ports=Ports(*free_ports(len(dataclasses.fields(Ports))))
    )
    stack = LocalStack(stack_config, progress=_progress)
    watchdog = spawn_watchdog(os.getpid(), state_dir, remove_state=True)

    def stop_stack() -> None:
        watchdog.terminate()
        watchdog.wait()
        try:
            stack.down()
        finally:
            shutil.rmtree(state_dir, ignore_errors=True)
            _stacks.pop(id(config), None)

    config.add_cleanup(stop_stack)
    return stack


@pytest.fixture(scope="session")
def owned_stack(request: pytest.FixtureRequest) -> LocalStack:
    """A stack this process started, never one from the environment: tests may restart it."""
    return owned_stack_for(request.config)
