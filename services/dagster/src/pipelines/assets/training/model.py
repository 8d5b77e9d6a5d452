"""Fraud XGBoost: seeded, class imbalance weighted, early stopping on the later validation split."""

from dataclasses import dataclass

import numpy as np
import xgboost as xgb

from baselines import FRAUD_RULES_V1
from pipelines.assets.training.dataset import FEATURES, TrainingData


@dataclass(frozen=True)
class Hyperparameters:
    seed: int = 7
    max_depth: int = 4
    learning_rate: float = 0.1
    num_boost_round: int = 400
    early_stopping_rounds: int = 30
    subsample: float = 0.8
    colsample_bytree: float = 0.8


@dataclass(frozen=True)
class TrainedModel:
    model_ubj: bytes
    """The booster cut at its best iteration (UBJSON), as the registry stores it."""
    best_iteration: int
    scale_pos_weight: float
    validation_pr_auc: float


def matrix(x: np.ndarray, y: np.ndarray | None = None) -> xgb.DMatrix:
    return xgb.DMatrix(x, label=y, feature_names=list(FEATURES))


def train_fraud_model(data: TrainingData, hyper: Hyperparameters) -> TrainedModel:
    """Same data and seed give the same bytes: one thread order (`nthread` fixed), `hist` trees."""
    positives = float(data.train.y.sum())
    if positives == 0 or positives == len(data.train.y):
        raise ValueError("the training split needs both classes")
    scale_pos_weight = (len(data.train.y) - positives) / positives
    params = {
        "objective": "binary:logistic",
        "eval_metric": "aucpr",
        "tree_method": "hist",
        "max_depth": hyper.max_depth,
        "eta": hyper.learning_rate,
        "subsample": hyper.subsample,
        "colsample_bytree": hyper.colsample_bytree,
        "scale_pos_weight": scale_pos_weight,
        "seed": hyper.seed,
        "nthread": 2,
    }
    train = matrix(data.train.x, data.train.y)
    validation = matrix(data.validation.x, data.validation.y)
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
        validation_pr_auc=float(booster.best_score),
    )


def load_booster(model_ubj: bytes) -> xgb.Booster:
    booster = xgb.Booster()
    booster.load_model(bytearray(model_ubj))
    return booster


def predict(booster: xgb.Booster, x: np.ndarray) -> np.ndarray:
    return np.asarray(booster.predict(matrix(x)), dtype=np.float64)


def rules_predict(x: np.ndarray) -> np.ndarray:
    """`rules-v1` (the scorecard inference serves without a champion) on training-set rows.

    The training set holds the contracts feature order, as the rules do. A NULL feature (allowed
    up to the null-rate check's bar) counts 0 for the rules, as the contracts' feature vectors
    that inference scores have no missing values.
    """
    if tuple(FEATURES) != FRAUD_RULES_V1.feature_names:
        raise ValueError("the training set's features are not the rules' feature set")
    rows = np.nan_to_num(x, nan=0.0).astype(np.float32)
    return np.asarray(FRAUD_RULES_V1.predict(rows), dtype=np.float64)
