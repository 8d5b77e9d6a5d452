"""The churn chain: training set (labels worked by hand), training, evaluation against rules-v1,
promotion through the registry under the churn slot inference serves."""

import duckdb
import numpy as np
import pytest
from conftest import Stack, checks_of, metadata_of, model_chain

from baselines import CHURN_RULES_V1
from contracts.schemas.features import CHURN_FEATURE_NAMES, CHURN_FEATURE_SET_VERSION
from model_registry import ModelRegistry
from pipelines.assets.training import CHURN_MODEL_NAME, RULES_PREFIX
from pipelines.assets.training.churn import CHURN_TRAINING_SET_TABLE, build_churn_training_set
from pipelines.assets.training.dataset import load_training_data
from pipelines.assets.training.metrics import decide_promotion


def average_precision_by_counting(y: np.ndarray, scores: np.ndarray) -> float:
    """Sum over distinct thresholds, highest first, of (recall gained) x (precision there)."""
    total, recall_before = 0.0, 0.0
    for threshold in np.unique(scores)[::-1]:
        flagged = scores >= threshold
        recall = (flagged & (y == 1)).sum() / (y == 1).sum()
        total += (recall - recall_before) * (flagged & (y == 1)).sum() / flagged.sum()
        recall_before = recall
    return float(total)


def test_churn_labels_worked_by_hand() -> None:
    """Horizon 45 days; the newest payment (as-of, customer d's) is on day 200, so rows before day
    155 are labelled. Customer a pays on days 0, 10 and 70: day 0 is followed within 45 days (day
    10) -> 0; day 10 is next followed 60 days later -> 1; day 70 has no later payment -> 1.
    Customer b pays on days 100 and 140: day 100 -> 0 (day 140 is 40 days later); day 140 -> 1.
    Customers c (day 180) and d (day 200) are younger than the horizon: no rows. Customer a's
    day-10 row has no features row: NULL features, kept for the coverage check."""
    with duckdb.connect() as connection:
        connection.execute("create table fct_payments (customer_id text, attempted_at timestamp)")
        connection.execute(
            "insert into fct_payments values "
            "('a', timestamp '2026-01-01' + interval 0 day), ('a', timestamp '2026-01-01' + interval 10 day), "
            "('a', timestamp '2026-01-01' + interval 70 day), ('b', timestamp '2026-01-01' + interval 100 day), "
            "('b', timestamp '2026-01-01' + interval 140 day), ('c', timestamp '2026-01-01' + interval 180 day), "
            "('d', timestamp '2026-01-01' + interval 200 day)"
        )
        columns = ", ".join(f"{name} double" for name in CHURN_FEATURE_NAMES)
        connection.execute(f"create table churn_features (customer_id text, event_timestamp timestamp, {columns})")
        ones = ", ".join("1" for _ in CHURN_FEATURE_NAMES)
        insert = f"insert into churn_features values (?, timestamp '2026-01-01' + to_days(?), {ones})"  # noqa: S608
        for customer, day in (("a", 0), ("a", 70), ("b", 100), ("b", 140), ("c", 180)):
            connection.execute(insert, [customer, day])

        build_churn_training_set(connection, 45)
        rows = connection.execute(
            f"select customer_id, date_diff('day', timestamp '2026-01-01', payment_time), label, "  # noqa: S608
            f"feature_time is not null from {CHURN_TRAINING_SET_TABLE} order by all"
        ).fetchall()

    assert rows == [
        ("a", 0, 0, True),
        ("a", 10, 1, False),
        ("a", 70, 1, True),
        ("b", 100, 0, True),
        ("b", 140, 1, True),
    ]


def test_churn_model_is_trained_evaluated_against_the_rules_and_promoted_only_when_better(
    trained_stack: Stack,
) -> None:
    result = trained_stack.materialize(selection=model_chain(CHURN_MODEL_NAME))

    assert result.success
    churn_checks = {
        e.check_name: e.passed
        for e in result.get_asset_check_evaluations()
        if e.asset_key.to_user_string() == "churn_training_set"
    }
    assert churn_checks == {"label_coverage": True, "feature_null_rates": True, "no_leakage": True}
    assert checks_of(result)["label_coverage"] is True
    candidate = metadata_of(result, "churn_model_candidate")
    assert candidate["train_rows"] > 0 and candidate["validation_rows"] > 0  # type: ignore[operator]
    evaluation = metadata_of(result, "churn_model_evaluation")

    # The rules baseline scored independently on the same holdout rows gives the same metrics.
    with duckdb.connect(str(trained_stack.settings.warehouse_path), read_only=True) as connection:
        holdout = load_training_data(connection, table=CHURN_TRAINING_SET_TABLE, features=CHURN_FEATURE_NAMES).holdout
    rules_scores = CHURN_RULES_V1.predict(np.nan_to_num(holdout.x).astype(np.float32)).astype(np.float64)
    assert evaluation["rules_v1.holdout_rows"] == evaluation["candidate.holdout_rows"] == len(holdout.y)
    assert evaluation["rules_v1.holdout_positives"] == holdout.y.sum() > 0
    assert evaluation["rules_v1.pr_auc"] == pytest.approx(average_precision_by_counting(holdout.y, rules_scores))
    assert evaluation["candidate.roc_auc"] > 0.5  # type: ignore[operator]

    # Promotion follows the rule: above the rules baseline's PR-AUC (no champion yet).
    promotion = metadata_of(result, "churn_model_champion")
    expected = decide_promotion(
        {"pr_auc": float(evaluation["candidate.pr_auc"])},  # type: ignore[arg-type]
        None,
        {"pr_auc": float(evaluation["rules_v1.pr_auc"])},  # type: ignore[arg-type]
    ).promote
    assert promotion["promoted"] is expected
    registry = ModelRegistry(trained_stack.settings.registry_root)
    champion = registry.load_champion(CHURN_MODEL_NAME, expected_feature_set=CHURN_FEATURE_SET_VERSION)
    if expected:
        assert champion is not None and champion.card.version == promotion["champion_version"]
        assert champion.card.metrics[f"{RULES_PREFIX}holdout_pr_auc"] == evaluation["rules_v1.pr_auc"]
    else:
        assert champion is None
