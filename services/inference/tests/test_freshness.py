"""Feature freshness: the age of the oldest value, or unknown, never a number that is too low."""

import logging
from datetime import UTC, datetime, timedelta

import pytest

from inference.feast_client import parse_online_response
from inference.online_features import freshness_seconds

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def test_the_oldest_value_gives_the_age() -> None:
    stamps = {"a": NOW - timedelta(seconds=10), "b": NOW - timedelta(seconds=40)}
    assert freshness_seconds(stamps, "fraud_v1", NOW) == 40.0


@pytest.mark.parametrize(
    "unusable",
    [None, datetime(1970, 1, 1, tzinfo=UTC), NOW + timedelta(seconds=5)],
    ids=["missing", "epoch", "five-seconds-ahead"],
)
def test_an_unusable_timestamp_makes_the_age_unknown_and_says_so(
    unusable: datetime | None, caplog: pytest.LogCaptureFixture
) -> None:
    # Reporting 10 s here would understate the age: the value without a usable stamp may be older.
    stamps = {"recent": NOW - timedelta(seconds=10), "suspect": unusable}
    with caplog.at_level(logging.WARNING, logger="inference.online_features"):
        assert freshness_seconds(stamps, "fraud_v1", NOW) is None
    assert "suspect" in caplog.text and "fraud_v1" in caplog.text


def test_a_stamp_within_the_clock_skew_is_zero_seconds_old() -> None:
    assert freshness_seconds({"a": NOW + timedelta(milliseconds=500)}, "fraud_v1", NOW) == 0.0


def test_unreadable_timestamps_from_the_feature_server_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    document = {
        "metadata": {"feature_names": ["customer_id", "txn_count"]},
        "results": [
            {"values": ["c1"], "statuses": ["PRESENT"], "event_timestamps": ["1970-01-01T00:00:00Z"]},
            {"values": [3], "statuses": ["PRESENT"], "event_timestamps": ["yesterday-ish"]},
        ],
    }
    with caplog.at_level(logging.WARNING, logger="inference.feast_client"):
        [row] = parse_online_response(document, ["customer_id"], 1)
    assert row["txn_count"].event_at is None
    assert "txn_count" in caplog.text
