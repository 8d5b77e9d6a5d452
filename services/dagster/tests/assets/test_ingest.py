"""Store -> bronze on a real SQLite store and a real DuckDB file."""

import csv
import io
from collections import Counter
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
import sqlalchemy as sa
from conftest import Stack, make_stack
from dagster import AssetKey

from pipelines.assets.ingest.loader import SOURCE_TABLES, null_marker, store_columns
from pipelines.resources.store import MissingColumnsError, PaymentsStore, SqlPaymentsStore
from pipelines.synthetic import StoreRows, SyntheticConfig, synthetic_rows, write_store

NULL = null_marker()


def bronze_counts(stack: Stack) -> dict[str, int]:
    with duckdb.connect(str(stack.settings.warehouse_path), read_only=True) as connection:
        return {
            table: int(connection.execute(f"select count(*) from {table}").fetchone()[0])  # type: ignore[index]  # noqa: S608
            for table in ("bronze_payments", "bronze_payment_events", "bronze_decisions")
        }


def watermarks(stack: Stack) -> dict[str, tuple[object, int]]:
    with duckdb.connect(str(stack.settings.warehouse_path), read_only=True) as connection:
        rows = connection.execute(
            "select source_table, high_watermark, rows_loaded from bronze_load_watermarks"
        ).fetchall()
    return {row[0]: (row[1], row[2]) for row in rows}


def check_results(result: object) -> dict[tuple[str, str], bool]:
    evaluations = result.get_asset_check_evaluations()  # type: ignore[attr-defined]
    return {(e.asset_key.to_user_string(), e.check_name): e.passed for e in evaluations}


def expected_counts(*batches: StoreRows) -> dict[str, int]:
    return {
        "bronze_payments": sum(len(b.payments) for b in batches),
        "bronze_payment_events": sum(len(b.payment_events) for b in batches),
        "bronze_decisions": sum(len(b.decisions) for b in batches),
    }


def test_ingest_copies_every_store_row_and_the_counts_reconcile(stack: Stack) -> None:
    result = stack.materialize("ingest")

    assert result.success
    assert bronze_counts(stack) == expected_counts(stack.rows)
    checks = check_results(result)
    assert checks == {
        ("bronze/bronze_payments", "row_counts_reconcile"): True,
        ("bronze/bronze_payment_events", "row_counts_reconcile"): True,
        ("bronze/bronze_decisions", "row_counts_reconcile"): True,
    }
    newest_event = max(row.recorded_at for row in stack.rows.payment_events)
    assert watermarks(stack)["payment_events"] == (newest_event, len(stack.rows.payment_events))


def test_ingest_again_copies_nothing_twice(stack: Stack) -> None:
    assert stack.materialize("ingest").success
    first = watermarks(stack)

    again = stack.materialize("ingest")

    assert again.success
    assert bronze_counts(stack) == expected_counts(stack.rows)
    assert watermarks(stack) == first
    inserted = {
        event.asset_key.to_user_string(): event.materialization.metadata["rows_inserted"].value
        for event in again.get_asset_materialization_events()
        if "rows_inserted" in event.materialization.metadata
    }
    assert inserted == {
        "bronze/bronze_payments": 0,
        "bronze/bronze_payment_events": 0,
        "bronze/bronze_decisions": 0,
    }


def test_new_store_rows_are_copied_on_the_next_ingest(stack: Stack) -> None:
    assert stack.materialize("ingest").success
    later = synthetic_rows(
        SyntheticConfig(
            payments=200,
            days=5,
            start=max(r.updated_at for r in stack.rows.payments).replace(tzinfo=UTC) + timedelta(days=1),
            seed=99,
        )
    )
    write_store(stack.settings.store_dsn, later)

    assert stack.materialize("ingest").success

    assert bronze_counts(stack) == expected_counts(stack.rows, later)


