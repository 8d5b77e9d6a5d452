"""Feature vectors for the fraud and churn models, with their feature-set versions.

Training (Dagster via Feast) and serving (inference) both take the ordered names from here, so the
two can never disagree on order or meaning. Changing a feature means a new feature-set version.
Windows are real windows: `_1h`, `_24h`, `_30d`, `_90d` counts only what falls inside them.
"""

from typing import Annotated, ClassVar, Final, Literal

from pydantic import Field

from contracts.schemas.base import ContractModel

NonNegative = Annotated[float, Field(ge=0)]
Flag = Annotated[float, Field(ge=0, le=1)]

FRAUD_FEATURE_SET_VERSION: Final = "fraud_v1"
CHURN_FEATURE_SET_VERSION: Final = "churn_v1"


class _FeatureVector(ContractModel):
    feature_set_version: str
    feature_names: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: object) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls.feature_names = tuple(name for name in cls.model_fields if name != "feature_set_version")

    def as_row(self) -> list[float]:
        """Values in model input order."""
        return [float(getattr(self, name)) for name in self.feature_names]


class FraudFeatures(_FeatureVector):
    contract_name = "fraud_features"

    feature_set_version: Literal["fraud_v1"] = FRAUD_FEATURE_SET_VERSION
    amount_usd: NonNegative
    hour_of_day: Annotated[float, Field(ge=0, le=23)]
    is_foreign_card: Flag
    is_new_card_for_customer: Flag
    is_new_country_for_customer: Flag
    customer_txn_count_1h: NonNegative
    customer_txn_count_24h: NonNegative
    customer_amount_usd_24h: NonNegative
    customer_avg_amount_usd_30d: NonNegative
    amount_to_customer_avg_ratio: NonNegative
    card_txn_count_1h: NonNegative
    card_distinct_merchants_24h: NonNegative
    card_decline_count_24h: NonNegative
    customer_distinct_cards_7d: NonNegative
    customer_tenure_days: NonNegative
    customer_dispute_count_90d: NonNegative
    merchant_risk_score: Flag


class ChurnFeatures(_FeatureVector):
    contract_name = "churn_features"

    feature_set_version: Literal["churn_v1"] = CHURN_FEATURE_SET_VERSION
    days_since_last_payment: NonNegative
    payments_30d: NonNegative
    payments_90d: NonNegative
    failed_payments_30d: NonNegative
    refunds_90d: NonNegative
    disputes_90d: NonNegative
    avg_amount_usd_90d: NonNegative
    tenure_days: NonNegative


FRAUD_FEATURE_NAMES: tuple[str, ...] = FraudFeatures.feature_names
CHURN_FEATURE_NAMES: tuple[str, ...] = ChurnFeatures.feature_names

FEATURE_SETS: dict[str, tuple[str, ...]] = {
    FRAUD_FEATURE_SET_VERSION: FRAUD_FEATURE_NAMES,
    CHURN_FEATURE_SET_VERSION: CHURN_FEATURE_NAMES,
}
