"""The dedupe table: provider event ids seen, with the time they were first seen.

Backed by its changelog topic, so a restarted or rebalanced worker rebuilds it before it
processes anything. Keys are provider-qualified (`stripe:evt_...`); values are the Kafka
timestamp (seconds) of the message that first carried the event, so the window is measured in
message time and a replay after a crash sees the same times.

Marks expire: one first seen more than the window (plus `EXPIRY_MARGIN_SECONDS`) ago by the
wall clock is dropped from memory by `expire`, and the changelog is compacted *and* deleted past
the same age, so a restart does not bring it back. A message older than that cannot normally
arrive (the webhook topics keep 7 days, the default window); one that does is normalized again,
which the consumers' idempotence by `event_id` absorbs.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from typing import Any

import faust

from contracts.reference.providers import Provider

TABLE_NAME = "dedupe"
SEGMENT_MS = 24 * 3600 * 1000
"""The changelog's segment length: an expired mark outlives its retention by a day at most."""
EXPIRY_MARGIN_SECONDS = 3600.0
"""How long past the window a mark is kept: room for clock skew between the gateway and us."""


def dedupe_key(provider: Provider, provider_event_id: str) -> str:
    return f"{provider.value}:{provider_event_id}"


def create_dedupe_table(app: faust.App, partitions: int, window_seconds: float) -> faust.Table[str, float]:
    return create_expiring_table(
        app,
        TABLE_NAME,
        partitions,
        window_seconds + EXPIRY_MARGIN_SECONDS,
        "provider event id -> Kafka timestamp of its first message",
        value_type=float,
    )


def create_expiring_table(
    app: faust.App, name: str, partitions: int, retention_seconds: float, help: str, value_type: Any = None
) -> faust.Table[str, Any]:
    """A table whose changelog is compacted *and* deleted past `retention_seconds` (a restart does
    not bring back what its expiry dropped from memory)."""
    table: faust.Table[str, Any] = app.Table(  # type: ignore[assignment]  # Faust types it as TableT
        name,
        default=None,
        key_type=str,
        value_type=value_type,
        partitions=partitions,
        help=help,
    )
    # Faust's own changelog (its encoding, name and partitions), compacted and also deleted past
    # the entries' lifetime: Faust passes these only for windowed tables.
    changelog = table._new_changelog_topic(retention=retention_seconds, compacting=True, deleting=True)
    # Retention deletes closed segments only (Kafka closes one after 7 days by default).
    changelog.config = {**(changelog.config or {}), "segment.ms": str(SEGMENT_MS)}
    table.changelog_topic = changelog
    return table


def drop_older(entries: MutableMapping[str, Any], cutoff: float, time_of: Callable[[Any], Any]) -> int:
    """Drop the entries (of a table's memory) whose time, `time_of(value)`, is before `cutoff`;
    how many. The changelog forgets them by its own retention."""
    old = [key for key, value in entries.items() if value is not None and float(time_of(value)) < cutoff]
    for key in old:
        del entries[key]
    return len(old)


def expire(marks: MutableMapping[str, Any], now: float, window_seconds: float) -> int:
    """Drop the marks first seen more than the window plus the margin before `now`; how many."""
    return drop_older(marks, now - window_seconds - EXPIRY_MARGIN_SECONDS, lambda first: first)


def seen_within(table: faust.Table[str, float], key: str, timestamp: float, window_seconds: float) -> bool:
    """True when `key` was first seen less than `window_seconds` before (or after) `timestamp`."""
    first: Any = table.data.get(key)
    return first is not None and abs(timestamp - float(first)) < window_seconds
