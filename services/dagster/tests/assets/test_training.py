"""Training set, training, evaluation and promotion on the built warehouse (real dbt output)."""

import os
from datetime import UTC
from pathlib import Path

import duckdb
import numpy as np
import pytest
from conftest import Stack, checks_of, make_settings, metadata_of, model_chain
from dagster import AssetsDefinition, AssetSelection, materialize

from contracts.schemas.features import FRAUD_FEATURE_NAMES as FEATURE_NAMES
from model_registry import ModelRegistry, TrainingWindow, dataset_hash
from pipelines.assets.training import FRAUD_MODEL_NAME, RULES_PREFIX, checks
from pipelines.assets.training.dataset import FEATURE_SET_VERSION, build_training_set, load_training_data
from pipelines.assets.training.metrics import (
    decide_promotion,
    expected_calibration_error,
    fraud_metrics,
    is_better,
    recall_at_fpr,
)
from pipelines.assets.training.model import (
    Hyperparameters,
    load_booster,
    rules_predict,
    train_fraud_model,
    training_threads,
)
from pipelines.definitions import build_definitions

FRAUD = model_chain(FRAUD_MODEL_NAME)
WEAK = {"ops": {"fraud_model_candidate": {"config": {"max_depth": 1, "num_boost_round": 1}}}}


def register_weak_champion(stack: Stack) -> str:
    """A real but weak booster (one stump), promoted as the champion to beat."""
    with duckdb.connect(str(stack.settings.warehouse_path)) as connection:
        build_training_set(connection, stack.settings.label_maturity_days)
        data = load_training_data(connection)
    weak = train_fraud_model(data, Hyperparameters(max_depth=1, num_boost_round=1))
    registry = ModelRegistry(stack.settings.registry_root)
    card = registry.register(
        load_booster(weak.model_ubj),
        name=FRAUD_MODEL_NAME,
        feature_set_version=FEATURE_SET_VERSION,
        training_window=TrainingWindow(
            start=data.train.start.replace(tzinfo=UTC), end=data.validation.end.replace(tzinfo=UTC)
        ),
        data_hash=dataset_hash(data.train.x),
        code_version="test",
        version="weak-stump",
    )
    registry.promote(FRAUD_MODEL_NAME, card.version)
    return card.version


def test_first_candidate_is_trained_checked_and_promoted(trained_stack: Stack) -> None:
    result = trained_stack.materialize("training")

    assert result.success
    assert all(e.passed for e in result.get_asset_check_evaluations())
    assert checks_of(result) == {"label_coverage": True, "feature_null_rates": True, "no_leakage": True}
    promotion = metadata_of(result, "fraud_model_champion")
    assert promotion["promoted"] is True
    registry = ModelRegistry(trained_stack.settings.registry_root)
    champion = registry.load_champion(FRAUD_MODEL_NAME)
    assert champion is not None and champion.card.version == promotion["champion_version"]
    evaluation = metadata_of(result, "fraud_model_evaluation")
    assert evaluation["candidate.roc_auc"] > 0.8  # type: ignore[operator]
    assert "pr_curve" in evaluation and "data:image/png;base64," in str(evaluation["pr_curve"])
    # The rules baseline scored on the same holdout, beaten, and on the promoted model's card.
    assert evaluation["rules_v1.holdout_rows"] == evaluation["candidate.holdout_rows"]
    assert evaluation["candidate.pr_auc"] > evaluation["rules_v1.pr_auc"]  # type: ignore[operator]
    assert evaluation["beats_rules"] is True
    card = champion.card.metrics
    assert card[f"{RULES_PREFIX}holdout_pr_auc"] == evaluation["rules_v1.pr_auc"]
    assert card[f"{RULES_PREFIX}holdout_recall_at_1pct_fpr"] == evaluation["rules_v1.recall_at_1pct_fpr"]
    assert card["holdout_pr_auc"] == evaluation["candidate.pr_auc"]


def test_a_better_candidate_replaces_the_champion(trained_stack: Stack) -> None:
    weak = register_weak_champion(trained_stack)

    result = trained_stack.materialize(selection=FRAUD)

    promotion = metadata_of(result, "fraud_model_champion")
    assert promotion["promoted"] is True and promotion["previous"] == weak
    evaluation = metadata_of(result, "fraud_model_evaluation")
    assert evaluation["candidate.pr_auc"] > evaluation["champion.pr_auc"]  # type: ignore[operator]
    assert (
        ModelRegistry(trained_stack.settings.registry_root).champion(FRAUD_MODEL_NAME) == promotion["champion_version"]
    )


