"""Test data for the inference tests: boosters trained here on synthetic rows that satisfy the
contracts, registered as champions, and feature documents built from those rows."""

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import xgboost as xgb
from litestar import Litestar
from litestar.testing import AsyncTestClient

from contracts.schemas.features import CHURN_FEATURE_NAMES, FRAUD_FEATURE_NAMES
from model_registry import ModelRegistry, TrainingWindow, dataset_hash

Rows = npt.NDArray[np.float32]
Client = AsyncTestClient[Litestar]
Serve = Callable[..., AbstractAsyncContextManager[Client]]

WINDOW = TrainingWindow(start=datetime(2025, 1, 1, tzinfo=UTC), end=datetime(2025, 3, 1, tzinfo=UTC))

# Upper bounds per feature for synthetic rows (the contracts allow [0, bound]).
_FRAUD_SCALE = {
    "amount_usd": 2000.0,
    "hour_of_day": 23.0,
    "customer_txn_count_1h": 5.0,
    "customer_txn_count_24h": 20.0,
    "customer_amount_usd_24h": 5000.0,
    "customer_avg_amount_usd_30d": 500.0,
    "amount_to_customer_avg_ratio": 10.0,
    "card_txn_count_1h": 5.0,
    "card_distinct_merchants_24h": 10.0,
    "card_decline_count_24h": 5.0,
    "customer_distinct_cards_7d": 4.0,
    "customer_tenure_days": 2000.0,
    "customer_dispute_count_90d": 3.0,
}


def synthetic_rows(feature_names: tuple[str, ...], n: int, seed: int) -> Rows:
    """Rows inside the contract ranges: flags and scores in [0, 1], counts whole, hours 0..23."""
    rng = np.random.default_rng(seed)
    columns = []
    for name in feature_names:
        scale = _FRAUD_SCALE.get(name, 1.0 if name.startswith("is_") or name.endswith("_score") else 100.0)
        column = rng.random(n) * scale
        if name.startswith("is_"):
            column = (column > 0.7).astype(np.float64)
        elif "count" in name or name.startswith(("hour", "payments", "failed", "refunds", "disputes", "days")):
            column = np.floor(column)
        columns.append(column)
    return np.column_stack(columns).astype(np.float32)


def train_booster(feature_names: tuple[str, ...], seed: int, rounds: int = 20) -> tuple[xgb.Booster, Rows]:
    rows = synthetic_rows(feature_names, 2000, seed)
    normalized = rows / np.maximum(rows.max(axis=0), 1.0)
    labels = (normalized[:, :4].sum(axis=1) + 0.2 * np.random.default_rng(seed).random(len(rows)) > 1.6).astype(
        np.float32
    )
    booster = xgb.train(
        {"objective": "binary:logistic", "max_depth": 4, "eta": 0.3, "nthread": 1, "seed": seed},
        xgb.DMatrix(rows, label=labels, feature_names=list(feature_names)),
        rounds,
    )
    return booster, rows


def register_champion(
    registry: ModelRegistry, booster: xgb.Booster, rows: Rows, *, name: str, feature_set_version: str, version: str
) -> str:
    card = registry.register(
        booster,
        name=name,
        feature_set_version=feature_set_version,
        training_window=WINDOW,
        data_hash=dataset_hash(rows),
        code_version="test",
        metrics={"auc": 0.9},
        version=version,
    )
    registry.promote(name, card.version)
    return card.version


def features_document(feature_names: tuple[str, ...], row: Rows, feature_set_version: str) -> dict[str, Any]:
    document: dict[str, Any] = {name: float(value) for name, value in zip(feature_names, row, strict=True)}
    document["feature_set_version"] = feature_set_version
    return document


def fraud_features(row: Rows) -> dict[str, Any]:
    return features_document(FRAUD_FEATURE_NAMES, row, "fraud_v1")


def churn_features(row: Rows) -> dict[str, Any]:
    return features_document(CHURN_FEATURE_NAMES, row, "churn_v1")
