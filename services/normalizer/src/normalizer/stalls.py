"""A watchdog for input partitions whose committed offset stopped moving: seek them back.

Faust drops records it has already fetched when a rebalance or a recovery stops its flow in the
middle of a fetched batch, and counts on a seek to the committed offsets to fetch them again.
When a record is lost that way after the seek, its offset is never acknowledged, and Faust,
which commits only consecutive acknowledged offsets, never commits that partition again: the
worker goes on with everything after it, and the whole rest of the partition comes again after
the next restart (seen in our integration tests, about one worker start in ten on a loaded host).
Nothing is lost, yet nothing is committed either.

Every `NORMALIZER_STALL_SECONDS` the watchdog reads the group's committed offsets from the broker
and compares them with what this worker's agents handled. A partition of this worker is stalled
when its committed offset has not moved since the previous look although records past it had
already been handled at that previous look (or are waiting on the broker and none arrived
since: past the commit, or past the log start in a partition the group never committed), and its
agent has no batch filling or waiting for acknowledgements. The broker's start and end offsets are
asked each look, not taken from what the consumer fetched, which may be nothing. A look the broker
does not answer is skipped. It is then sought back to its committed
offset (the log start when it has none): the lost record comes again; the ones after it come again too, and the dedupe table drops
those that were normalized (dead letters may be written twice, with the same `dlq_id`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from aiokafka.admin import AIOKafkaAdminClient  # type: ignore[import-untyped]  # no py.typed
from aiokafka.errors import KafkaError  # type: ignore[import-untyped]  # no py.typed
from faust.types import TP

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PartitionState:
    """One input partition as the watchdog sees it at one look."""

    committed: int
    """The group's committed offset (the next record to read); -1 when nothing was committed."""
    handled_end: int
    """One past the highest offset this worker's agent acknowledged; 0 when none."""
    highwater: int
    """One past the last record on the broker (the broker's end offset)."""
    received_at: float
    """`time.monotonic()` of the last record the agent received from it; 0.0 when none."""
    busy: bool
    """The agent has a batch that is waiting for acknowledgements or still filling."""
    start: int = 0
    """The partition's first record on the broker (its log start): where a group that never
    committed it reads from."""

    @property
    def next_record(self) -> int:
        """The next record the group reads: its commit, or the log start when it has none."""
        return self.committed if self.committed >= 0 else self.start


@dataclass(frozen=True)
class Look:
    at: float
    partitions: Mapping[TP, PartitionState]


def stalled(previous: Look, current: Look) -> list[TP]:
    """Partitions whose commit did not move between two looks though it should have."""
    found = []
    for tp, now in current.partitions.items():
        before = previous.partitions.get(tp)
        if before is None or now.busy or now.committed != before.committed:
            continue
        # Handled past the commit already at the previous look: a commit that merely lags the
        # last second of acknowledgements is not a stall.
        handled_past = before.handled_end > max(now.committed, 0)
        # Records waiting on the broker that never arrived, also in a partition the group never
        # committed (its first records were the ones dropped): it reads from the log start.
        waiting_undelivered = now.next_record < now.highwater and now.received_at <= previous.at
        if handled_past or waiting_undelivered:
            found.append(tp)
    return found


@dataclass
class Progress:
    """What the agents handled, per input partition (they update it; the watchdog reads it)."""

    handled_end: dict[TP, int] = field(default_factory=dict)
    received_at: dict[TP, float] = field(default_factory=dict)

    def received(self, tp: TP) -> None:
        self.received_at[tp] = time.monotonic()

    def acknowledged(self, tp: TP, offset: int) -> None:
        self.handled_end[tp] = max(self.handled_end.get(tp, 0), offset + 1)


class Watchdog:
    """Looks at the input partitions every interval and seeks the stalled ones back."""

    def __init__(
        self,
        bootstrap_servers: str,
        group: str,
        progress: Progress,
        busy: Callable[[str], bool],
        on_stall: Callable[[TP], None],
    ) -> None:
        self._bootstrap_servers = bootstrap_servers
        self._group = group
        self._progress = progress
        self._busy = busy
        self._on_stall = on_stall
        self._previous: Look | None = None

    async def _committed(self) -> dict[TP, int]:
        """A connection per look (one every interval): nothing to keep open or close at exit."""
        admin = AIOKafkaAdminClient(bootstrap_servers=self._bootstrap_servers)
        await admin.start()
        try:
            offsets = await admin.list_consumer_group_offsets(self._group)
        finally:
            await admin.close()
        return {TP(tp.topic, tp.partition): meta.offset for tp, meta in offsets.items() if meta.offset >= 0}

    async def look(self, assigned: set[TP], ends: Mapping[TP, int], starts: Mapping[TP, int]) -> Look:
        committed = await self._committed()
        progress = self._progress
        return Look(
            at=time.monotonic(),
            partitions={
                tp: PartitionState(
                    committed=committed.get(tp, -1),
                    handled_end=progress.handled_end.get(tp, 0),
                    highwater=ends.get(tp, 0),
                    received_at=progress.received_at.get(tp, 0.0),
                    busy=self._busy(tp.topic),
                    start=starts.get(tp, 0),
                )
                for tp in assigned
            },
        )

    async def check(
        self, assigned: set[TP], offsets: Callable[[set[TP]], Awaitable[tuple[Mapping[TP, int], Mapping[TP, int]]]]
    ) -> list[tuple[TP, int]]:
        """One look; returns the stalled partitions with the offset to seek them back to.
        `offsets` gives the broker's (end, start) offsets of the partitions. A look the broker does
        not answer is skipped (logged): a timer's exception would stop the worker."""
        try:
            ends, starts = await offsets(assigned)
            current = await self.look(assigned, ends, starts)
        except (KafkaError, OSError, TimeoutError) as exc:
            log.warning("stall watchdog skipped a look: the group's offsets are unavailable (%s)", exc)
            return []
        previous, self._previous = self._previous, current
        if previous is None:
            return []
        found = [(tp, current.partitions[tp].next_record) for tp in stalled(previous, current)]
        for tp, offset in found:
            state = current.partitions[tp]
            log.warning(
                "partition %s[%d] stalled at committed offset %d (handled to %d, end %d): seeking back",
                tp.topic,
                tp.partition,
                offset,
                state.handled_end,
                state.highwater,
            )
            self._on_stall(tp)
        return found
