"""The outcome of one payment's workflow, published to `payments.decisions.v1`."""

from enum import StrEnum
from uuid import UUID

from contracts.reference.providers import Provider
from contracts.schemas.base import ContractModel, CurrencyCode, Identifier, MinorAmount, Probability, UtcDatetime
from contracts.schemas.scoring import RetryStrategyResponse


class Decision(StrEnum):
    APPROVE = "approve"
    REVIEW = "review"
    DECLINE = "decline"


class PaymentDecision(ContractModel):
    contract_name = "payment_decision"

    event_id: UUID
    payment_id: Identifier
    provider: Provider
    amount_minor: MinorAmount
    currency: CurrencyCode
    decision: Decision
    fraud_score: Probability
    fraud_model_version: Identifier
    churn_score: Probability | None = None
    churn_model_version: Identifier | None = None
    rules_triggered: tuple[str, ...] = ()
    reviewed_by: Identifier | None = None
    retry: RetryStrategyResponse | None = None
    decided_at: UtcDatetime
