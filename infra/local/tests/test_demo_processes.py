"""The demo's stop helper: every stop runs at once, and errors are not swallowed."""

from __future__ import annotations

import threading
from functools import partial

import pytest
from demo.processes import stop_all


def test_stops_run_at_once() -> None:
    # Each stop waits until all three are running: run one after another, the first would time
    # out waiting for the others and break the barrier.
    barrier = threading.Barrier(3, timeout=10)
    stopped: list[int] = []

    def stopper(n: int) -> None:
        barrier.wait()
        stopped.append(n)

    stop_all([partial(stopper, n) for n in range(3)])
    assert sorted(stopped) == [0, 1, 2]


def test_an_error_is_raised_after_every_stop_ran() -> None:
    ran: list[str] = []

    def failing() -> None:
        ran.append("failing")
        raise RuntimeError("could not stop")

    with pytest.raises(RuntimeError, match="could not stop"):
        stop_all([failing, lambda: ran.append("other")])
    assert sorted(ran) == ["failing", "other"]


def test_nothing_to_stop() -> None:
    stop_all([])
