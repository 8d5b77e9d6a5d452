"""The fraud training set: dbt's point-in-time features of matured payments, with late labels.

A payment's label is 1 when a dispute on it was lost (a chargeback). Disputes arrive weeks after
the payment, so only payments older than the label-maturity window (counted back from the newest
payment in the warehouse) are labelled at all: a younger payment without a dispute is not yet
known to be honest. Only payments that succeeded are labelled: a declined payment moved no money
and can never be charged back, so "no lost dispute" says nothing about it (a declined fraud attempt
would count as honest, and in the simulated world a third of fraud attempts are declined). Rows are
split by time: train, then validation (early stopping), then holdout.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Final

import duckdb
import numpy as np

from contracts.schemas.features import FRAUD_FEATURE_NAMES, FRAUD_FEATURE_SET_VERSION

TRAINING_SET_TABLE: Final = "ml.fraud_training_set"
FEATURE_SET_VERSION: Final = FRAUD_FEATURE_SET_VERSION
FEATURES: Final = FRAUD_FEATURE_NAMES


def build_training_set(connection: duckdb.DuckDBPyConnection, label_maturity_days: int) -> None:
    """(Re)create `ml.fraud_training_set`: every matured payment that succeeded (one that could be
    disputed), its features row (NULLs when dbt has none: the coverage check counts them) and its
    label."""
    features = ", ".join(f"f.{name}" for name in FEATURES)
    connection.execute("create schema if not exists ml")
    connection.execute(
        f"""
        create or replace table {TRAINING_SET_TABLE} as
        with as_of as (select max(attempted_at) as as_of from fct_payments),
        matured as (
            select p.payment_id, p.attempted_at, as_of.as_of
            from fct_payments p, as_of
            where p.attempted_at < as_of.as_of - to_days(cast(? as integer))
                -- Declined: no money moved, no dispute possible, so no label (module docstring).
                and coalesce(p.succeeded, false)
        ),
        labels as (
            select payment_id, bool_or(outcome = 'lost') as lost
            from fct_disputes
            group by payment_id
        )
        select
            m.payment_id,
            m.attempted_at as payment_time,
            -- The newest instant the features may hold data from. dbt stamps a payment's features
            -- row with the payment time t but fills it only from events in [t - w, t) (tested by
            -- dbt's assert_features_use_only_the_past): the newest includable event lies 1 us
            -- (DuckDB's resolution) before t. A row stamped later than its windows (data at t or
            -- after) then shows as feature_time >= payment_time, which the leakage check blocks.
            f.event_timestamp - interval 1 microsecond as feature_time,
            m.as_of,
            {features},
            cast(coalesce(l.lost, false) as integer) as label
        from matured m
        left join fraud_features f on f.payment_id = m.payment_id
        left join labels l on l.payment_id = m.payment_id
        order by m.attempted_at, m.payment_id
        """,  # noqa: S608 (names from contracts)
        [label_maturity_days],
    )


@dataclass(frozen=True)
class Split:
    x: np.ndarray
    y: np.ndarray
    times: np.ndarray
    start: datetime
    end: datetime


@dataclass(frozen=True)
class TrainingData:
    train: Split
    validation: Split
    holdout: Split


def load_training_data(
    connection: duckdb.DuckDBPyConnection,
    *,
    table: str = TRAINING_SET_TABLE,
    features: tuple[str, ...] = FEATURES,
    validation_share: float = 0.15,
    holdout_share: float = 0.15,
) -> TrainingData:
    """The rows with features, split by payment time: [train | validation | holdout], oldest first.

    Boundaries are times, so every validation row is later than every training row and every
    holdout row later than both (ties at a boundary go to the later part).
    """
    # Column arrays straight from DuckDB, not a Python tuple per row (the cost at a million rows).
    columns = connection.execute(
        f"select payment_time, {', '.join(features)}, label from {table} "  # noqa: S608
        "where feature_time is not null order by all"
    ).fetchnumpy()
    times = np.asarray(columns["payment_time"], dtype="datetime64[us]")
    if len(times) < 10:
        raise ValueError(f"{len(times)} labelled rows with features: too few to train")
    # A NULL feature (masked by DuckDB) is NaN, as XGBoost reads a missing value.
    x = np.column_stack([np.ma.filled(np.ma.asarray(columns[name], dtype=np.float64), np.nan) for name in features])
    y = np.asarray(columns["label"], dtype=np.float64)
    n = len(times)
    validation_from = times[int(n * (1 - validation_share - holdout_share))]
    holdout_from = times[int(n * (1 - holdout_share))]
    parts = (
        times < validation_from,
        (times >= validation_from) & (times < holdout_from),
        times >= holdout_from,
    )

    def split(mask: np.ndarray) -> Split:
        chosen = times[mask]
        return Split(x[mask], y[mask], chosen, chosen.min().astype(datetime), chosen.max().astype(datetime))

    return TrainingData(*(split(mask) for mask in parts))
