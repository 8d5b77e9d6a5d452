"""The payments store (tables of `contracts/src/contracts/sql/payment_events.sql`, section store),
read through SQLAlchemy: a SQLite file or PostgreSQL, by DSN."""

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from dagster import ConfigurableResource
from pydantic import PrivateAttr


class PaymentsStore(ConfigurableResource, ABC):  # type: ignore[type-arg]
    """What the pipelines read from the store: new rows by watermark, counts, a change signature."""

    @abstractmethod
    def rows_since(
        self, table: str, columns: Sequence[str], watermark_column: str, since: datetime | None, chunk: int
    ) -> Iterator[Sequence[Sequence[Any]]]:
        """Rows of `table` with `watermark_column >= since` (all when None), in chunks."""

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
