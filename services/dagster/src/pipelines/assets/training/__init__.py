"""Training set -> model candidate -> holdout evaluation -> promotion through the registry, for the
fraud model and the churn model (one factory, `model_assets`, builds both chains)."""

import base64
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetIn,
    AssetKey,
    Config,
    MaterializeResult,
    MetadataValue,
    Output,
    asset,
)

from baselines import CHURN_RULES_V1, FRAUD_RULES_V1
from baselines.rules import LinearRules
from model_registry import TrainingWindow, dataset_hash
from pipelines.assets.training import checks
from pipelines.assets.training.churn import (
    CHURN_FEATURE_SET,
    CHURN_FEATURES,
    CHURN_TRAINING_SET_TABLE,
    build_churn_training_set,
)
from pipelines.assets.training.dataset import (
    FEATURE_SET_VERSION,
    FEATURES,
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
    train_model,
    training_threads,
)
from pipelines.resources.registry import RegistryResource
from pipelines.resources.training import TrainingPolicy
from pipelines.resources.warehouse import WAREHOUSE_POOL, Warehouse

TRAINING_GROUP: Final = "training"
FRAUD_MODEL_NAME: Final = "fraud"
CHURN_MODEL_NAME: Final = "churn"
"""Registry names, as inference's model slots read them (`INFERENCE_FRAUD_MODEL`/`_CHURN_MODEL`)."""
CODE_VERSION: Final = "pipelines-0.1.0"
LABEL_COVERAGE_CHECK: Final = "label_coverage"
NULL_RATES_CHECK: Final = "feature_null_rates"
LEAKAGE_CHECK: Final = "no_leakage"
RULES_PREFIX: Final = "rules_v1."
"""Prefix of the rules baseline's metrics in the evaluation metadata and on the promoted model's
card (`rules_v1.holdout_pr_auc` beside the candidate's `holdout_pr_auc`)."""


@dataclass(frozen=True)
class ModelSpec:
    """One model's chain: what it learns from, which rules it must beat, where it is registered."""

    name: str
    """Asset prefix and registry name (`fraud`, `churn`)."""
    table: str
    feature_set_version: str
    features: tuple[str, ...]
    rules: LinearRules
    dbt_inputs: list[AssetKey]
    """The dbt models the training set reads (dagster-dbt keys a model by its name)."""
    build: Callable[[Any, "TrainingPolicy"], None]
    """(Re)creates the training set table on a warehouse connection."""
    label_days: Callable[["TrainingPolicy"], int]
    """How old a row must be for its label to be final."""
    describes: str


FRAUD = ModelSpec(
    name=FRAUD_MODEL_NAME,
    table=TRAINING_SET_TABLE,
    feature_set_version=FEATURE_SET_VERSION,
    features=FEATURES,
    rules=FRAUD_RULES_V1,
    dbt_inputs=[AssetKey("fraud_features"), AssetKey("fct_payments"), AssetKey("fct_disputes")],
    build=lambda connection, policy: build_training_set(connection, policy.label_maturity_days),
    label_days=lambda policy: policy.label_maturity_days,
    describes="Matured payments that succeeded (older than the label-maturity window) with dbt's "
    "point-in-time fraud features and their label (a lost dispute)",
)
CHURN = ModelSpec(
    name=CHURN_MODEL_NAME,
    table=CHURN_TRAINING_SET_TABLE,
    feature_set_version=CHURN_FEATURE_SET,
    features=CHURN_FEATURES,
    rules=CHURN_RULES_V1,
    dbt_inputs=[AssetKey("churn_features"), AssetKey("fct_payments")],
    build=lambda connection, policy: build_churn_training_set(connection, policy.churn_horizon_days),
    label_days=lambda policy: policy.churn_horizon_days,
    describes="Each customer at each attempt older than the churn horizon, with dbt's point-in-time "
    "churn features and the label 'no further payment within the horizon'",
)


