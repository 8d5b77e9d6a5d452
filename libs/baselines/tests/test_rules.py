"""`rules-v1` scored by hand: bias, weights and caps worked out on paper, not by `predict`.

score = 1 / (1 + exp(-z)), z = bias + sum(weight * min(x, cap)). The exponentials below are
e^4 = 54.598150, e^0.4 = 1.4918247, e^-2.5 = 0.0820850, e^2.5 = 12.182494, e^0.9 = 2.4596031.
"""

import numpy as np
import numpy.typing as npt
import pytest

from baselines.rules import CHURN_RULES_V1, FRAUD_RULES_V1
from contracts.schemas.features import CHURN_FEATURE_NAMES, FRAUD_FEATURE_NAMES


def _row(names: tuple[str, ...], **values: float) -> npt.NDArray[np.float32]:
    row = np.zeros((1, len(names)), dtype=np.float32)
    for name, value in values.items():
        row[0, names.index(name)] = value
    return row


def _fraud(**values: float) -> float:
    return float(FRAUD_RULES_V1.predict(_row(FRAUD_FEATURE_NAMES, **values))[0])


def _churn(**values: float) -> float:
    return float(CHURN_RULES_V1.predict(_row(CHURN_FEATURE_NAMES, **values))[0])


def test_fraud_with_every_feature_zero_is_the_bias_alone() -> None:
    # z = -4.0: 1 / (1 + 54.598150) = 0.0179862
    assert _fraud() == pytest.approx(0.0179862, rel=1e-5)


def test_fraud_terms_below_their_caps_add_their_weights() -> None:
    # z = -4 + 1.2 (foreign) + 0.8 (new card) + 0.9 (new country) + 0.35 * 2 (amount ratio) = -0.4
    # 1 / (1 + 1.4918247) = 0.4013123
    score = _fraud(
        is_foreign_card=1, is_new_card_for_customer=1, is_new_country_for_customer=1, amount_to_customer_avg_ratio=2
    )
    assert score == pytest.approx(0.4013123, rel=1e-5)


def test_fraud_terms_stop_at_their_caps() -> None:
    # amount ratio 100 -> cap 10 -> 3.5; card txns 50 -> cap 10 -> 2.5; merchant risk 3 -> cap 1 -> 2.0;
    # tenure 5000 days -> cap 1095 -> -0.5 / 365 * 1095 = -1.5; z = -4 + 3.5 + 2.5 + 2.0 - 1.5 = 2.5
    # 1 / (1 + 0.0820850) = 0.9241418
    capped = _fraud(
        amount_to_customer_avg_ratio=100, card_txn_count_1h=50, merchant_risk_score=3, customer_tenure_days=5000
    )
    assert capped == pytest.approx(0.9241418, rel=1e-5)
    at_caps = _fraud(
        amount_to_customer_avg_ratio=10, card_txn_count_1h=10, merchant_risk_score=1, customer_tenure_days=1095
    )
    assert at_caps == pytest.approx(0.9241418, rel=1e-5)


def test_churn_bias_and_capped_terms() -> None:
    # z = -2.5: 1 / (1 + 12.182494) = 0.0758582
    assert _churn() == pytest.approx(0.0758582, rel=1e-5)
    # days since last payment 200 -> cap 90 -> 0.04 * 90 = 3.6; failed 2 -> 1.0; payments_30d 20 -> cap 10 -> -3.0
    # z = -2.5 + 3.6 + 1.0 - 3.0 = -0.9: 1 / (1 + 2.4596031) = 0.2890505
    assert _churn(days_since_last_payment=200, failed_payments_30d=2, payments_30d=20) == pytest.approx(
        0.2890505, rel=1e-5
    )
