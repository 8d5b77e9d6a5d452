"""Inputs, outputs and state of the workflows and activities: one input model each, so fields
can be added compatibly. They travel through Temporal with the pydantic data converter."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.schemas.decision import PaymentDecision
from contracts.schemas.dlq import DeadLetter
from contracts.schemas.normalized_event import NormalizedEvent
from contracts.schemas.retry_due import RetryDue
from contracts.schemas.scoring import ChurnScoreResponse, FraudScoreResponse, RetryStrategyResponse


class Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# -- workflow inputs, signals and queries ------------------------------------------------------


class DecisionPolicy(Message):
    """How scores become decisions, and the workflow's timers. Set by the bridge from settings
    when it starts a payment's workflow, then carried through continue-as-new."""

    review_threshold: Annotated[float, Field(ge=0, le=1)]
    decline_threshold: Annotated[float, Field(ge=0, le=1)]
    review_timeout_seconds: Annotated[float, Field(gt=0)]
    retry_delay_scale: Annotated[float, Field(gt=0, le=1)] = 1.0
    history_event_limit: Annotated[int, Field(ge=100)] = 2_000
    inference_timeout_seconds: Annotated[float, Field(gt=0, le=60)] | None = None
    """Deadline of one inference call (`ORCHESTRATOR_INFERENCE_TIMEOUT_SECONDS`); the inference
    activities' start-to-close timeout follows it. None in workflows started before it existed
    (their activities keep the 10 s they had)."""
    local_activities: bool | None = None
    """Run the activities as local activities (`ORCHESTRATOR_LOCAL_ACTIVITIES`). None in
    workflows started before it existed: they keep regular activities."""


class EventSummary(Message):
    event_id: str
    event_type: str
    status: str
    occurred_at: datetime


class Scores(Message):
    fraud: FraudScoreResponse | None = None
    churn: ChurnScoreResponse | None = None


Stage = Literal["awaiting_payment", "deciding", "awaiting_review", "decided", "undecided"]
"""`undecided`: deciding failed for good (no lookup keys, an inference 4xx, a response or record
that does not validate, a store integrity error); `undecided_reason` says why. The workflow keeps
running and a later deciding event tries again."""


class PaymentState(Message):
    """Everything the workflow knows; what continue-as-new carries to the next run."""

    payment_id: str
    stage: Stage = "awaiting_payment"
    payment_status: str | None = None
    decision: PaymentDecision | None = None
    scores: Scores = Scores()
    history: tuple[EventSummary, ...] = ()
    seen_event_ids: tuple[str, ...] = ()
    inbox: tuple[NormalizedEvent, ...] = ()
    failures: int = 0
    pending_retry: RetryDue | None = None
    retries_published: int = 0
    fraud_label: bool = False
    """A lost dispute: the label the training pipelines learn from."""
    undecided_reason: str | None = None


class PaymentWorkflowInput(Message):
    payment_id: str
    policy: DecisionPolicy
    state: PaymentState | None = None
    """Set only by continue-as-new."""


class ReviewVerdict(Message):
    """An analyst's answer to a REVIEW: the `submit_review` update (or the older `review` signal)."""

    analyst_id: Annotated[str, Field(min_length=1, max_length=255)]
    verdict: Literal["approve", "decline"]
    note: str | None = None


class PaymentStatusView(Message):
    stage: Stage
    payment_status: str | None
    fraud_label: bool
    retries_published: int
    retry_due_at: datetime | None = None
    """When the planned retry-due event will be published; None when no retry is pending."""
    undecided_reason: str | None = None
    """Why the payment has no decision (stage `undecided`): the non-retryable error's type and text."""


class DeadLetterTriageInput(Message):
    dead_letter: DeadLetter


class DeadLetterResolution(Message):
    """The `resolve` signal: what became of a dead letter, and who decided."""

    outcome: Literal["redriven", "discarded"]
    resolved_by: Annotated[str, Field(min_length=1, max_length=255)]
    note: str | None = None


# -- activity inputs ---------------------------------------------------------------------------


class RecordEventInput(Message):
    event: NormalizedEvent


class ScoreFraudInput(Message):
    event: NormalizedEvent


class ScoreChurnInput(Message):
    customer_id: str


class RetryStrategyInput(Message):
    event: NormalizedEvent
    attempt: Annotated[int, Field(ge=1, le=100)]


class StoreDecisionInput(Message):
    decision: PaymentDecision


class PublishDecisionInput(Message):
    decision: PaymentDecision


class PublishRetryDueInput(Message):
    retry: RetryDue


class RecordDeadLetterInput(Message):
    dead_letter: DeadLetter


class ResolveDeadLetterInput(Message):
    dlq_id: str
    resolution: DeadLetterResolution
    resolved_at: datetime


class RecordUndecidedInput(Message):
    """A deciding event left undecided: the non-retryable error's type and text, and when."""

    event_id: str
    payment_id: str
    reason_type: str
    reason: str
    undecided_at: datetime


__all__ = [
    "DeadLetterResolution",
    "DeadLetterTriageInput",
    "DecisionPolicy",
    "EventSummary",
    "PaymentState",
    "PaymentStatusView",
    "PaymentWorkflowInput",
    "PublishDecisionInput",
    "PublishRetryDueInput",
    "RecordDeadLetterInput",
    "RecordEventInput",
    "RecordUndecidedInput",
    "ResolveDeadLetterInput",
    "RetryStrategyInput",
    "RetryStrategyResponse",
    "ReviewVerdict",
    "ScoreChurnInput",
    "ScoreFraudInput",
    "Scores",
    "StoreDecisionInput",
]