def test_a_worse_candidate_is_not_promoted(trained_stack: Stack) -> None:
    assert trained_stack.materialize(selection=FRAUD).success
    registry = ModelRegistry(trained_stack.settings.registry_root)
    champion = registry.champion(FRAUD_MODEL_NAME)
    versions = registry.versions(FRAUD_MODEL_NAME)

    result = trained_stack.materialize(selection=FRAUD, run_config=WEAK)

    assert result.success
    assert metadata_of(result, "fraud_model_champion")["promoted"] is False
    evaluation = metadata_of(result, "fraud_model_evaluation")
    assert evaluation["candidate.pr_auc"] < evaluation["champion.pr_auc"]  # type: ignore[operator]
    assert registry.champion(FRAUD_MODEL_NAME) == champion
    assert registry.versions(FRAUD_MODEL_NAME) == versions


def test_a_candidate_below_the_rules_is_not_promoted_even_without_a_champion(trained_stack: Stack) -> None:
    """One stump, one round: two distinct scores, far below rules-v1's ranking on the holdout."""
    result = trained_stack.materialize(selection=FRAUD, run_config=WEAK)

    assert result.success
    evaluation = metadata_of(result, "fraud_model_evaluation")
    assert evaluation["champion_version"] == "none"
    assert evaluation["candidate.pr_auc"] < evaluation["rules_v1.pr_auc"]  # type: ignore[operator]
    assert evaluation["beats_champion"] is True and evaluation["beats_rules"] is False
    promotion = metadata_of(result, "fraud_model_champion")
    assert promotion["promoted"] is False and "rules baseline" in str(promotion["reason"])
    registry = ModelRegistry(trained_stack.settings.registry_root)
    assert registry.champion(FRAUD_MODEL_NAME) is None
    assert registry.versions(FRAUD_MODEL_NAME) == []


def test_rules_baseline_on_a_holdout_worked_by_hand() -> None:
    """rules-v1 (bias -4) on four holdout rows, worked on paper:
    - negative, merchant_risk_score 1: z = -4 + 2.0 = -2.0 -> 1 / (1 + e^2) = 0.119203
    - positive, foreign card: z = -4 + 1.2 = -2.8 -> 1 / (1 + e^2.8) = 0.057324
    - positive and negative, every feature 0 (one NULL, counted 0): z = -4 -> 0.017986 (a tie)
    Ranked: neg, pos, {pos, neg}. Average precision = 1/2 * 1/2 (recall 1/2 at precision 1/2)
    + 1/2 * 2/4 (recall 1 at precision 2/4) = 0.5. ROC-AUC over the 4 (pos, neg) pairs:
    0.057 > 0.018 wins 1, the tie counts 1/2, both lose to 0.119: 1.5 / 4 = 0.375.
    At FPR 0 (<= 1 %) no positive scores above 0.119: recall 0.
    """
    names = list(FEATURE_NAMES)
    x = np.zeros((4, len(names)))
    x[0, names.index("merchant_risk_score")] = 1
    x[1, names.index("is_foreign_card")] = 1
    x[3, names.index("customer_tenure_days")] = np.nan
    y = np.array([0, 1, 1, 0.0])

    scores = rules_predict(x)
    metrics = fraud_metrics(y, scores)

    assert scores == pytest.approx([0.119203, 0.057324, 0.017986, 0.017986], abs=1e-6)
    assert metrics["pr_auc"] == pytest.approx(0.5)
    assert metrics["roc_auc"] == pytest.approx(0.375)
    assert metrics["recall_at_1pct_fpr"] == 0.0


def test_promotion_needs_both_the_champion_and_the_rules_beaten() -> None:
    rules = {"pr_auc": 0.4}
    assert decide_promotion({"pr_auc": 0.5}, None, rules).promote
    assert decide_promotion({"pr_auc": 0.5}, {"pr_auc": 0.45}, rules).promote
    below_rules = decide_promotion({"pr_auc": 0.39}, None, rules)
    assert not below_rules.promote and below_rules.beats_champion and not below_rules.beats_rules
    assert not decide_promotion({"pr_auc": 0.4}, None, rules).promote
    below_champion = decide_promotion({"pr_auc": 0.5}, {"pr_auc": 0.6}, rules)
    assert not below_champion.promote and below_champion.beats_rules and not below_champion.beats_champion


