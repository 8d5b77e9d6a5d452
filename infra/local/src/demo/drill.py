"""The fault drill (`demo -- --drill`): faults while wave 1 is being sent.

While the simulator sends (slowed down with `--rate`, so the faults land mid-stream): the
normalizer is SIGKILLed and started again, then the orchestrator worker, then the broker
(local_stack's Kafka) is stopped and started on the same data and port. Each restarted part is
polled until ready by the same check as at start-up. The wave is then settled and reconciled like
any other: nothing may be lost, and no payment decided twice.
"""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from collections.abc import Callable

from demo.platform import TASK_QUEUE, Platform, poller_identities
from demo.watchdog import PID_DIR
from local_stack import supervisor
from local_stack.kafka import KafkaService
from local_stack.process import stop

DRILL_RATE = 8.0
"""Requests per second of wave 1 in a drill: the stream lasts long enough for every fault."""


class Drill(threading.Thread):
    """Runs the faults in the background while the wave is sent; `join()` then `check()`."""

    def __init__(self, platform: Platform, ready_timeout: float, published: Callable[[], int]) -> None:
        super().__init__(name="drill", daemon=True)
        self.platform = platform
        self.ready_timeout = ready_timeout
        self.published = published
        """Envelopes the gateway has published so far in this wave."""
        self.log: list[str] = []
        self.error: BaseException | None = None
        self._t0 = time.monotonic()

    def _note(self, message: str) -> None:
        entry = f"+{time.monotonic() - self._t0:5.1f} s  {message}"
        self.log.append(entry)
        self.platform.progress(f"drill: {entry}")

    def _wait_published(self, count: int) -> None:
        deadline = time.monotonic() + self.ready_timeout
        while self.published() < count and time.monotonic() < deadline:
            time.sleep(0.2)

    def _kill_and_restart(self, name: str, ready: Callable[[], bool] | None = None) -> None:
        service = self.platform.services[name]
        assert service.record is not None, f"{name} was never started"
        if ready is not None:
            service.ready = ready
        stop(service.record, signal.SIGKILL, 10.0)
        self._note(f"SIGKILLed {name} (pid {service.record.pid}) after {self.published()} envelopes published")
        service.start(self.platform.run_dir / PID_DIR)
        seconds = service.wait_ready(self.ready_timeout)
        self._note(f"{name} restarted (pid {service.record.pid}), ready in {seconds:.1f} s")

    def _restart_broker(self) -> None:
        kafka = next(server for server in self.platform.servers if isinstance(server, KafkaService))
        supervisor.halt(kafka)
        self._note(f"stopped the broker after {self.published()} envelopes published")
        started = time.monotonic()
        supervisor.start(kafka)
        self._note(f"broker started again, ready in {time.monotonic() - started:.1f} s")

    def run(self) -> None:
        try:
            self._wait_published(20)
            self._kill_and_restart("normalizer")
            self._wait_published(self.published() + 20)
            # Temporal keeps listing the killed worker's poller: ready once a new identity polls.
            address = self.platform.temporal_address
            before = asyncio.run(poller_identities(address, TASK_QUEUE))
            self._kill_and_restart("worker", lambda: bool(asyncio.run(poller_identities(address, TASK_QUEUE)) - before))
            self._wait_published(self.published() + 20)
            self._restart_broker()
        except BaseException as error:  # noqa: BLE001 - handed to the main thread by check()
            self.error = error

    def check(self) -> list[str]:
        """The drill's log; raises what went wrong in the drill itself."""
        if self.error is not None:
            raise RuntimeError(f"the drill failed: {self.error!r}") from self.error
        return self.log
