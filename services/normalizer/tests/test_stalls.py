"""The watchdog's rule on hand-built looks: a commit that did not move though it should have."""

from __future__ import annotations

from faust.types import TP

from normalizer.stalls import Look, PartitionState, stalled

A = TP("webhooks.stripe.v1", 0)
B = TP("webhooks.stripe.v1", 1)


def _state(
    committed: int, handled_end: int, highwater: int, received_at: float = 5.0, busy: bool = False, start: int = 0
) -> PartitionState:
    return PartitionState(committed, handled_end, highwater, received_at, busy, start)


def test_a_commit_stuck_behind_handled_records_is_stalled() -> None:
    # Offset 40 was lost by the consumer: 41..59 were handled and acknowledged, the commit stays at 40.
    before = Look(10.0, {A: _state(40, 60, 60)})
    after = Look(40.0, {A: _state(40, 60, 60)})
    assert stalled(before, after) == [A]


def test_a_commit_that_moved_or_caught_up_is_not_stalled() -> None:
    before = Look(10.0, {A: _state(40, 60, 60), B: _state(60, 60, 60)})
    after = Look(40.0, {A: _state(41, 60, 60), B: _state(60, 60, 60)})
    assert stalled(before, after) == []


def test_records_handled_only_since_the_last_look_are_not_a_stall_yet() -> None:
    # At the previous look nothing past 40 was handled; 40..59 were acknowledged a moment ago and
    # the commit (every second) has not caught up yet.
    before = Look(10.0, {A: _state(40, 40, 40, received_at=5.0)})
    after = Look(40.0, {A: _state(40, 60, 60, received_at=39.5)})
    assert stalled(before, after) == []


def test_a_busy_agent_is_left_alone() -> None:
    # A batch still awaits the broker's acknowledgements (an outage, a slow broker): not a stall.
    before = Look(10.0, {A: _state(40, 60, 80)})
    after = Look(40.0, {A: _state(40, 60, 80, busy=True)})
    assert stalled(before, after) == []


def test_records_waiting_on_the_broker_that_never_arrive_are_stalled_until_one_arrives() -> None:
    before = Look(10.0, {A: _state(40, 40, 90, received_at=5.0)})
    nothing_came = Look(40.0, {A: _state(40, 40, 90, received_at=5.0)})
    one_came = Look(40.0, {A: _state(40, 40, 90, received_at=12.0)})
    assert stalled(before, nothing_came) == [A]
    assert stalled(before, one_came) == []


def test_a_partition_never_committed_is_stalled_once_records_were_handled_or_never_came() -> None:
    handled = Look(10.0, {A: _state(-1, 12, 30)})
    assert stalled(handled, Look(40.0, {A: _state(-1, 12, 30)})) == [A]
    # Records 0..29 on the broker, none committed, none received in a whole interval: the first
    # ones were dropped (CI saw a dispute wait 180 s on a partition this group never committed).
    never_came = Look(10.0, {A: _state(-1, 0, 30, received_at=0.0)})
    assert stalled(never_came, Look(40.0, {A: _state(-1, 0, 30, received_at=0.0)})) == [A]


def test_a_partition_never_committed_whose_records_are_all_deleted_is_not_stalled() -> None:
    # Retention deleted 0..29: the log starts at 30, the end is 30, nothing is waiting.
    empty = Look(10.0, {A: _state(-1, 0, 30, received_at=0.0, start=30)})
    assert stalled(empty, Look(40.0, {A: _state(-1, 0, 30, received_at=0.0, start=30)})) == []
    # One record came after the deletion: it waits at 30 and never arrives.
    one = Look(10.0, {A: _state(-1, 0, 31, received_at=0.0, start=30)})
    assert stalled(one, Look(40.0, {A: _state(-1, 0, 31, received_at=0.0, start=30)})) == [A]
    assert _state(-1, 0, 31, start=30).next_record == 30  # where the watchdog seeks it back to


def test_a_partition_first_seen_now_is_not_judged() -> None:
    assert stalled(Look(10.0, {}), Look(40.0, {A: _state(40, 60, 60)})) == []
