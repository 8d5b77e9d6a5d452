"""No-history values: one per stored feature, each valid under the feature contracts."""

from contracts.schemas.features import CHURN_FEATURE_NAMES, FRAUD_FEATURE_NAMES, ChurnFeatures, FraudFeatures
from contracts.schemas.no_history import (
    CHURN_NO_HISTORY,
    FRAUD_CONTEXT_FEATURES,
    FRAUD_NO_HISTORY,
    FRAUD_STORED_FEATURES,
    RATIO_WITHOUT_AVERAGE,
)
from contracts.schemas.scoring import FeatureSource, FraudScoreResponse


def test_stored_and_context_features_partition_the_fraud_set() -> None:
    assert set(FRAUD_STORED_FEATURES) | set(FRAUD_CONTEXT_FEATURES) == set(FRAUD_FEATURE_NAMES)
    assert not set(FRAUD_STORED_FEATURES) & set(FRAUD_CONTEXT_FEATURES)
    assert list(FRAUD_NO_HISTORY) == [name for name in FRAUD_FEATURE_NAMES if name in FRAUD_STORED_FEATURES]
    assert list(CHURN_NO_HISTORY) == list(CHURN_FEATURE_NAMES)


def test_a_new_entity_has_zero_counts_and_a_new_card_and_country() -> None:
    assert FRAUD_NO_HISTORY["is_new_card_for_customer"] == 1.0
    assert FRAUD_NO_HISTORY["is_new_country_for_customer"] == 1.0
    counts = [
        "customer_txn_count_1h",
        "customer_txn_count_24h",
        "card_txn_count_1h",
        "card_distinct_merchants_24h",
        "card_decline_count_24h",
        "customer_distinct_cards_7d",
        "customer_dispute_count_90d",
    ]
    assert all(FRAUD_NO_HISTORY[name] == 0.0 for name in counts)
    assert RATIO_WITHOUT_AVERAGE == 1.0
    assert all(value == 0.0 for value in CHURN_NO_HISTORY.values())


def test_the_values_make_valid_feature_vectors() -> None:
    context = {"amount_usd": 12.5, "hour_of_day": 3.0, "is_foreign_card": 1.0, "amount_to_customer_avg_ratio": 1.0}
    FraudFeatures.model_validate(dict(FRAUD_NO_HISTORY) | context)
    ChurnFeatures.model_validate(dict(CHURN_NO_HISTORY))


def test_responses_say_which_features_were_defaulted_and_stay_compatible() -> None:
    fields = {
        "payment_id": "pay_1",
        "score": 0.5,
        "model_name": "fraud",
        "model_version": "v1",
        "feature_set_version": "fraud_v1",
        "feature_source": FeatureSource.FEAST,
    }
    # An old producer's body (without the field) still parses, with nothing defaulted.
    assert FraudScoreResponse.model_validate(fields).features_defaulted == []
    defaulted = FraudScoreResponse.model_validate(fields | {"features_defaulted": ["card_txn_count_1h"]})
    assert defaulted.features_defaulted == ["card_txn_count_1h"]
