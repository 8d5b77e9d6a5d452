"""Training set -> fraud model candidate -> holdout evaluation -> promotion through the registry."""

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    Config,
    MaterializeResult,
    MetadataValue,
    Output,
    asset,
)

from baselines import FRAUD_RULES_V1
from model_registry import TrainingWindow, dataset_hash
from pipelines.assets.training import checks
from pipelines.assets.training.dataset import (
    FEATURE_SET_VERSION,
    TRAINING_SET_TABLE,
    TrainingData,
    build_training_set,
    load_training_data,
)
from pipelines.assets.training.metrics import PROMOTION_METRIC, decide_promotion, fraud_metrics, pr_curve_png
from pipelines.assets.training.model import (
    Hyperparameters,
    TrainedModel,
    load_booster,
    predict,
    rules_predict,
    train_fraud_model,
)
from pipelines.resources.registry import RegistryResource
from pipelines.resources.training import TrainingPolicy
from pipelines.resources.warehouse import Warehouse

TRAINING_GROUP: Final = "training"
FRAUD_MODEL_NAME: Final = "fraud"
CODE_VERSION: Final = "pipelines-0.1.0"
LABEL_COVERAGE_CHECK: Final = "label_coverage"
NULL_RATES_CHECK: Final = "feature_null_rates"
LEAKAGE_CHECK: Final = "no_leakage"
RULES_PREFIX: Final = "rules_v1."
"""Prefix of the rules baseline's metrics in the evaluation metadata and on the promoted model's
card (`rules_v1.holdout_pr_auc` beside the candidate's `holdout_pr_auc`)."""
# The dbt models the training set reads (dagster-dbt keys a model by its name).
DBT_INPUTS: Final = [AssetKey("fraud_features"), AssetKey("fct_payments"), AssetKey("fct_disputes")]


@asset(
    group_name=TRAINING_GROUP,
    deps=DBT_INPUTS,
    kinds={"duckdb"},
    check_specs=[
        AssetCheckSpec(
            LABEL_COVERAGE_CHECK,
            asset="fraud_training_set",
            blocking=True,
            description="Matured payments with features, and both classes present.",
        ),
        AssetCheckSpec(
            NULL_RATES_CHECK,
            asset="fraud_training_set",
            blocking=True,
            description="No feature column has more NULLs than allowed.",
        ),
        AssetCheckSpec(
            LEAKAGE_CHECK,
            asset="fraud_training_set",
            blocking=True,
            description="No feature data at or after its payment time; no label younger than the maturity window.",
        ),
    ],
)
def fraud_training_set(
    warehouse: Warehouse, policy: TrainingPolicy
) -> Iterator[MaterializeResult[Any] | AssetCheckResult]:
    """Matured payments (older than the label-maturity window) with dbt's point-in-time fraud
    features and their label (a lost dispute), in `ml.fraud_training_set`."""
    with warehouse.connect() as connection:
        build_training_set(connection, policy.label_maturity_days)
        coverage = checks.label_coverage(connection)
        nulls = checks.feature_null_rates(connection)
        leaks = checks.leaking_rows(connection, policy.label_maturity_days)
    yield MaterializeResult(
        metadata={
            "table": TRAINING_SET_TABLE,
            "matured_payments": coverage.matured,
            "rows_with_features": coverage.with_features,
            "positives": coverage.positives,
            "label_maturity_days": policy.label_maturity_days,
        }
    )
    yield AssetCheckResult(
        check_name=LABEL_COVERAGE_CHECK,
        passed=coverage.share >= policy.min_label_coverage and 0 < coverage.positives < coverage.with_features,
        severity=AssetCheckSeverity.ERROR,
        metadata={"share": coverage.share, "positives": coverage.positives, "matured": coverage.matured},
    )
    worst = max(nulls.values()) if nulls else 0.0
    yield AssetCheckResult(
        check_name=NULL_RATES_CHECK,
        passed=worst <= policy.max_feature_null_rate,
        severity=AssetCheckSeverity.ERROR,
        metadata={"worst": worst, **{f"null_rate.{name}": rate for name, rate in nulls.items()}},
    )
    yield AssetCheckResult(
        check_name=LEAKAGE_CHECK,
        passed=not any(leaks.values()),
        severity=AssetCheckSeverity.ERROR,
        metadata=dict(leaks),
    )


class TrainingConfig(Config):
    max_depth: int = 4
    learning_rate: float = 0.1
    num_boost_round: int = 400
    early_stopping_rounds: int = 30


def _training_data(warehouse: Warehouse) -> TrainingData:
    with warehouse.connect(read_only=True) as connection:
        return load_training_data(connection)


@asset(group_name=TRAINING_GROUP, deps=["fraud_training_set"], kinds={"xgboost"})
def fraud_model_candidate(
    context: AssetExecutionContext, config: TrainingConfig, warehouse: Warehouse, policy: TrainingPolicy
) -> Output[TrainedModel]:
    """An XGBoost fraud model trained on the oldest part of the training set (seeded, positives
    weighted by the class ratio), stopped early on the next part in time."""
    data = _training_data(warehouse)
    hyper = Hyperparameters(
        seed=policy.seed,
        max_depth=config.max_depth,
        learning_rate=config.learning_rate,
        num_boost_round=config.num_boost_round,
        early_stopping_rounds=config.early_stopping_rounds,
    )
    model = train_fraud_model(data, hyper)
    context.log.info(f"best iteration {model.best_iteration}, validation PR-AUC {model.validation_pr_auc:.4f}")
    return Output(
        model,
        metadata={
            "best_iteration": model.best_iteration,
            "validation_pr_auc": model.validation_pr_auc,
            "scale_pos_weight": model.scale_pos_weight,
            "train_rows": len(data.train.y),
            "validation_rows": len(data.validation.y),
            "train_window": f"{data.train.start} .. {data.train.end}",
            "seed": policy.seed,
        },
    )


