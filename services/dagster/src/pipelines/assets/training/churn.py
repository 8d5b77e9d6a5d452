"""The churn training set: dbt's point-in-time churn features at each customer's payments, with
the label "this customer pays nothing more within the horizon".

A customer is scored at every instant they attempt a payment (the rows of dbt's `churn_features`,
one per customer and attempt time). The label is 1 when the customer's next attempt comes later
than `horizon_days` after it, or never. Only rows older than the horizon (counted back from the
newest payment in the warehouse) are labelled: for a younger one, "no payment yet" may still
change. The split into train, validation and holdout is by time, as for fraud.
"""

from typing import Final

import duckdb

from contracts.schemas.features import CHURN_FEATURE_NAMES, CHURN_FEATURE_SET_VERSION

CHURN_TRAINING_SET_TABLE: Final = "ml.churn_training_set"
CHURN_FEATURE_SET: Final = CHURN_FEATURE_SET_VERSION
CHURN_FEATURES: Final = CHURN_FEATURE_NAMES


def build_churn_training_set(connection: duckdb.DuckDBPyConnection, horizon_days: int) -> None:
    """(Re)create `ml.churn_training_set`: every customer attempt time older than the horizon, its
    churn features row (NULLs when dbt has none: the coverage check counts them) and its label.

    Columns as the fraud training set's, so the same loader and checks read both: `payment_time`
    is the attempt instant the customer is scored at, `feature_time` the newest instant the
    features may hold data from (dbt's windows `[t - w, t)`: 1 us before it).
    """
    features = ", ".join(f"f.{name}" for name in CHURN_FEATURES)
    connection.execute("create schema if not exists ml")
    connection.execute(
        f"""
        create or replace table {CHURN_TRAINING_SET_TABLE} as
        with as_of as (select max(attempted_at) as as_of from fct_payments),
        attempts as (
            select distinct customer_id, attempted_at from fct_payments where customer_id is not null
        ),
        following as (
            select
                customer_id,
                attempted_at,
                lead(attempted_at) over (partition by customer_id order by attempted_at) as next_attempt_at
            from attempts
        )
        select
            a.customer_id,
            a.attempted_at as payment_time,
            f.event_timestamp - interval 1 microsecond as feature_time,
            as_of.as_of,
            {features},
            -- Every attempt up to as_of is in `attempts`, and a labelled row's horizon ends before
            -- as_of: no next attempt at all means none within the horizon.
            cast(
                a.next_attempt_at is null or a.next_attempt_at > a.attempted_at + to_days(cast(? as integer))
                as integer
            ) as label
        from following a
        cross join as_of
        left join churn_features f on f.customer_id = a.customer_id and f.event_timestamp = a.attempted_at
        where a.attempted_at < as_of.as_of - to_days(cast(? as integer))
        order by a.attempted_at, a.customer_id
        """,  # noqa: S608 (names from contracts)
        [horizon_days, horizon_days],
    )
