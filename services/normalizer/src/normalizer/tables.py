"""The dedupe table: provider event ids seen, with the time they were first seen.

Backed by its changelog topic, so a restarted or rebalanced worker rebuilds it before it
processes anything. Keys are provider-qualified (`stripe:evt_...`); values are the Kafka
timestamp (seconds) of the message that first carried the event, so the window is measured in
message time and a replay after a crash sees the same times.
"""

from __future__ import annotations

from typing import Any

import faust

from contracts.reference.providers import Provider

TABLE_NAME = "dedupe"


def dedupe_key(provider: Provider, provider_event_id: str) -> str:
    return f"{provider.value}:{provider_event_id}"


def create_dedupe_table(app: faust.App, partitions: int) -> faust.Table[str, float]:
    table: faust.Table[str, float] = app.Table(  # type: ignore[assignment]  # Faust types it as TableT
        TABLE_NAME,
        default=None,
        key_type=str,
        value_type=float,
        partitions=partitions,
        help="provider event id -> Kafka timestamp of its first message",
    )
    return table


def seen_within(table: faust.Table[str, float], key: str, timestamp: float, window_seconds: float) -> bool:
    """True when `key` was first seen less than `window_seconds` before (or after) `timestamp`."""
    first: Any = table.data.get(key)
    return first is not None and abs(timestamp - float(first)) < window_seconds
