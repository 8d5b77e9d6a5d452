"""Copy new store rows into the DuckDB bronze tables, one table per transaction.

Per store table, `bronze_load_watermarks` holds the newest watermark-column value copied. A load
reads the store rows at or after `watermark - overlap` (a transaction that committed late with an
earlier timestamp is read again), drops those whose key is already in bronze, inserts the rest and
moves the watermark, all in one DuckDB transaction: the watermark never runs ahead of the rows, and
a load repeated after a crash, or with nothing new, copies nothing twice.
"""

import csv
import secrets
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final

import duckdb

from contracts.schemas.records import BRONZE_TABLES
from pipelines.resources.store import PaymentsStore
from pipelines.resources.warehouse import Warehouse


def null_marker() -> str:
    """A NULL's text in one load's CSV: random per load, so no stored text can equal it (a fixed
    `\\N` would turn the text `\\N` into NULL). Written unquoted; the reader takes only that
    unquoted form as NULL (`allow_quoted_nulls = false`)."""
    return f"\\N-{secrets.token_hex(16)}"


@dataclass(frozen=True)
class SourceTable:
    store_table: str
    bronze_table: str
    watermark_column: str
    key: tuple[str, ...]
    """What makes a row distinct in bronze: an event id, or a payment's snapshot at a time."""


SOURCE_TABLES: Final = (
    SourceTable("payments", "bronze_payments", "updated_at", ("payment_id", "updated_at")),
    SourceTable("payment_events", "bronze_payment_events", "recorded_at", ("event_id",)),
    SourceTable("decisions", "bronze_decisions", "recorded_at", ("event_id",)),
)
WATERMARKS_TABLE: Final = "bronze_load_watermarks"


@dataclass(frozen=True)
class LoadResult:
    table: SourceTable
    rows_read: int
    rows_inserted: int
    watermark: datetime | None


def store_columns(source: SourceTable) -> list[str]:
    """The store table's columns, in DDL order (the contracts row model of its bronze table)."""
    return list(BRONZE_TABLES[source.bronze_table].model_fields)


def watermark(connection: duckdb.DuckDBPyConnection, source: SourceTable) -> datetime | None:
    row = connection.execute(
        f"select high_watermark from {WATERMARKS_TABLE} where source_table = ?", [source.store_table]  # noqa: S608
    ).fetchone()
    return None if row is None else row[0]


def load_table(
    store: PaymentsStore, warehouse: Warehouse, source: SourceTable, *, overlap: timedelta, chunk: int = 50_000
) -> LoadResult:
    columns = store_columns(source)
    with warehouse.connect(read_only=True) as connection:
        since = watermark(connection, source)
        types = dict(
            connection.execute(
                "select column_name, data_type from information_schema.columns where table_name = ?",
                [source.bronze_table],
            ).fetchall()
        )
    read_from = None if since is None else since - overlap
    null = null_marker()
    with tempfile.TemporaryDirectory(prefix="ingest-") as scratch:
        path = Path(scratch) / f"{source.store_table}.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerow(columns)
            rows_read = store.write_csv_since(
                source.store_table, columns, source.watermark_column, read_from, handle, null=null, chunk=chunk
            )
        if rows_read == 0:
            return LoadResult(source, 0, 0, since)
        return _insert(warehouse, source, columns, types, path, rows_read, read_from, null)


def _insert(
    warehouse: Warehouse,
    source: SourceTable,
    columns: Sequence[str],
    types: dict[str, str],
    path: Path,
    rows_read: int,
    read_from: datetime | None,
    null: str,
) -> LoadResult:
    column_types = ", ".join(f"'{name}': '{types[name]}'" for name in columns)
    key_match = " and ".join(f"b.{name} = s.{name}" for name in source.key)
    recent = "" if read_from is None else f"and b.{source.watermark_column} >= ?"
    names = ", ".join(columns)
    with warehouse.connect() as connection:
        connection.execute("begin transaction")
        try:
            connection.execute(
                f"""create temp table incoming as
                select distinct on ({', '.join(source.key)}) *
                from read_csv('{path}', header = true, nullstr = '{null}', allow_quoted_nulls = false,
                              delim = ',', quote = '"', escape = '"', columns = {{{column_types}}})"""  # noqa: S608
            )
            params: list[Any] = [] if read_from is None else [read_from]
            inserted = connection.execute(
                f"""insert into {source.bronze_table} ({names}, loaded_at)
                select {names}, current_timestamp::timestamp from incoming s
                where not exists (
                    select 1 from {source.bronze_table} b where {key_match} {recent}
                )""",  # noqa: S608 (identifiers from SOURCE_TABLES and the DDL)
                params,
            ).fetchone()
            count = int(inserted[0]) if inserted else 0
            newest = connection.execute(f"select max({source.watermark_column}) from incoming").fetchone()  # noqa: S608
            high = newest[0] if newest else None
            connection.execute(
                f"""insert into {WATERMARKS_TABLE} (source_table, high_watermark, rows_loaded, loaded_at)
                values (?, ?, ?, current_timestamp::timestamp)
                on conflict (source_table) do update set
                    high_watermark = greatest({WATERMARKS_TABLE}.high_watermark, excluded.high_watermark),
                    rows_loaded = {WATERMARKS_TABLE}.rows_loaded + excluded.rows_loaded,
                    loaded_at = excluded.loaded_at""",  # noqa: S608
                [source.store_table, high, count],
            )
            connection.execute("drop table incoming")
            connection.execute("commit")
        except BaseException:
            connection.execute("rollback")
            raise
        final = watermark(connection, source)
    return LoadResult(source, rows_read, count, final)


@dataclass(frozen=True)
class Reconciliation:
    table: SourceTable
    watermark: datetime | None
    store_rows: int
    bronze_rows: int

    @property
    def reconciles(self) -> bool:
        return self.store_rows == self.bronze_rows


def reconcile(store: PaymentsStore, warehouse: Warehouse, source: SourceTable) -> Reconciliation:
    """Store rows up to the table's watermark against the distinct rows bronze holds up to it.

    Payments are counted once each (bronze keeps a snapshot per update), events and decisions once
    per event id (a redelivered row is harmless downstream, but the count shows whether any is missing).
    """
    entity = "payment_id" if source.store_table == "payments" else "event_id"
    with warehouse.connect(read_only=True) as connection:
        high = watermark(connection, source)
        bronze = connection.execute(
            f"select count(distinct {entity}) from {source.bronze_table} where {source.watermark_column} <= ?",  # noqa: S608
            [high],
        ).fetchone()
    store_rows = store.count_until(source.store_table, source.watermark_column, high)
    return Reconciliation(source, high, store_rows, int(bronze[0]) if bronze else 0)