class TrainingConfig(Config):
    max_depth: int = Hyperparameters.max_depth
    learning_rate: float = Hyperparameters.learning_rate
    num_boost_round: int = Hyperparameters.num_boost_round
    early_stopping_rounds: int = Hyperparameters.early_stopping_rounds


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


def model_assets(spec: ModelSpec) -> list[Any]:
    """`<name>_training_set` (with its blocking checks) -> `<name>_model_candidate` ->
    `<name>_model_evaluation` -> `<name>_model_champion`."""
    training_set_key = f"{spec.name}_training_set"

    def training_data(warehouse: Warehouse) -> TrainingData:
        with warehouse.connect(read_only=True) as connection:
            return load_training_data(connection, table=spec.table, features=spec.features)

    @asset(
        pool=WAREHOUSE_POOL,
        name=training_set_key,
        group_name=TRAINING_GROUP,
        deps=spec.dbt_inputs,
        kinds={"duckdb"},
        description=f"{spec.describes}, in `{spec.table}`.",
        check_specs=[
            AssetCheckSpec(
                LABEL_COVERAGE_CHECK,
                asset=training_set_key,
                blocking=True,
                description="Labelled rows with features, and both classes present.",
            ),
            AssetCheckSpec(
                NULL_RATES_CHECK,
                asset=training_set_key,
                blocking=True,
                description="No feature column has more NULLs than allowed.",
            ),
            AssetCheckSpec(
                LEAKAGE_CHECK,
                asset=training_set_key,
                blocking=True,
                description="No feature data at or after its scoring time; no label younger than its window.",
            ),
        ],
    )
    def training_set(
        warehouse: Warehouse, policy: TrainingPolicy
    ) -> Iterator[MaterializeResult[Any] | AssetCheckResult]:
        label_days = spec.label_days(policy)
        with warehouse.connect() as connection:
            spec.build(connection, policy)
            coverage = checks.label_coverage(connection, spec.table)
            nulls = checks.feature_null_rates(connection, spec.table, spec.features)
            leaks = checks.leaking_rows(connection, label_days, spec.table)
        yield MaterializeResult(
            metadata={
                "table": spec.table,
                "matured_rows": coverage.matured,
                "rows_with_features": coverage.with_features,
                "positives": coverage.positives,
                "label_window_days": label_days,
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

    @asset(
        pool=WAREHOUSE_POOL,
        name=f"{spec.name}_model_candidate",
        group_name=TRAINING_GROUP,
        deps=[training_set_key],
        kinds={"xgboost"},
        description=f"An XGBoost {spec.name} model trained on the oldest part of `{spec.table}` (seeded, "
        "positives weighted by the class ratio), stopped early on the next part in time.",
    )
    def candidate(
        context: AssetExecutionContext, config: TrainingConfig, warehouse: Warehouse, policy: TrainingPolicy
    ) -> Output[TrainedModel]:
        data = training_data(warehouse)
        hyper = Hyperparameters(
            seed=policy.seed,
            max_depth=config.max_depth,
            learning_rate=config.learning_rate,
            num_boost_round=config.num_boost_round,
            early_stopping_rounds=config.early_stopping_rounds,
            nthread=training_threads(policy.threads or None),
        )
        model = train_model(data, hyper, spec.features)
        context.log.info(f"best iteration {model.best_iteration}, validation PR-AUC {model.validation_pr_auc:.4f}")
        return Output(
            model,
            metadata={
                "best_iteration": model.best_iteration,
                "validation_pr_auc": model.validation_pr_auc,
                "validation_logloss": model.validation_logloss,
                "scale_pos_weight": model.scale_pos_weight,
                "train_rows": len(data.train.y),
                "validation_rows": len(data.validation.y),
                "train_window": f"{data.train.start} .. {data.train.end}",
                "seed": policy.seed,
                "nthread": hyper.nthread,
            },
        )

    @asset(
        pool=WAREHOUSE_POOL,
        name=f"{spec.name}_model_evaluation",
        group_name=TRAINING_GROUP,
        ins={"trained": AssetIn(f"{spec.name}_model_candidate")},
        kinds={"xgboost"},
        description="Candidate, current champion and the rules baseline (`rules-v1`, the scorecard inference "
        "serves without a champion) on the same later, time-based holdout (labels only from matured rows).",
    )
    def evaluation(
        context: AssetExecutionContext,
        trained: TrainedModel,
        warehouse: Warehouse,
        registry: RegistryResource,
        policy: TrainingPolicy,
    ) -> Output[Evaluation]:
        data = training_data(warehouse)
        holdout = data.holdout
        candidate_scores = predict(load_booster(trained.model_ubj), holdout.x)
        candidate = fraud_metrics(holdout.y, candidate_scores)
        curves = {"candidate": candidate_scores}
        champion_model = registry.registry().load_champion(spec.name, expected_feature_set=spec.feature_set_version)
        champion = None
        if champion_model is not None:
            champion_scores = predict(champion_model.booster, holdout.x)
            champion = fraud_metrics(holdout.y, champion_scores)
            curves[f"champion {champion_model.card.version}"] = champion_scores
        rules_scores = rules_predict(holdout.x, spec.rules, spec.features)
        rules = fraud_metrics(holdout.y, rules_scores)
        curves[spec.rules.version] = rules_scores
        decision = decide_promotion(candidate, champion, rules, policy.min_improvement)
        context.log.info(decision.reason)
        png = pr_curve_png(
            holdout.y, curves, title=f"{spec.name.capitalize()} model: precision-recall on the time-based holdout"
        )
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
            path = Path(policy.reports_dir) / f"{spec.name}_pr_curve_{context.run_id}.png"
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

    @asset(
        pool=WAREHOUSE_POOL,
        name=f"{spec.name}_model_champion",
        group_name=TRAINING_GROUP,
        ins={
            "trained": AssetIn(f"{spec.name}_model_candidate"),
            "evaluated": AssetIn(f"{spec.name}_model_evaluation"),
        },
        kinds={"xgboost"},
        description="The candidate registered and promoted only when it beats both the champion and the rules "
        "baseline on the agreed metric; inference hot-reloads the champion pointer. The card holds the "
        "candidate's holdout metrics (`holdout_*`) and the rules baseline's on the same holdout "
        "(`rules_v1.holdout_*`), so a reader of the registry alone can compare them.",
    )
    def champion(trained: TrainedModel, evaluated: Evaluation, registry: RegistryResource) -> MaterializeResult[Any]:
        store = registry.registry()
        if not (evaluated.beats_champion and evaluated.beats_rules):
            return MaterializeResult(
                metadata={
                    "promoted": False,
                    "champion_version": evaluated.champion_version or "none",
                    "beats_champion": evaluated.beats_champion,
                    "beats_rules": evaluated.beats_rules,
                    "reason": evaluated.reason,
                }
            )
        card = store.register(
            load_booster(trained.model_ubj),
            name=spec.name,
            feature_set_version=spec.feature_set_version,
            training_window=evaluated.training_window,
            data_hash=evaluated.data_hash,
            code_version=CODE_VERSION,
            metrics={
                **{f"holdout_{k}": v for k, v in evaluated.candidate.items()},
                **{f"{RULES_PREFIX}holdout_{k}": v for k, v in evaluated.rules.items()},
            },
            created_at=datetime.now(UTC),
        )
        pointer = store.promote(spec.name, card.version)
        return MaterializeResult(
            metadata={
                "promoted": True,
                "champion_version": pointer.version,
                "previous": pointer.previous or "none",
                PROMOTION_METRIC: evaluated.candidate[PROMOTION_METRIC],
                f"{RULES_PREFIX}{PROMOTION_METRIC}": evaluated.rules[PROMOTION_METRIC],
            }
        )

    return [training_set, candidate, evaluation, champion]


fraud_training_set, fraud_model_candidate, fraud_model_evaluation, fraud_model_champion = model_assets(FRAUD)
churn_training_set, churn_model_candidate, churn_model_evaluation, churn_model_champion = model_assets(CHURN)
