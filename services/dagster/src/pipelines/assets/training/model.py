"""Fraud XGBoost: seeded, class imbalance weighted, early stopping on the later validation split.

Early stopping watches the validation log loss, not its PR-AUC: with ~100 positives in the
validation split, PR-AUC jumps from round to round and often peaks at the first tree (the booster
was cut at round 0 for two of three history seeds at 20,000 payments), while the log loss falls
smoothly until the model starts to overfit. A smaller learning rate with a longer patience gives
the same trees room to add up.
"""

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import numpy as np
import xgboost as xgb
from sklearn.metrics import average_precision_score  # type: ignore[import-untyped]

from baselines import FRAUD_RULES_V1
from baselines.rules import LinearRules
from pipelines.assets.training.dataset import FEATURES, TrainingData


@dataclass(frozen=True)
class Hyperparameters:
    seed: int = 7
    max_depth: int = 4
    learning_rate: float = 0.05
    num_boost_round: int = 1000
    early_stopping_rounds: int = 100
    subsample: float = 0.8
    colsample_bytree: float = 0.8
    nthread: int = field(default_factory=lambda: training_threads())
    """XGBoost's threads: the cores this process may use (`training_threads`). Speed only: the
    same data and seed give the same bytes at any thread count (`hist` sums its histograms in a
    fixed order; the reproducibility tests train with 1 and 3 threads)."""


@dataclass(frozen=True)
class TrainedModel:
    model_ubj: bytes
    """The booster cut at its best iteration (UBJSON), as the registry stores it."""
    best_iteration: int
    scale_pos_weight: float
    validation_pr_auc: float
    """Average precision of the cut booster on the validation split."""
    validation_logloss: float
    """The early-stopping metric at the best iteration."""


CGROUP_CPU_MAX: Final = Path("/sys/fs/cgroup/cpu.max")
"""cgroup v2's CPU quota: `<quota> <period>` in microseconds, or `max <period>` (no limit)."""


def cgroup_cpu_limit(cpu_max: Path = CGROUP_CPU_MAX) -> int | None:
    """The CPUs the cgroup quota allows (rounded up; a Kubernetes `limits.cpu: "2"` is 2), or
    None without a quota (`max`, no cgroup v2 file, or a file this does not understand)."""
    try:
        quota, period = cpu_max.read_text(encoding="ascii").split()[:2]
        return max(1, math.ceil(int(quota) / int(period)))
    except (OSError, ValueError):
        return None


def training_threads(override: int | None = None, cpu_max: Path = CGROUP_CPU_MAX) -> int:
    """`override` (PIPELINES_TRAINING_THREADS) when given; else the cores this process may run on:
    its CPU affinity, capped by the cgroup CPU quota (a container limited to 2 CPUs on a 16-core
    node sees 16 in its affinity, and 16 threads there take each other's time slices)."""
    if override is not None:
        if override < 1:
            raise ValueError(f"training threads must be at least 1, got {override}")
        return override
    cores = max(1, len(os.sched_getaffinity(0)))
    limit = cgroup_cpu_limit(cpu_max)
    return cores if limit is None else min(cores, limit)


def matrix(x: np.ndarray, y: np.ndarray | None = None, features: tuple[str, ...] = FEATURES) -> xgb.DMatrix:
    return xgb.DMatrix(x, label=y, feature_names=list(features))


def train_fraud_model(data: TrainingData, hyper: Hyperparameters) -> TrainedModel:
    return train_model(data, hyper, FEATURES)


def train_model(data: TrainingData, hyper: Hyperparameters, features: tuple[str, ...]) -> TrainedModel:
    """A binary XGBoost model on `features` (contracts order). Same data and seed give the same
    bytes (`hist` trees), whatever `Hyperparameters.nthread` is."""
    positives = float(data.train.y.sum())
    if positives == 0 or positives == len(data.train.y):
        raise ValueError("the training split needs both classes")
    scale_pos_weight = (len(data.train.y) - positives) / positives
    params = {
        "objective": "binary:logistic",
        "eval_metric": "logloss",
        "tree_method": "hist",
        "max_depth": hyper.max_depth,
        "eta": hyper.learning_rate,
        "subsample": hyper.subsample,
        "colsample_bytree": hyper.colsample_bytree,
        "scale_pos_weight": scale_pos_weight,
        "seed": hyper.seed,
        "nthread": hyper.nthread,
    }
    train = matrix(data.train.x, data.train.y, features)
    validation = matrix(data.validation.x, data.validation.y, features)
    booster = xgb.train(
        params,
        train,
        num_boost_round=hyper.num_boost_round,
        evals=[(validation, "validation")],
        early_stopping_rounds=hyper.early_stopping_rounds,
        verbose_eval=False,
    )
    best = int(booster.best_iteration)
    best_booster = booster[: best + 1]
    return TrainedModel(
        model_ubj=bytes(best_booster.save_raw(raw_format="ubj")),
        best_iteration=best,
        scale_pos_weight=scale_pos_weight,
        validation_pr_auc=float(average_precision_score(data.validation.y, best_booster.predict(validation))),
        validation_logloss=float(booster.best_score),
    )


def load_booster(model_ubj: bytes) -> xgb.Booster:
    booster = xgb.Booster()
    booster.load_model(bytearray(model_ubj))
    return booster


def predict(booster: xgb.Booster, x: np.ndarray) -> np.ndarray:
    """Scores of rows in the booster's own feature order (the contracts order it was trained on)."""
    names = tuple(booster.feature_names) if booster.feature_names else FEATURES
    return np.asarray(booster.predict(matrix(x, features=names)), dtype=np.float64)


def rules_predict(
    x: np.ndarray, rules: LinearRules = FRAUD_RULES_V1, features: tuple[str, ...] = FEATURES
) -> np.ndarray:
    """`rules-v1` (the scorecard inference serves without a champion) on training-set rows.

    The training set holds the contracts feature order, as the rules do. A NULL feature (allowed
    up to the null-rate check's bar) counts 0 for the rules, as the contracts' feature vectors
    that inference scores have no missing values.
    """
    if tuple(features) != rules.feature_names:
        raise ValueError("the training set's features are not the rules' feature set")
    rows = np.nan_to_num(x, nan=0.0).astype(np.float32)
    return np.asarray(rules.predict(rows), dtype=np.float64)