def test_training_is_reproducible_with_a_seed(trained_stack: Stack) -> None:
    with duckdb.connect(str(trained_stack.settings.warehouse_path)) as connection:
        build_training_set(connection, 60)
        data = load_training_data(connection)

    first = train_fraud_model(data, Hyperparameters(seed=11))
    second = train_fraud_model(data, Hyperparameters(seed=11))
    other = train_fraud_model(data, Hyperparameters(seed=12))

    assert first.model_ubj == second.model_ubj
    assert first.model_ubj != other.model_ubj


def test_training_gives_the_same_bytes_at_any_thread_count(trained_stack: Stack) -> None:
    """The thread count follows the machine (affinity, cgroup quota, PIPELINES_TRAINING_THREADS):
    the model may not."""
    with duckdb.connect(str(trained_stack.settings.warehouse_path)) as connection:
        build_training_set(connection, 60)
        data = load_training_data(connection)

    one = train_fraud_model(data, Hyperparameters(seed=11, nthread=1))
    three = train_fraud_model(data, Hyperparameters(seed=11, nthread=3))

    assert one.best_iteration > 0
    assert one.model_ubj == three.model_ubj


def test_training_threads_follow_the_cgroup_quota_and_the_override(tmp_path: Path) -> None:
    cores = len(os.sched_getaffinity(0))
    cpu_max = tmp_path / "cpu.max"
    cpu_max.write_text("50000 100000\n", encoding="ascii")  # half a CPU: one thread
    assert training_threads(cpu_max=cpu_max) == 1
    cpu_max.write_text("150000 100000\n", encoding="ascii")  # 1.5 CPUs: two threads, if there are two cores
    assert training_threads(cpu_max=cpu_max) == min(cores, 2)
    cpu_max.write_text("max 100000\n", encoding="ascii")  # no quota: the affinity
    assert training_threads(cpu_max=cpu_max) == cores
    assert training_threads(cpu_max=tmp_path / "no-cgroup-v2") == cores
    assert training_threads(5, cpu_max=cpu_max) == 5
    with pytest.raises(ValueError, match="at least 1"):
        training_threads(0)


def test_the_thread_setting_reaches_the_candidate(trained_stack: Stack) -> None:
    settings = make_settings(
        trained_stack.settings.warehouse_path.parent, store_dsn=trained_stack.settings.store_dsn, training_threads=3
    )
    defs = build_definitions(settings)
    assets = [a for a in defs.assets or [] if isinstance(a, AssetsDefinition)]
    result = materialize(
        assets,
        selection=AssetSelection.assets("fraud_training_set", "fraud_model_candidate"),
        resources=dict(defs.resources or {}),
    )
    assert metadata_of(result, "fraud_model_candidate")["nthread"] == 3


def test_splits_are_ordered_in_time_and_only_matured_payments_are_labelled(trained_stack: Stack) -> None:
    with duckdb.connect(str(trained_stack.settings.warehouse_path)) as connection:
        build_training_set(connection, 60)
        data = load_training_data(connection)
        newest = connection.execute("select max(attempted_at) from fct_payments").fetchone()
    assert newest is not None
    assert data.train.times.max() < data.validation.times.min()
    assert data.validation.times.max() < data.holdout.times.min()
    cut = np.datetime64(newest[0]) - np.timedelta64(60, "D")
    assert data.holdout.times.max() < cut
    assert data.train.y.sum() > 0 and data.holdout.y.sum() > 0


