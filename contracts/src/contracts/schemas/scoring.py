"""Request and response bodies of the inference service: fraud, churn and retry strategy."""

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, model_validator

from contracts.reference.decline_codes import DeclineCategory, RetryAction
from contracts.reference.providers import Provider
from contracts.schemas.base import ContractModel, CurrencyCode, Identifier, MinorAmount, Probability, UtcDatetime
from contracts.schemas.features import ChurnFeatures, FraudFeatures

MAX_BATCH_ROWS = 10_000


class FeatureSource(StrEnum):
    REQUEST = "request"
    FEAST = "feast"


class TransactionContext(ContractModel):
    """What is known about the payment itself, when features must be looked up online."""

    amount_minor: MinorAmount
    currency: CurrencyCode
    occurred_at: UtcDatetime
    merchant_id: Identifier
    card_country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] | None = None
    ip_country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] | None = None


class FraudScoreRequest(ContractModel):
    """Either a full feature vector, or entity ids plus context for an online feature lookup."""

    contract_name = "fraud_score_request"

    payment_id: Identifier
    features: FraudFeatures | None = None
    customer_id: Identifier | None = None
    card_fingerprint: Identifier | None = None
    context: TransactionContext | None = None

    @model_validator(mode="after")
    def _features_or_lookup_keys(self) -> "FraudScoreRequest":
        if self.features is None and (
            self.customer_id is None or self.card_fingerprint is None or self.context is None
        ):
            raise ValueError("give either `features`, or `customer_id`, `card_fingerprint` and `context`")
        return self


class FraudScoreResponse(ContractModel):
    contract_name = "fraud_score_response"

    payment_id: Identifier
    score: Probability
    model_name: Identifier
    model_version: Identifier
    feature_set_version: Identifier
    feature_source: FeatureSource
    feature_freshness_seconds: Annotated[float, Field(ge=0)] | None = None
    features_defaulted: list[str] = Field(default_factory=list)
    """Features the store had no value for (an entity never seen: NOT_FOUND), scored with their
    no-history values (`contracts.schemas.no_history`). Empty when every feature was found."""


class FraudBatchRequest(ContractModel):
    contract_name = "fraud_batch_request"

    items: Annotated[list[FraudScoreRequest], Field(min_length=1, max_length=MAX_BATCH_ROWS)]


class FraudBatchResponse(ContractModel):
    contract_name = "fraud_batch_response"

    items: list[FraudScoreResponse]


class ChurnScoreRequest(ContractModel):
    contract_name = "churn_score_request"

    customer_id: Identifier
    features: ChurnFeatures | None = None


class ChurnScoreResponse(ContractModel):
    contract_name = "churn_score_response"

    customer_id: Identifier
    score: Probability
    model_name: Identifier
    model_version: Identifier
    feature_set_version: Identifier
    feature_source: FeatureSource
    feature_freshness_seconds: Annotated[float, Field(ge=0)] | None = None
    features_defaulted: list[str] = Field(default_factory=list)
    """Features the store had no value for (an entity never seen: NOT_FOUND), scored with their
    no-history values (`contracts.schemas.no_history`). Empty when every feature was found."""


class RetryStrategyRequest(ContractModel):
    contract_name = "retry_strategy_request"

    payment_id: Identifier
    provider: Provider
    decline_code: str | None = None
    attempt: Annotated[int, Field(ge=1, le=100)] = 1
    amount_minor: MinorAmount
    currency: CurrencyCode
    failed_at: UtcDatetime


class RetryStrategyResponse(ContractModel):
    contract_name = "retry_strategy_response"

    payment_id: Identifier
    category: DeclineCategory
    action: RetryAction
    delay_seconds: Annotated[int, Field(ge=0)]
    retry_at: UtcDatetime | None = None
    attempts_remaining: Annotated[int, Field(ge=0)]
    reason: str


class ModelInfo(ContractModel):
    """One servable model as `GET /v1/models` lists it."""

    contract_name = "model_info"

    name: Identifier
    version: Identifier
    kind: Literal["xgboost", "rules"]
    feature_set_version: Identifier
    champion: bool
    created_at: UtcDatetime | None = None
    metrics: dict[str, float] = Field(default_factory=dict)
