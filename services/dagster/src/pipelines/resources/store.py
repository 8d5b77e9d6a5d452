"""The payments store (tables of `contracts/src/contracts/sql/payment_events.sql`, section store),
read through SQLAlchemy: a SQLite file or PostgreSQL, by DSN."""

import csv
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, TextIO

import sqlalchemy as sa
from dagster import ConfigurableResource
from pydantic import PrivateAttr


class MissingColumnsError(LookupError):
    """A store table lacks columns the pipelines read (an old store, or a misspelt name)."""

    def __init__(self, table: str, missing: Sequence[str]) -> None:
        self.table = table
        self.missing = list(missing)
        super().__init__(f"store table {table!r} has no column(s) {', '.join(map(repr, missing))}")


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class PaymentsStore(ConfigurableResource, ABC):  # type: ignore[type-arg]
    """What the pipelines read from the store: new rows by watermark, counts, a change signature."""

    @abstractmethod
    def rows_since(
        self, table: str, columns: Sequence[str], watermark_column: str, since: datetime | None, chunk: int
    ) -> Iterator[Sequence[Sequence[Any]]]:
        """Rows of `table` with `watermark_column >= since` (all when None), in chunks."""

    def write_csv_since(
        self,
        table: str,
        columns: Sequence[str],
        watermark_column: str,
        since: datetime | None,
        handle: TextIO,
        *,
        null: str,
        chunk: int,
    ) -> int:
        """The rows of `rows_since` as CSV records on `handle` (no header; a NULL written as
        `null`, every other value as Python's `str`); returns how many."""
        writer = csv.writer(handle)
        count = 0
        for rows in self.rows_since(table, columns, watermark_column, since, chunk):
            writer.writerows([null if value is None else value for value in row] for row in rows)
            count += len(rows)
        return count

    @abstractmethod
    def count_until(self, table: str, watermark_column: str, until: datetime | None) -> int:
        """Rows with `watermark_column <= until` (0 when None)."""

    @abstractmethod
    def signature(self, tables: Sequence[tuple[str, str]]) -> dict[str, list[Any]]:
        """Per table: [row count, newest watermark as text]; changes when rows arrive."""


class SqlPaymentsStore(PaymentsStore):
    dsn: str

    _engine: sa.Engine | None = PrivateAttr(default=None)

    def engine(self) -> sa.Engine:
        if self._engine is None:
            self._engine = sa.create_engine(self.dsn)
        return self._engine

    def _table(self, table: str, columns: Sequence[str]) -> sa.TableClause:
        return sa.table(table, *(sa.column(name) for name in columns))

    def rows_since(
        self, table: str, columns: Sequence[str], watermark_column: str, since: datetime | None, chunk: int
    ) -> Iterator[Sequence[Sequence[Any]]]:
        source = self._table(table, [*columns])
        query = sa.select(*(source.c[name] for name in columns))
        if since is not None:
            query = query.where(source.c[watermark_column] >= sa.bindparam("since", since, type_=sa.DateTime()))
        with self.engine().connect() as connection:
            result = connection.execution_options(stream_results=True, yield_per=chunk).execute(query)
            yield from result.partitions(chunk)

    def write_csv_since(
        self,
        table: str,
        columns: Sequence[str],
        watermark_column: str,
        since: datetime | None,
        handle: TextIO,
        *,
        null: str,
        chunk: int,
    ) -> int:
        """SQLite: the driver's cursor, NULLs replaced by the query, rows handed to the CSV writer
        as they come (at a million rows, the Python per value of the generic path is most of the
        ingest time). Other databases: the generic path."""
        engine = self.engine()
        if engine.dialect.name != "sqlite":
            return super().write_csv_since(table, columns, watermark_column, since, handle, null=null, chunk=chunk)
        # Identifiers come from the contracts row models (loader.SOURCE_TABLES), never from input.
        # SQLite reads a double-quoted name that matches no column as a string literal: a column
        # missing from an old store would load its own name as data, a misspelt watermark column
        # would compare a constant. So every name is checked against the table first.
        self._require_columns(table, [*columns, watermark_column])
        selected = ", ".join(f"coalesce({_quoted(name)}, ?)" for name in columns)
        query = f"select {selected} from {_quoted(table)}"  # noqa: S608
        params: list[Any] = [null] * len(columns)
        if since is not None:
            # The bound value as SQLAlchemy's DateTime stores it in SQLite (text, microseconds
            # always written), which the stored values are compared with as text.
            as_stored = sa.DateTime().dialect_impl(engine.dialect).bind_processor(engine.dialect)
            query += f" where {_quoted(watermark_column)} >= ?"
            params.append(as_stored(since) if as_stored else since)
        writer = csv.writer(handle)
        count = 0
        connection = engine.raw_connection()
        try:
            cursor = connection.cursor()
            cursor.execute(query, params)
            while rows := cursor.fetchmany(chunk):
                writer.writerows(rows)
                count += len(rows)
            cursor.close()
        finally:
            connection.close()
        return count

    def _require_columns(self, table: str, wanted: Sequence[str]) -> None:
        """Raise `MissingColumnsError` naming the table and the columns it lacks (SQLite)."""
        with self.engine().connect() as connection:
            rows = connection.exec_driver_sql(f"pragma table_info({_quoted(table)})").fetchall()
        if not rows:
            raise LookupError(f"store table {table!r} does not exist")
        present = {str(row[1]) for row in rows}
        missing = [name for name in dict.fromkeys(wanted) if name not in present]
        if missing:
            raise MissingColumnsError(table, missing)

    def count_until(self, table: str, watermark_column: str, until: datetime | None) -> int:
        if until is None:
            return 0
        source = self._table(table, [watermark_column])
        query = (
            sa.select(sa.func.count())
            .select_from(source)
            .where(source.c[watermark_column] <= sa.bindparam("until", until, type_=sa.DateTime()))
        )
        with self.engine().connect() as connection:
            return int(connection.execute(query).scalar_one())

    def signature(self, tables: Sequence[tuple[str, str]]) -> dict[str, list[Any]]:
        state: dict[str, list[Any]] = {}
        with self.engine().connect() as connection:
            for table, watermark_column in tables:
                source = self._table(table, [watermark_column])
                count, newest = connection.execute(
                    sa.select(sa.func.count(), sa.func.max(source.c[watermark_column])).select_from(source)
                ).one()
                state[table] = [int(str(count)), None if newest is None else str(newest)]
        return state
