"""The bench's model and data: synthetic fraud rows inside the contract's ranges and a booster
trained on them (100 trees of depth 6), the size of a production fraud model."""

import os
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt
import xgboost as xgb

from contracts.schemas.features import FRAUD_FEATURE_NAMES
from model_registry import ModelRegistry, TrainingWindow, dataset_hash

Rows = npt.NDArray[np.float32]


def synthetic_fraud_rows(n: int, seed: int) -> Rows:
    """Rows inside the contract's ranges, with fraud-ish structure for the labels."""
    rng = np.random.default_rng(seed)
    columns: dict[str, npt.NDArray[np.float64]] = {
        "amount_usd": rng.lognormal(3.5, 1.2, n),
        "hour_of_day": rng.integers(0, 24, n).astype(np.float64),
        "is_foreign_card": (rng.random(n) < 0.1).astype(np.float64),
        "is_new_card_for_customer": (rng.random(n) < 0.15).astype(np.float64),
        "is_new_country_for_customer": (rng.random(n) < 0.05).astype(np.float64),
        "customer_txn_count_1h": rng.poisson(0.5, n).astype(np.float64),
        "customer_txn_count_24h": rng.poisson(2.0, n).astype(np.float64),
        "customer_amount_usd_24h": rng.lognormal(4.0, 1.0, n),
        "customer_avg_amount_usd_30d": rng.lognormal(3.5, 0.8, n),
        "card_txn_count_1h": rng.poisson(0.5, n).astype(np.float64),
        "card_distinct_merchants_24h": rng.poisson(1.5, n).astype(np.float64),
        "card_decline_count_24h": rng.poisson(0.2, n).astype(np.float64),
        "customer_distinct_cards_7d": rng.poisson(1.2, n).astype(np.float64),
        "customer_tenure_days": rng.exponential(500, n),
        "customer_dispute_count_90d": rng.poisson(0.05, n).astype(np.float64),
        "merchant_risk_score": rng.beta(2, 8, n),
    }
    columns["amount_to_customer_avg_ratio"] = columns["amount_usd"] / columns["customer_avg_amount_usd_30d"]
    return np.column_stack([columns[name] for name in FRAUD_FEATURE_NAMES]).astype(np.float32)


def train(rows: Rows, seed: int) -> xgb.Booster:
    col = {name: rows[:, i] for i, name in enumerate(FRAUD_FEATURE_NAMES)}
    logit = (
        -5.0
        + 1.5 * col["is_foreign_card"]
        + 1.0 * col["is_new_card_for_customer"]
        + 0.4 * np.minimum(col["amount_to_customer_avg_ratio"], 10)
        + 0.6 * col["card_decline_count_24h"]
        + 3.0 * col["merchant_risk_score"]
    )
    labels = (np.random.default_rng(seed).random(len(rows)) < 1 / (1 + np.exp(-logit))).astype(np.float32)
    params = {"objective": "binary:logistic", "max_depth": 6, "eta": 0.1, "nthread": 2, "seed": seed}
    data = xgb.DMatrix(rows, label=labels, feature_names=list(FRAUD_FEATURE_NAMES))
    return xgb.train(params, data, num_boost_round=100)


def champion_registry(root: Path) -> tuple[ModelRegistry, str, Rows]:
    """A registry at `root` whose fraud champion was trained on 40,000 rows; (registry, the
    champion's version, 10,000 held-out rows to score)."""
    rows = synthetic_fraud_rows(50_000, seed=7)
    registry = ModelRegistry(root)
    card = registry.register(
        train(rows[:40_000], seed=7),
        name="fraud",
        feature_set_version="fraud_v1",
        training_window=TrainingWindow(start=datetime(2025, 1, 1, tzinfo=UTC), end=datetime(2025, 2, 1, tzinfo=UTC)),
        data_hash=dataset_hash(rows[:40_000]),
        code_version=os.environ.get("GIT_SHA", "bench"),
    )
    registry.promote("fraud", card.version)
    return registry, card.version, rows[40_000:]
