"""`seed-history` against a real SQLite file: history ends before `--end`, labels are there, and the
same arguments twice write nothing new. Checked with the standard library's sqlite3, not with the
code under test."""

import json
import sqlite3
from pathlib import Path

import pytest

from pipelines.seed_history import main

END = "2025-01-06 00:00:00"
ARGS = ["--payments", "600", "--end", "2025-01-06T00:00:00Z", "--days", "150", "--seed", "7"]


def _counts(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as connection:
        return {
            table: connection.execute(f"select count(*) from {table}").fetchone()[0]  # noqa: S608
            for table in ("payments", "payment_events", "decisions")
        }


def test_seed_history_writes_a_labelled_history_ending_before_end_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "store.db"
    dsn = f"sqlite:///{store}"

    assert main(["--store-dsn", dsn, *ARGS]) == 0
    first = json.loads(capsys.readouterr().out)

    counts = _counts(store)
    assert counts == first["generated"] == first["inserted"]
    assert counts["payments"] >= 600  # bursts add attempts; those cut at the end drop a few
    with sqlite3.connect(store) as connection:
        newest = connection.execute(
            "select max(occurred_at), max(recorded_at), min(occurred_at) from payment_events"
        ).fetchone()
        assert newest[0] < END and newest[1] < END
        assert newest[2] >= "2024-08-09 00:00:00"  # END - 150 days
        assert connection.execute("select max(updated_at) from payments").fetchone()[0] < END
        assert connection.execute("select max(recorded_at) from decisions").fetchone()[0] < END
        # Labels that have matured by the end (lost disputes on payments older than 60 days).
        matured_lost = connection.execute(
            "select count(*) from payment_events e join payments p using (payment_id) "
            "where e.event_type = 'dispute.lost' and p.first_seen_at < '2024-11-07 00:00:00'"
        ).fetchone()[0]
        assert matured_lost > 0
        # A payment's status agrees with its events: charged back only with a lost dispute,
        # a dispute still open at the end leaves it disputed.
        assert (
            connection.execute(
                "select count(*) from payments p where p.status = 'charged_back' and not exists "
                "(select 1 from payment_events e where e.payment_id = p.payment_id and e.event_type = 'dispute.lost')"
            ).fetchone()[0]
            == 0
        )
        open_disputes = connection.execute(
            "select count(*) from payments p where p.status = 'disputed' and exists (select 1 from payment_events e "
            "where e.payment_id = p.payment_id and e.event_type = 'dispute.opened') and not exists "
            "(select 1 from payment_events e where e.payment_id = p.payment_id "
            "and e.event_type in ('dispute.lost', 'dispute.won'))"
        ).fetchone()[0]
        disputed = connection.execute("select count(*) from payments where status = 'disputed'").fetchone()[0]
        assert open_disputes == disputed

    assert main(["--store-dsn", dsn, *ARGS]) == 0
    second = json.loads(capsys.readouterr().out)

    assert _counts(store) == counts
    assert second["inserted"] == {table: 0 for table in counts}
    assert second["already_present"] == counts


def test_seed_history_refuses_an_end_without_a_zone(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--store-dsn", f"sqlite:///{tmp_path / 's.db'}", "--payments", "10", "--end", "2025-01-06T00:00:00"])
    assert exit_.value.code == 2
    assert not (tmp_path / "s.db").exists()