def test_a_failed_load_leaves_no_rows_and_no_watermark(tmp_path: Path) -> None:
    rows = synthetic_rows(SyntheticConfig(payments=50, days=3, seed=3))
    stack = make_stack(tmp_path, rows)
    engine = sa.create_engine(stack.settings.store_dsn)
    with engine.begin() as connection:  # SQLite keeps text in a BIGINT column; DuckDB cannot cast it
        connection.execute(
            sa.text("update payment_events set amount_minor = 'twelve' where event_id = :id"),
            {"id": rows.payment_events[10].event_id},
        )

    failed = stack.materialize("ingest", raise_on_error=False)

    assert not failed.success
    assert bronze_counts(stack)["bronze_payment_events"] == 0
    assert "payment_events" not in watermarks(stack)

    with engine.begin() as connection:
        connection.execute(
            sa.text("update payment_events set amount_minor = 100 where event_id = :id"),
            {"id": rows.payment_events[10].event_id},
        )
    engine.dispose()
    assert stack.materialize("ingest").success
    assert bronze_counts(stack) == expected_counts(rows)


def test_rows_missing_from_bronze_fail_the_blocking_check(stack: Stack) -> None:
    assert stack.materialize("ingest").success
    with duckdb.connect(str(stack.settings.warehouse_path)) as connection:
        connection.execute(
            "delete from bronze_decisions where event_id in (select event_id from bronze_decisions limit 3)"
        )

    result = stack.materialize("ingest", raise_on_error=False)

    checks = check_results(result)
    assert checks[("bronze/bronze_decisions", "row_counts_reconcile")] is False
    assert checks[("bronze/bronze_payments", "row_counts_reconcile")] is True
    evaluation = next(
        e for e in result.get_asset_check_evaluations() if e.asset_key == AssetKey(["bronze", "bronze_decisions"])
    )
    assert evaluation.metadata["store_rows"].value == len(stack.rows.decisions)
    assert evaluation.metadata["bronze_rows"].value == len(stack.rows.decisions) - 3


def test_store_rows_per_table_match_the_generator(small_rows: StoreRows) -> None:
    """The generator's own bookkeeping, independent of the loader: every event belongs to a payment."""
    payments = {row.payment_id for row in small_rows.payments}
    assert all(row.payment_id in payments for row in small_rows.payment_events)
    kinds = Counter(row.event_type for row in small_rows.payment_events)
    assert kinds["dispute.lost"] > 0 and kinds["payment.failed"] > 0


def test_text_with_commas_quotes_and_newlines_far_into_a_table_is_loaded_as_written(tmp_path: Path) -> None:
    """DuckDB guesses a CSV dialect from the first ~20,000 lines: a quoted value only past them
    (a decision's `rules_triggered`, "foreign_card,review_timed_out", in a 20,000-payment history)
    failed the load when the dialect was left to that guess."""
    rows = synthetic_rows(SyntheticConfig(payments=50, days=3, seed=3))
    stack = make_stack(tmp_path, rows)
    engine = sa.create_engine(stack.settings.store_dsn)
    template = rows.decisions[0]
    plain = [
        {**template.model_dump(), "event_id": f"plain-{n}", "rules_triggered": "foreign_card"} for n in range(21_000)
    ]
    tricky_text = 'foreign_card,review_timed_out "late"\nsecond line'
    tricky = {**template.model_dump(), "event_id": "tricky", "rules_triggered": tricky_text}
    tricky["recorded_at"] = max(row.recorded_at for row in rows.decisions) + timedelta(seconds=1)
    columns = list(tricky)
    names, values = ", ".join(columns), ", ".join(":" + c for c in columns)
    insert = sa.text(f"insert into decisions ({names}) values ({values})")  # noqa: S608 (the model's fields)
    with engine.begin() as connection:
        connection.execute(insert, [*plain, tricky])
    engine.dispose()

    assert stack.materialize("ingest").success
    with duckdb.connect(str(stack.settings.warehouse_path), read_only=True) as connection:
        loaded = connection.execute("select rules_triggered from bronze_decisions where event_id = 'tricky'").fetchall()
        count = connection.execute("select count(*) from bronze_decisions").fetchone()
    assert loaded == [(tricky_text,)]
    assert count == (len(rows.decisions) + len(plain) + 1,)


