"""The training set's blocking checks, as plain queries on the warehouse."""

from dataclasses import dataclass

import duckdb

from pipelines.assets.training.dataset import FEATURES, TRAINING_SET_TABLE


@dataclass(frozen=True)
class LabelCoverage:
    matured: int
    with_features: int
    positives: int

    @property
    def share(self) -> float:
        return self.with_features / self.matured if self.matured else 0.0


def label_coverage(connection: duckdb.DuckDBPyConnection, table: str = TRAINING_SET_TABLE) -> LabelCoverage:
    row = connection.execute(
        f"select count(*), count(feature_time), coalesce(sum(label) filter (where feature_time is not null), 0) "  # noqa: S608
        f"from {table}"
    ).fetchone()
    assert row is not None
    return LabelCoverage(int(row[0]), int(row[1]), int(row[2]))


def feature_null_rates(
    connection: duckdb.DuckDBPyConnection, table: str = TRAINING_SET_TABLE, features: tuple[str, ...] = FEATURES
) -> dict[str, float]:
    """Per feature: NULL share among the rows that have a features row."""
    selects = ", ".join(f"avg(cast({name} is null as double))" for name in features)
    row = connection.execute(f"select {selects} from {table} where feature_time is not null").fetchone()  # noqa: S608
    assert row is not None
    return {name: float(value or 0.0) for name, value in zip(features, row, strict=True)}


def leaking_rows(
    connection: duckdb.DuckDBPyConnection, label_maturity_days: int, table: str = TRAINING_SET_TABLE
) -> dict[str, int]:
    """Rows that could leak the future into training.

    `features_at_or_after_payment`: a features row holding data from the payment's own instant or
    later (`feature_time >= payment_time`). The training set stamps `feature_time` with the newest
    instant the features may contain (dbt's windows `[t - w, t)` end 1 us before the payment), so
    a row whose data reaches the payment time is blocked, not only one stamped after it.
    `immature_labels`: a payment younger than the label-maturity window (its label may still change).
    """
    row = connection.execute(
        f"""select
            count(*) filter (where feature_time >= payment_time),
            count(*) filter (where payment_time >= as_of - to_days(cast(? as integer)))
        from {table}""",  # (table names are constants)
        [label_maturity_days],
    ).fetchone()
    assert row is not None
    return {"features_at_or_after_payment": int(row[0]), "immature_labels": int(row[1])}
