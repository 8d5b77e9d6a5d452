"""Unique, readable names per test: each test gets its own topic, task queue or database."""

from __future__ import annotations

import re
import uuid


def unique_name(label: str, *, separator: str = "-", max_length: int = 63) -> str:
    """`test_x[a]` -> `test-x-a-1f2e3d4c`: readable in server logs, never reused.

    The default length and character set suit every target (Kafka topics, Temporal task queues,
    PostgreSQL identifiers when `separator="_"`).
    """
    suffix = uuid.uuid4().hex[:8]
    slug = re.sub(r"[^a-z0-9]+", separator, label.lower()).strip(separator)
    slug = slug[: max(0, max_length - len(suffix) - 1)].rstrip(separator)
    return f"{slug}{separator}{suffix}" if slug else suffix