@dataclass(frozen=True)
class Evaluation:
    candidate: dict[str, float]
    champion: dict[str, float] | None
    champion_version: str | None
    rules: dict[str, float]
    """`rules-v1` on the same holdout."""
    beats_champion: bool
    beats_rules: bool
    reason: str
    training_window: TrainingWindow
    data_hash: str


@asset(group_name=TRAINING_GROUP, kinds={"xgboost"})
def fraud_model_evaluation(
    context: AssetExecutionContext,
    fraud_model_candidate: TrainedModel,
    warehouse: Warehouse,
    registry: RegistryResource,
    policy: TrainingPolicy,
) -> Output[Evaluation]:
    """Candidate, current champion and the rules baseline (`rules-v1`, the scorecard inference
    serves without a champion) on the same later, time-based holdout (labels only from matured
    payments)."""
    data = _training_data(warehouse)
    holdout = data.holdout
    candidate_scores = predict(load_booster(fraud_model_candidate.model_ubj), holdout.x)
    candidate = fraud_metrics(holdout.y, candidate_scores)
    curves = {"candidate": candidate_scores}
    champion_model = registry.registry().load_champion(FRAUD_MODEL_NAME, expected_feature_set=FEATURE_SET_VERSION)
    champion = None
    if champion_model is not None:
        champion_scores = predict(champion_model.booster, holdout.x)
        champion = fraud_metrics(holdout.y, champion_scores)
        curves[f"champion {champion_model.card.version}"] = champion_scores
    rules_scores = rules_predict(holdout.x)
    rules = fraud_metrics(holdout.y, rules_scores)
    curves[FRAUD_RULES_V1.version] = rules_scores
    decision = decide_promotion(candidate, champion, rules, policy.min_improvement)
    context.log.info(decision.reason)
    png = pr_curve_png(holdout.y, curves)
    metadata: dict[str, object] = {
        **{f"candidate.{k}": v for k, v in candidate.items()},
        **({f"champion.{k}": v for k, v in champion.items()} if champion else {}),
        **{f"{RULES_PREFIX}{k}": v for k, v in rules.items()},
        "champion_version": champion_model.card.version if champion_model else "none",
        "better_on": PROMOTION_METRIC,
        "beats_champion": decision.beats_champion,
        "beats_rules": decision.beats_rules,
        "better": decision.promote,
        "reason": decision.reason,
        "pr_curve": MetadataValue.md(f"![PR curve](data:image/png;base64,{base64.b64encode(png).decode()})"),
    }
    if policy.reports_dir:
        path = Path(policy.reports_dir) / f"fraud_pr_curve_{context.run_id}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(png)
        metadata["pr_curve_png"] = MetadataValue.path(str(path))
    train = data.train
    return Output(
        Evaluation(
            candidate=candidate,
            champion=champion,
            champion_version=champion_model.card.version if champion_model else None,
            rules=rules,
            beats_champion=decision.beats_champion,
            beats_rules=decision.beats_rules,
            reason=decision.reason,
            training_window=TrainingWindow(
                start=train.start.replace(tzinfo=UTC), end=data.validation.end.replace(tzinfo=UTC)
            ),
            data_hash=dataset_hash(train.x, train.y, data.validation.x, data.validation.y),
        ),
        metadata=metadata,  # type: ignore[arg-type]
    )


@asset(group_name=TRAINING_GROUP, kinds={"xgboost"})
def fraud_model_champion(
    fraud_model_candidate: TrainedModel, fraud_model_evaluation: Evaluation, registry: RegistryResource
) -> MaterializeResult[Any]:
    """The candidate registered and promoted only when it beats both the champion and the rules
    baseline on the agreed metric; inference hot-reloads the champion pointer. The card holds the
    candidate's holdout metrics (`holdout_*`) and the rules baseline's on the same holdout
    (`rules_v1.holdout_*`), so a reader of the registry alone can compare them."""
    evaluation = fraud_model_evaluation
    store = registry.registry()
    if not (evaluation.beats_champion and evaluation.beats_rules):
        return MaterializeResult(
            metadata={
                "promoted": False,
                "champion_version": evaluation.champion_version or "none",
                "beats_champion": evaluation.beats_champion,
                "beats_rules": evaluation.beats_rules,
                "reason": evaluation.reason,
            }
        )
    card = store.register(
        load_booster(fraud_model_candidate.model_ubj),
        name=FRAUD_MODEL_NAME,
        feature_set_version=FEATURE_SET_VERSION,
        training_window=evaluation.training_window,
        data_hash=evaluation.data_hash,
        code_version=CODE_VERSION,
        metrics={
            **{f"holdout_{k}": v for k, v in evaluation.candidate.items()},
            **{f"{RULES_PREFIX}holdout_{k}": v for k, v in evaluation.rules.items()},
        },
        created_at=datetime.now(UTC),
    )
    pointer = store.promote(FRAUD_MODEL_NAME, card.version)
    return MaterializeResult(
        metadata={
            "promoted": True,
            "champion_version": pointer.version,
            "previous": pointer.previous or "none",
            PROMOTION_METRIC: evaluation.candidate[PROMOTION_METRIC],
            f"{RULES_PREFIX}{PROMOTION_METRIC}": evaluation.rules[PROMOTION_METRIC],
        }
    )