def test_immature_data_blocks_training(trained_stack: Stack) -> None:
    """A maturity window longer than the data: no labelled rows, the blocking check fails and
    nothing downstream runs."""
    settings = make_settings(
        trained_stack.settings.warehouse_path.parent,
        store_dsn=trained_stack.settings.store_dsn,
        label_maturity_days=10_000,
    )
    defs = build_definitions(settings)
    assets = [a for a in defs.assets or [] if isinstance(a, AssetsDefinition)]
    result = materialize(
        assets, selection=AssetSelection.groups("training"), resources=dict(defs.resources or {}), raise_on_error=False
    )

    fraud_coverage = [
        e.passed
        for e in result.get_asset_check_evaluations()
        if e.asset_key.to_user_string() == "fraud_training_set" and e.check_name == "label_coverage"
    ]
    assert fraud_coverage == [False]
    materialized = {e.materialization.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    # The churn chain has its own label window (the churn horizon) and is not blocked.
    assert {name for name in materialized if name.startswith("fraud_")} == {"fraud_training_set"}
    assert ModelRegistry(settings.registry_root).champion(FRAUD_MODEL_NAME) is None


def test_recall_at_one_percent_fpr_worked_by_hand() -> None:
    # 200 negatives scored 0..199/1000, 4 positives; 1 % FPR allows 2 negatives above the threshold.
    negatives = np.arange(200) / 1000
    positives = np.array([0.5, 0.3, 0.1985, 0.05])
    y = np.r_[np.zeros(200), np.ones(4)]
    scores = np.r_[negatives, positives]
    # Thresholds at 0.1985 admit negatives 0.199 only (FPR 0.5 %): positives 0.5, 0.3, 0.1985 -> 3/4.
    assert recall_at_fpr(y, scores, 0.01) == pytest.approx(0.75)


def test_recall_at_one_percent_fpr_agrees_with_counting_every_threshold() -> None:
    """sklearn's ROC curve against a brute-force count: for every distinct score as a threshold
    (flag score >= threshold), FPR and TPR counted directly; the best TPR with FPR <= 1 %. Scores
    rounded to two decimals, so ties across classes occur."""
    rng = np.random.default_rng(3)
    for _ in range(20):
        y = (rng.random(1500) < 0.05).astype(np.float64)
        scores = np.round(np.clip(rng.normal(0.3 + 0.25 * y, 0.15), 0, 1), 2)
        positives, negatives = y.sum(), len(y) - y.sum()
        best = 0.0
        for threshold in np.unique(scores):
            flagged = scores >= threshold
            if (flagged & (y == 0)).sum() / negatives <= 0.01:
                best = max(best, (flagged & (y == 1)).sum() / positives)
        assert recall_at_fpr(y, scores, 0.01) == pytest.approx(best, abs=1e-12)


def test_calibration_error_and_promotion_rule_worked_by_hand() -> None:
    y = np.array([0, 0, 1, 1.0])
    scores = np.array([0.05, 0.05, 0.95, 0.55])
    # bin 0: mean score 0.05, rate 0 -> 0.05 * 2/4; bin 5: 0.55 vs 1 -> 0.45 * 1/4; bin 9: 0.95 vs 1 -> 0.05 * 1/4
    assert expected_calibration_error(y, scores) == pytest.approx(0.025 + 0.1125 + 0.0125)
    assert is_better({"pr_auc": 0.5}, None)
    assert is_better({"pr_auc": 0.51}, {"pr_auc": 0.5})
    assert not is_better({"pr_auc": 0.5}, {"pr_auc": 0.5})
    assert not is_better({"pr_auc": 0.52}, {"pr_auc": 0.5}, min_improvement=0.05)


def test_leakage_check_flags_feature_data_at_or_after_the_payment_time() -> None:
    """Hand-made training rows (payments 100 days before the as-of instant, so all matured): feature
    data 1 us before the payment passes; exactly at the payment time or later is leakage."""
    with duckdb.connect() as connection:
        connection.execute("create schema ml")
        connection.execute(
            "create table ml.fraud_training_set (payment_id text, payment_time timestamp, "
            "feature_time timestamp, as_of timestamp)"
        )
        connection.execute(
            """insert into ml.fraud_training_set values
            ('before', '2026-01-01 12:00:00', '2026-01-01 11:59:59.999999', '2026-04-11 00:00:00'),
            ('exactly_at', '2026-01-01 12:00:00', '2026-01-01 12:00:00', '2026-04-11 00:00:00'),
            ('after', '2026-01-01 12:00:00', '2026-01-01 12:00:00.000001', '2026-04-11 00:00:00'),
            ('no_features', '2026-01-01 12:00:00', null, '2026-04-11 00:00:00')"""
        )
        assert checks.leaking_rows(connection, 60) == {"features_at_or_after_payment": 2, "immature_labels": 0}
        connection.execute("delete from ml.fraud_training_set where payment_id in ('exactly_at', 'after')")
        assert checks.leaking_rows(connection, 60) == {"features_at_or_after_payment": 0, "immature_labels": 0}


def test_training_set_stamps_features_before_their_payment(trained_stack: Stack) -> None:
    """dbt stamps a features row with the payment time; the training set's feature_time is the
    newest instant its data may come from, strictly before the payment."""
    with duckdb.connect(str(trained_stack.settings.warehouse_path)) as connection:
        build_training_set(connection, 60)
        row = connection.execute(
            "select count(*), count(*) filter (where t.feature_time = f.event_timestamp - interval 1 microsecond) "
            "from ml.fraud_training_set t join fraud_features f using (payment_id)"
        ).fetchone()
    assert row is not None and row[0] > 0 and row[1] == row[0]
