"""`rules-v1`: the explicit, deterministic baseline served while no model has been promoted.

It is not a stand-in pretending to be a model: every response names it (`model_version:
rules-v1`, `GET /v1/models` lists it with kind `rules`), and a trained model must beat it on the
holdout before it is promoted. The score is a logistic function of a capped linear sum:

    score = 1 / (1 + exp(-(bias + sum(weight_i * min(x_i, cap_i)))))

Capping keeps one extreme feature from saturating the score on its own. The weights encode the
usual card-fraud heuristics (foreign or new card, velocity bursts, declines, disputes, risky
merchant; long tenure lowers risk) and, for churn, inactivity and payment trouble.
"""

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from contracts.schemas.features import (
    CHURN_FEATURE_NAMES,
    CHURN_FEATURE_SET_VERSION,
    FRAUD_FEATURE_NAMES,
    FRAUD_FEATURE_SET_VERSION,
)

RULES_VERSION = "rules-v1"


@dataclass(frozen=True)
class Term:
    feature: str
    weight: float
    cap: float


@dataclass(frozen=True)
class LinearRules:
    """A capped logistic scorecard over one contracts feature set."""

    version: str
    feature_set_version: str
    feature_names: tuple[str, ...]
    bias: float
    terms: tuple[Term, ...]
    _columns: list[int] = field(init=False, repr=False, compare=False)
    _weights: npt.NDArray[np.float64] = field(init=False, repr=False, compare=False)
    _caps: npt.NDArray[np.float64] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        unknown = [term.feature for term in self.terms if term.feature not in self.feature_names]
        if unknown:
            raise ValueError(f"rules refer to features outside {self.feature_set_version}: {unknown}")
        object.__setattr__(self, "_columns", [self.feature_names.index(term.feature) for term in self.terms])
        object.__setattr__(self, "_weights", np.array([term.weight for term in self.terms], dtype=np.float64))
        object.__setattr__(self, "_caps", np.array([term.cap for term in self.terms], dtype=np.float64))

    def predict(self, rows: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Scores of rows in contracts feature order (shape: n_rows x n_features).

        Only the weighted columns are read, each capped, so the sum stays finite for any
        non-negative input.
        """
        capped = np.minimum(rows[:, self._columns].astype(np.float64), self._caps)
        z = self.bias + capped @ self._weights
        return (1.0 / (1.0 + np.exp(-z))).astype(np.float32)


FRAUD_RULES_V1 = LinearRules(
    version=RULES_VERSION,
    feature_set_version=FRAUD_FEATURE_SET_VERSION,
    feature_names=FRAUD_FEATURE_NAMES,
    bias=-4.0,
    terms=(
        Term("is_foreign_card", 1.2, 1.0),
        Term("is_new_card_for_customer", 0.8, 1.0),
        Term("is_new_country_for_customer", 0.9, 1.0),
        Term("amount_to_customer_avg_ratio", 0.35, 10.0),
        Term("customer_txn_count_1h", 0.15, 10.0),
        Term("card_txn_count_1h", 0.25, 10.0),
        Term("card_distinct_merchants_24h", 0.2, 10.0),
        Term("card_decline_count_24h", 0.3, 10.0),
        Term("customer_distinct_cards_7d", 0.25, 10.0),
        Term("customer_dispute_count_90d", 0.6, 5.0),
        Term("merchant_risk_score", 2.0, 1.0),
        Term("customer_tenure_days", -0.5 / 365.0, 3 * 365.0),
    ),
)

CHURN_RULES_V1 = LinearRules(
    version=RULES_VERSION,
    feature_set_version=CHURN_FEATURE_SET_VERSION,
    feature_names=CHURN_FEATURE_NAMES,
    bias=-2.5,
    terms=(
        Term("days_since_last_payment", 0.04, 90.0),
        Term("failed_payments_30d", 0.5, 5.0),
        Term("refunds_90d", 0.3, 5.0),
        Term("disputes_90d", 0.6, 3.0),
        Term("payments_30d", -0.3, 10.0),
        Term("payments_90d", -0.05, 30.0),
        Term("tenure_days", -0.3 / 365.0, 3 * 365.0),
    ),
)
