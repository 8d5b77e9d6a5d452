"""The catalogue of governed contracts: every model whose shape other teams depend on."""

from pydantic import BaseModel

from contracts.schemas.decision import PaymentDecision
from contracts.schemas.dlq import DeadLetter
from contracts.schemas.features import ChurnFeatures, FraudFeatures
from contracts.schemas.normalized_event import NormalizedEvent
from contracts.schemas.payment_event import ENVELOPES
from contracts.schemas.quarantine import QuarantinedWebhook
from contracts.schemas.records import DeadLetterRow, DecisionRow, PaymentEventRow, PaymentRow, UndecidedEventRow
from contracts.schemas.retry_due import RetryDue
from contracts.schemas.scoring import (
    ChurnScoreRequest,
    ChurnScoreResponse,
    FraudBatchRequest,
    FraudBatchResponse,
    FraudScoreRequest,
    FraudScoreResponse,
    ModelInfo,
    RetryStrategyRequest,
    RetryStrategyResponse,
)
from contracts.schemas.velocity import VelocityFeatures

GOVERNED: tuple[type[BaseModel], ...] = (
    *ENVELOPES.values(),
    NormalizedEvent,
    FraudFeatures,
    ChurnFeatures,
    FraudScoreRequest,
    FraudScoreResponse,
    FraudBatchRequest,
    FraudBatchResponse,
    ChurnScoreRequest,
    ChurnScoreResponse,
    RetryStrategyRequest,
    RetryStrategyResponse,
    ModelInfo,
    PaymentDecision,
    DeadLetter,
    QuarantinedWebhook,
    PaymentRow,
    PaymentEventRow,
    DecisionRow,
    DeadLetterRow,
    UndecidedEventRow,
    RetryDue,
    VelocityFeatures,
)


def contract_name(model: type[BaseModel]) -> str:
    name = getattr(model, "contract_name", "")
    if not isinstance(name, str) or not name:
        raise ValueError(f"{model.__name__} has no contract_name")
    return name


def schemas() -> dict[str, dict[str, object]]:
    """Name -> JSON Schema (validation mode) of every governed contract."""
    return {contract_name(model): model.model_json_schema(mode="validation") for model in GOVERNED}
