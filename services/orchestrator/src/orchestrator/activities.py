"""The activities of the payment and dead-letter workflows: store, inference, Kafka.

Activities raise; Temporal retries them by the policy the workflow gives. Only failures that
no retry can fix (the inference service refusing the request as invalid, a payment without the
keys a fraud lookup needs, an answer or record that does not validate, a write the store's
constraints refuse) are raised as non-retryable `ApplicationError`s of a named type.
An unavailable inference service is an ordinary error: the activity is retried until it answers,
and no score is ever made up.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import IntegrityError
from temporalio import activity
from temporalio.exceptions import ApplicationError

from contracts.schemas.decision import DECISION_ID_HEADER, PaymentDecision
from contracts.schemas.scoring import (
    ChurnScoreRequest,
    ChurnScoreResponse,
    FraudScoreRequest,
    FraudScoreResponse,
    RetryStrategyRequest,
    RetryStrategyResponse,
    TransactionContext,
)
from orchestrator.messages import (
    PublishDecisionInput,
    PublishRetryDueInput,
    RecordDeadLetterInput,
    RecordEventInput,
    RecordUndecidedInput,
    ResolveDeadLetterInput,
    RetryStrategyInput,
    ScoreChurnInput,
    ScoreFraudInput,
    StoreDecisionInput,
)
from orchestrator.publisher import KafkaPublisher
from orchestrator.store import PaymentsStore

ResponseT = TypeVar("ResponseT", bound=BaseModel)

INFERENCE_REJECTED = "InferenceRejected"
"""The inference service answered 4xx: the request is invalid and retrying cannot help."""
MISSING_LOOKUP_KEYS = "MissingLookupKeys"
"""The payment has no customer id or card fingerprint, which the fraud feature lookup needs."""
VALIDATION_ERROR = "ValidationError"
"""pydantic: an inference answer or a record that does not match its contract; retrying the same
input yields the same error (Temporal names a plain exception's failure by its class name)."""
INTEGRITY_ERROR = "IntegrityError"
"""SQLAlchemy: a write the store's constraints refuse; the same write is refused again."""
NON_RETRYABLE_ERRORS: tuple[str, ...] = (INFERENCE_REJECTED, MISSING_LOOKUP_KEYS, VALIDATION_ERROR, INTEGRITY_ERROR)

_RETRYABLE_STATUS = frozenset({408, 425, 429})


@contextmanager
def permanent_errors() -> Iterator[None]:
    """Turn the errors no retry can fix into non-retryable `ApplicationError`s of a named type."""
    try:
        yield
    except ValidationError as error:
        raise ApplicationError(
            f"{error.title} does not validate: {error}"[:1000], type=VALIDATION_ERROR, non_retryable=True
        ) from error
    except IntegrityError as error:
        raise ApplicationError(
            f"the store refused the write: {error.orig}"[:1000], type=INTEGRITY_ERROR, non_retryable=True
        ) from error


@dataclass(frozen=True)
class TopicNames:
    decisions: str
    retries: str


class InferenceClient:
    """The inference HTTP API with contracts bodies (one pooled keep-alive client)."""

    def __init__(self, base_url: str, timeout_seconds: float) -> None:
        self._timeout_seconds = timeout_seconds
        self._http = httpx.AsyncClient(
            base_url=base_url,
            timeout=timeout_seconds,
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=100),
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _post(self, path: str, body: BaseModel, response_model: type[ResponseT]) -> ResponseT:
        # One deadline for the whole call (httpx's applies to each phase on its own).
        async with asyncio.timeout(self._timeout_seconds):
            response = await self._http.post(
                path, content=body.model_dump_json(exclude_none=True), headers={"content-type": "application/json"}
            )
        if 400 <= response.status_code < 500 and response.status_code not in _RETRYABLE_STATUS:
            raise ApplicationError(
                f"inference refused {path} with {response.status_code}: {response.text[:500]}",
                type=INFERENCE_REJECTED,
                non_retryable=True,
            )
        # 5xx (503 while Feast is down, say) and 408/429: raised, so Temporal retries.
        response.raise_for_status()
        with permanent_errors():
            return response_model.model_validate_json(response.content)

    async def score_fraud(self, request: FraudScoreRequest) -> FraudScoreResponse:
        return await self._post("/v1/fraud/score", request, FraudScoreResponse)

    async def score_churn(self, request: ChurnScoreRequest) -> ChurnScoreResponse:
        return await self._post("/v1/churn/score", request, ChurnScoreResponse)

    async def retry_strategy(self, request: RetryStrategyRequest) -> RetryStrategyResponse:
        return await self._post("/v1/retry/strategy", request, RetryStrategyResponse)


class PaymentActivities:
    """Bound to one store, inference client and producer; registered by the worker."""

    def __init__(
        self, store: PaymentsStore, inference: InferenceClient, producer: KafkaPublisher, topics: TopicNames
    ) -> None:
        self.store = store
        self.inference = inference
        self.producer = producer
        self.topics = topics

    @activity.defn(name="record_event")
    async def record_event(self, input: RecordEventInput) -> bool:
        with permanent_errors():
            return await asyncio.to_thread(self.store.record_event, input.event)

    @activity.defn(name="score_fraud")
    async def score_fraud(self, input: ScoreFraudInput) -> FraudScoreResponse:
        event = input.event
        if event.customer_id is None or event.card is None:
            raise ApplicationError(
                f"{event.payment_id} has no customer id or card fingerprint to look features up by",
                type=MISSING_LOOKUP_KEYS,
                non_retryable=True,
            )
        request = FraudScoreRequest(
            payment_id=event.payment_id,
            customer_id=event.customer_id,
            card_fingerprint=event.card.fingerprint,
            context=TransactionContext(
                amount_minor=event.amount_minor,
                currency=event.currency,
                occurred_at=event.occurred_at,
                merchant_id=event.merchant_id,
                card_country=event.card.country,
                ip_country=event.ip_country,
            ),
        )
        return await self.inference.score_fraud(request)

    @activity.defn(name="score_churn")
    async def score_churn(self, input: ScoreChurnInput) -> ChurnScoreResponse:
        return await self.inference.score_churn(ChurnScoreRequest(customer_id=input.customer_id))

    @activity.defn(name="get_retry_strategy")
    async def get_retry_strategy(self, input: RetryStrategyInput) -> RetryStrategyResponse:
        event = input.event
        request = RetryStrategyRequest(
            payment_id=event.payment_id,
            provider=event.provider,
            decline_code=event.decline_code,
            attempt=input.attempt,
            amount_minor=event.amount_minor,
            currency=event.currency,
            failed_at=event.occurred_at,
        )
        return await self.inference.retry_strategy(request)

    @activity.defn(name="store_decision")
    async def store_decision(self, input: StoreDecisionInput) -> PaymentDecision:
        with permanent_errors():
            return await asyncio.to_thread(self.store.record_decision, input.decision)

    @activity.defn(name="record_undecided")
    async def record_undecided(self, input: RecordUndecidedInput) -> bool:
        with permanent_errors():
            return await asyncio.to_thread(
                self.store.record_undecided,
                input.event_id,
                input.payment_id,
                input.reason_type,
                input.reason,
                input.undecided_at,
            )

    @activity.defn(name="publish_decision")
    async def publish_decision(self, input: PublishDecisionInput) -> None:
        decision = input.decision
        # At least once: a retry after a crash (or a reset workflow) sends the stored decision
        # again, byte for byte, with the same id in its header for consumers to deduplicate by.
        await self.producer.send_and_wait(
            self.topics.decisions,
            decision.model_dump_json().encode(),
            key=decision.payment_id.encode(),
            headers=[(DECISION_ID_HEADER, str(decision.event_id).encode())],
        )

    @activity.defn(name="publish_retry_due")
    async def publish_retry_due(self, input: PublishRetryDueInput) -> None:
        retry = input.retry
        await self.producer.send_and_wait(
            self.topics.retries, retry.model_dump_json().encode(), key=retry.payment_id.encode()
        )

    @activity.defn(name="record_dead_letter")
    async def record_dead_letter(self, input: RecordDeadLetterInput) -> bool:
        with permanent_errors():
            return await asyncio.to_thread(self.store.record_dead_letter, input.dead_letter)

    @activity.defn(name="resolve_dead_letter")
    async def resolve_dead_letter(self, input: ResolveDeadLetterInput) -> None:
        resolution = input.resolution
        with permanent_errors():
            await asyncio.to_thread(
                self.store.resolve_dead_letter,
                input.dlq_id,
                resolution.outcome,
                resolution.resolved_by,
                resolution.note,
                input.resolved_at,
            )

    def all(self) -> list[Callable[..., Any]]:
        """Every activity, for `Worker(activities=...)`."""
        return [
            self.record_event,
            self.score_fraud,
            self.score_churn,
            self.get_retry_strategy,
            self.store_decision,
            self.record_undecided,
            self.publish_decision,
            self.publish_retry_due,
            self.record_dead_letter,
            self.resolve_dead_letter,
        ]