def test_the_sqlite_cursor_path_writes_the_same_csv_as_the_generic_path(stack: Stack) -> None:
    """The SQLite override of `write_csv_since` (driver cursor, NULLs replaced in SQL) against the
    store's generic path (SQLAlchemy rows, NULLs replaced in Python) on the same store: the same
    bytes, all rows and only the rows at or after `since`; NULLs written as the marker, empty text
    kept empty."""
    store = SqlPaymentsStore(dsn=stack.settings.store_dsn)
    generated: dict[str, list[Any]] = {
        "payments": stack.rows.payments,
        "payment_events": stack.rows.payment_events,
        "decisions": stack.rows.decisions,
    }
    for source in SOURCE_TABLES:
        columns = store_columns(source)
        stamps = sorted(getattr(row, source.watermark_column) for row in generated[source.store_table])
        middle = stamps[len(stamps) // 2]
        for since, expected in ((None, len(stamps)), (middle, sum(stamp >= middle for stamp in stamps))):
            fast, generic = io.StringIO(), io.StringIO()
            arguments = (source.store_table, columns, source.watermark_column, since)
            written = store.write_csv_since(*arguments, fast, null=NULL, chunk=500)
            generic_written = PaymentsStore.write_csv_since(store, *arguments, generic, null=NULL, chunk=500)
            assert written == generic_written == expected, (source.store_table, since)
            assert fast.getvalue() == generic.getvalue(), (source.store_table, since)
    decisions = io.StringIO()
    columns = store_columns(SOURCE_TABLES[2])
    store.write_csv_since("decisions", columns, "recorded_at", None, decisions, null=NULL, chunk=500)
    first = next(csv.reader(io.StringIO(decisions.getvalue())))
    record = dict(zip(columns, first, strict=True))
    assert record["reviewed_by"] == NULL  # None in the generator
    assert record["rules_triggered"] == ""  # "" in the generator


def test_text_that_reads_like_a_null_marker_is_loaded_as_text(tmp_path: Path) -> None:
    """The text `\\N` (DuckDB's default NULL string) stays text; a NULL stays NULL."""
    rows = synthetic_rows(SyntheticConfig(payments=50, days=3, seed=3))
    stack = make_stack(tmp_path, rows)
    engine = sa.create_engine(stack.settings.store_dsn)
    with engine.begin() as connection:
        connection.execute(
            sa.text("update decisions set rules_triggered = :text, reviewed_by = null where event_id = :id"),
            {"text": "\\N", "id": rows.decisions[5].event_id},
        )
    engine.dispose()

    assert stack.materialize("ingest").success
    with duckdb.connect(str(stack.settings.warehouse_path), read_only=True) as connection:
        loaded = connection.execute(
            "select rules_triggered, reviewed_by from bronze_decisions where event_id = ?", [rows.decisions[5].event_id]
        ).fetchall()
    assert loaded == [("\\N", None)]


def test_a_store_table_lacking_a_column_is_refused_with_its_name(tmp_path: Path) -> None:
    """SQLite reads `"missing_column"` as the text 'missing_column': the load must not."""
    rows = synthetic_rows(SyntheticConfig(payments=50, days=3, seed=3))
    stack = make_stack(tmp_path, rows)
    engine = sa.create_engine(stack.settings.store_dsn)
    with engine.begin() as connection:  # an older store, without the column
        connection.execute(sa.text("alter table decisions drop column reviewed_by"))
    engine.dispose()
    store = SqlPaymentsStore(dsn=stack.settings.store_dsn)
    columns = store_columns(SOURCE_TABLES[2])

    with pytest.raises(MissingColumnsError) as missing:
        store.write_csv_since("decisions", columns, "recorded_at", None, io.StringIO(), null=NULL, chunk=500)
    assert (missing.value.table, missing.value.missing) == ("decisions", ["reviewed_by"])
    assert "'decisions'" in str(missing.value) and "'reviewed_by'" in str(missing.value)

    # A misspelt watermark column would otherwise compare a constant and read the whole table.
    with pytest.raises(MissingColumnsError) as typo:
        store.write_csv_since(
            "payments", store_columns(SOURCE_TABLES[0]), "updated_att", None, io.StringIO(), null=NULL, chunk=500
        )
    assert typo.value.missing == ["updated_att"]

    failed = stack.materialize("ingest", raise_on_error=False)
    assert not failed.success
    assert bronze_counts(stack)["bronze_decisions"] == 0
