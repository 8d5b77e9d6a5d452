"""Dedupe marks: the window, and their expiry past it, on hand-worked times."""

from __future__ import annotations

from normalizer.tables import EXPIRY_MARGIN_SECONDS, expire

DAY = 86_400.0
NOW = 1_800_000_000.0


def test_marks_older_than_the_window_and_its_margin_are_dropped_and_counted() -> None:
    assert EXPIRY_MARGIN_SECONDS == 3600.0
    marks: dict[str, float | None] = {
        "stripe:evt_old": NOW - 7 * DAY - 3601,  # one second past window + margin: dropped
        "stripe:evt_edge": NOW - 7 * DAY - 3600,  # exactly window + margin: kept
        "square:recent": NOW - 6 * DAY,
        "adyen:future": NOW + 3 * 3600,  # a message stamped ahead of our clock
        "braintree:none": None,
    }
    assert expire(marks, NOW, 7 * DAY) == 1
    assert set(marks) == {"stripe:evt_edge", "square:recent", "adyen:future", "braintree:none"}
    assert expire(marks, NOW + 1, 7 * DAY) == 1  # a second later the edge one goes too
    assert set(marks) == {"square:recent", "adyen:future", "braintree:none"}
