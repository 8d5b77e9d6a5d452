"""`PaymentWorkflow` (one per payment, id from the payment id) and `DeadLetterTriageWorkflow`
(one per dead letter). Deterministic: no I/O, clocks or randomness here; activities do the work.

Every event of a payment arrives as an `event` signal (the bridge signal-with-starts), so the
first event and a redelivered one take the same path and a duplicate event id is ignored.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, FailureError
from temporalio.exceptions import CancelledError as TemporalCancelledError

with workflow.unsafe.imports_passed_through():
    from contracts.reference.decline_codes import RetryAction
    from contracts.schemas.decision import Decision, PaymentDecision
    from contracts.schemas.normalized_event import EventType, NormalizedEvent
    from contracts.schemas.retry_due import RetryDue
    from contracts.schemas.scoring import ChurnScoreResponse, RetryStrategyResponse
    from orchestrator.activities import NON_RETRYABLE_ERRORS, PaymentActivities
    from orchestrator.messages import (
        DeadLetterResolution,
        DeadLetterTriageInput,
        DecisionPolicy,
        EventSummary,
        PaymentState,
        PaymentStatusView,
        PaymentWorkflowInput,
        PublishDecisionInput,
        PublishRetryDueInput,
        RecordDeadLetterInput,
        RecordEventInput,
        RecordUndecidedInput,
        ResolveDeadLetterInput,
        RetryStrategyInput,
        ReviewVerdict,
        ScoreChurnInput,
        ScoreFraudInput,
        Scores,
        StoreDecisionInput,
    )
    from orchestrator.rules import decide, evaluate_rules

DECIDING_EVENTS: frozenset[EventType] = frozenset(
    {
        EventType.PAYMENT_AUTHORIZED,
        EventType.PAYMENT_CAPTURED,
        EventType.PAYMENT_SUCCEEDED,
        EventType.PAYMENT_FAILED,
    }
)
"""Events that carry a payment attempt: the first of them is scored and decided."""

RETRYABLE_ACTIONS = frozenset({RetryAction.RETRY_NOW, RetryAction.RETRY_LATER})

ParamT = TypeVar("ParamT")
ReturnT = TypeVar("ReturnT")

LOCAL_ACTIVITIES_PATCH = "local-activities"
"""Marks the runs that run their activities as local activities (policy `local_activities`)."""
LOCAL_ATTEMPTS = 5
"""Attempts of a local activity in the worker (each with the activity's timeout, backoff as its
policy says: 3 s in all for the store and Kafka, 7.5 s for inference) before the workflow goes on
with a regular activity, retried by Temporal for as long as it takes: a service down for long
grows no history while it is waited for."""

# Store and Kafka: short calls, retried with backoff for as long as it takes (the store or broker
# coming back is the only way forward; Temporal keeps the workflow meanwhile).
IO_TIMEOUT = timedelta(seconds=30)
IO_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    # Also by class name: a plain ValidationError or IntegrityError that escaped the activity's
    # own conversion (an input that does not deserialize, say) is not retried either.
    non_retryable_error_types=list(NON_RETRYABLE_ERRORS),
)
# Inference: a call has `ORCHESTRATOR_INFERENCE_TIMEOUT_SECONDS`; an unavailable service is
# waited for, never replaced by an invented score. A request inference refuses as invalid is not
# retried.
LEGACY_INFERENCE_TIMEOUT = timedelta(seconds=10)
"""The inference activities' timeout of workflows started before the policy carried one."""
INFERENCE_TIMEOUT_MARGIN = timedelta(seconds=2)
"""Start-to-close beyond the call's own deadline: the activity's scheduling and decoding."""
INFERENCE_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=500),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    non_retryable_error_types=list(NON_RETRYABLE_ERRORS),
)


@workflow.defn
class PaymentWorkflow:
    @workflow.init
    def __init__(self, input: PaymentWorkflowInput) -> None:
        # The carried state (continue-as-new) is in place before any signal handler runs: a
        # redelivered event signalled into the new run's first task is recognised as seen.
        carried = input.state or PaymentState(payment_id=input.payment_id)
        self._state: PaymentState | None = carried.model_copy(update={"inbox": ()})
        self._inbox: list[NormalizedEvent] = list(carried.inbox)
        self._seen: set[str] = set(carried.seen_event_ids)
        self._verdict: ReviewVerdict | None = None
        self._deferred: list[NormalizedEvent] = []
        """Deciding events recorded while a review was pending: acted on once it is over."""
        self._local = False
        """Activities run as local activities (`run` sets it from the policy and the patch)."""

    # -- signals and queries ------------------------------------------------------------------

    @workflow.signal
    def event(self, event: NormalizedEvent) -> None:
        """One event of this payment; a repeated event id (redelivery) is ignored."""
        key = str(event.event_id)
        if key in self._seen:
            return
        self._seen.add(key)
        self._inbox.append(event)

    @workflow.update
    async def submit_review(self, verdict: ReviewVerdict) -> PaymentDecision:
        """An analyst's verdict on a payment awaiting review; answers with the stored decision.

        The validator refuses (before anything is recorded in the history) a verdict that comes
        when the payment does not await review (too early, too late: already decided or timed
        out) or a second one; the caller gets the reason (`WorkflowUpdateFailedError`)."""
        self._verdict = verdict
        await workflow.wait_condition(lambda: self._current().stage in ("decided", "undecided"))
        decision = self._current().decision
        if decision is None:  # deciding failed for good after the verdict
            raise ApplicationError(
                f"no decision: {self._current().undecided_reason}", type="PaymentUndecided", non_retryable=True
            )
        return decision

    @submit_review.validator
    def _review_expected(self, verdict: ReviewVerdict) -> None:
        state = self._current()
        if self._verdict is not None:
            raise ApplicationError(
                f"{state.payment_id} was already reviewed by {self._verdict.analyst_id}", type="AlreadyReviewed"
            )
        if state.stage != "awaiting_review":
            raise ApplicationError(
                f"{state.payment_id} does not await review (stage {state.stage})", type="ReviewNotExpected"
            )

    @workflow.signal
    def review(self, verdict: ReviewVerdict) -> None:
        """The older, fire-and-forget form of `submit_review` (kept for workflows and histories
        that have it). Only the first verdict while the payment awaits review counts; any other
        is logged as ignored, with why: use `submit_review` to be told."""
        state = self._current()
        if state.stage == "awaiting_review" and self._verdict is None:
            self._verdict = verdict
            return
        why = "already reviewed" if self._verdict is not None else f"stage {state.stage}"
        workflow.logger.warning("review signal of %s for %s ignored: %s", verdict.analyst_id, state.payment_id, why)

    @workflow.query
    def status(self) -> PaymentStatusView:
        state = self._current()
        return PaymentStatusView(
            stage=state.stage,
            payment_status=state.payment_status,
            fraud_label=state.fraud_label,
            retries_published=state.retries_published,
            retry_due_at=state.pending_retry.due_at if state.pending_retry else None,
            undecided_reason=state.undecided_reason,
        )

    @workflow.query
    def decision(self) -> PaymentDecision | None:
        return self._current().decision

    @workflow.query
    def scores(self) -> Scores:
        return self._current().scores

    @workflow.query
    def history(self) -> list[EventSummary]:
        return list(self._current().history)

    # -- the run ------------------------------------------------------------------------------

    @workflow.run
    async def run(self, input: PaymentWorkflowInput) -> PaymentState:
        policy = input.policy
        # Decided once per run, in its first task: a run started by a release without local
        # activities (no marker in its history) keeps regular ones all along when replayed.
        self._local = bool(policy.local_activities) and workflow.patched(LOCAL_ACTIVITIES_PATCH)
        while True:
            with contextlib.suppress(TimeoutError):  # the pending retry is due
                await workflow.wait_condition(lambda: bool(self._inbox), timeout=self._until_retry_due())
            await self._publish_due_retry()
            while self._inbox or self._deferred:
                if self._deferred:
                    await self._act(self._deferred.pop(0), input)
                else:
                    await self._handle(self._inbox.pop(0), input)
            info = workflow.info()
            if info.is_continue_as_new_suggested() or info.get_current_history_length() > policy.history_event_limit:
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(
                    PaymentWorkflowInput(
                        payment_id=input.payment_id,
                        policy=policy,
                        state=self._current().model_copy(
                            update={"inbox": tuple(self._inbox), "seen_event_ids": tuple(sorted(self._seen))}
                        ),
                    )
                )

    def _inference_timeout(self, policy: DecisionPolicy) -> timedelta:
        if policy.inference_timeout_seconds is None:
            return LEGACY_INFERENCE_TIMEOUT
        return timedelta(seconds=policy.inference_timeout_seconds) + INFERENCE_TIMEOUT_MARGIN

    async def _execute(
        self,
        activity: Callable[[PaymentActivities, ParamT], Awaitable[ReturnT]],
        arg: ParamT,
        timeout: timedelta,
        retry: RetryPolicy,
        local: bool = True,
    ) -> ReturnT:
        """Run an activity: as a local activity first (`self._local` and `local`),
        `LOCAL_ATTEMPTS` attempts in the worker; then as a regular activity that Temporal retries
        for as long as it takes. A refusal (`NON_RETRYABLE_ERRORS`) is raised as it comes, either way.

        Local is as durable here: the result is recorded in the history with the workflow
        task, and a worker lost before that runs the activity again, which every activity
        allows (idempotent store writes; a publish is at least once, deduplicated by id). What
        it does not give is the same answer twice: a scoring run again may score differently.
        So a decision's first side effect (`store_decision`) runs with `local=False`: scheduling
        it completes the workflow task, which records the scores the decision was made from, and
        nothing decided from other scores can be stored or published after a crash."""
        if self._local and local:
            try:
                return await workflow.execute_local_activity_method(
                    activity,
                    arg,
                    start_to_close_timeout=timeout,
                    retry_policy=dataclasses.replace(retry, maximum_attempts=LOCAL_ATTEMPTS),
                )
            except FailureError as error:
                # A local activity's failure comes as the activity's own error (an
                # ApplicationError, a TimeoutError), not wrapped in an ActivityError.
                if isinstance(error, TemporalCancelledError) or _refusal(error) is not None:
                    raise
                workflow.logger.warning(
                    "%s failed %d times as a local activity: retried as a regular one (%s: %s)",
                    getattr(activity, "__name__", activity),
                    LOCAL_ATTEMPTS,
                    type(error).__name__,
                    error,
                )
        return await workflow.execute_activity_method(activity, arg, start_to_close_timeout=timeout, retry_policy=retry)

    def _current(self) -> PaymentState:
        if self._state is None:  # a query before the first task: nothing known yet
            return PaymentState(payment_id=workflow.info().workflow_id)
        return self._state

    def _update(self, **changes: object) -> PaymentState:
        self._state = self._current().model_copy(update=changes)
        return self._state

    def _until_retry_due(self) -> timedelta | None:
        pending = self._current().pending_retry
        if pending is None:
            return None
        return max(pending.due_at - workflow.now(), timedelta(0))

    async def _handle(self, event: NormalizedEvent, input: PaymentWorkflowInput) -> None:
        if await self._record(event):
            await self._act(event, input)

    async def _record(self, event: NormalizedEvent) -> bool:
        """Store the event and take it into the state; True if it is a deciding event, which
        `_act` then decides (or plans a retry for)."""
        await self._execute(
            PaymentActivities.record_event,
            RecordEventInput(event=event),
            IO_TIMEOUT,
            IO_RETRY,
        )
        state = self._current()
        summary = EventSummary(
            event_id=str(event.event_id),
            event_type=event.event_type.value,
            status=event.status.value,
            occurred_at=event.occurred_at,
        )
        failed = event.event_type is EventType.PAYMENT_FAILED
        self._update(
            payment_status=event.status.value,
            history=(*state.history, summary),
            failures=state.failures + (1 if failed else 0),
            fraud_label=state.fraud_label or event.event_type is EventType.DISPUTE_LOST,
            # Any later event but a failure (a success, a capture, a refund, a dispute) means the
            # payment went on: a retry planned for an earlier failure is no longer due.
            pending_retry=state.pending_retry if failed else None,
        )
        return event.event_type in DECIDING_EVENTS

    async def _act(self, event: NormalizedEvent, input: PaymentWorkflowInput) -> None:
        """The deciding part of a recorded deciding event."""
        state = self._current()
        if state.decision is None:
            await self._decide(event, input)
        elif event.event_type is EventType.PAYMENT_FAILED and state.decision.decision is Decision.APPROVE:
            # A later attempt of an approved payment failed too: plan its retry as well, unless the
            # payment went on after it (an event recorded during a review, acted on only now).
            if self._went_on_after(event):
                return
            failures = self._failures_through(event)
            retry = await self._retry_strategy(event, failures, input.policy)
            self._schedule_retry(event, retry, failures, input)

    def _recorded_after(self, event: NormalizedEvent) -> list[str]:
        """Types of the events recorded after this one (during a review, before it is acted on)."""
        history = self._current().history
        ids = [h.event_id for h in history]
        if str(event.event_id) not in ids:
            return []
        return [h.event_type for h in history[ids.index(str(event.event_id)) + 1 :]]

    def _failures_through(self, event: NormalizedEvent) -> int:
        """Failures up to this event (its attempt number), not counting those recorded after it."""
        later = self._recorded_after(event)
        return self._current().failures - sum(1 for t in later if t == EventType.PAYMENT_FAILED.value)

    def _went_on_after(self, event: NormalizedEvent) -> bool:
        """An event other than a failure was recorded after this one (the payment went on: a
        success, a capture, a refund, a dispute), so a retry of this failure is not due."""
        return any(t != EventType.PAYMENT_FAILED.value for t in self._recorded_after(event))

    async def _decide(self, event: NormalizedEvent, input: PaymentWorkflowInput) -> None:
        try:
            await self._score_and_decide(event, input)
        except FailureError as error:  # ActivityError; a local activity's own ApplicationError
            refusal = _refusal(error)
            if refusal is None:
                raise
            # No decision can be had for this event (fraud scoring refused, an answer or record
            # that does not validate, a write the store refuses), and none is invented: the
            # payment stays undecided, with the reason, in a workflow that keeps running (a new
            # run would start over with empty state). A later deciding event tries again.
            reason_type, message = refusal
            reason = f"{reason_type}: {message}"
            workflow.logger.warning("payment %s left undecided: %s", event.payment_id, reason)
            self._update(stage="undecided", undecided_reason=reason)
            # Workflows that passed here before this release did not store the reason.
            if workflow.patched("store-undecided-reason"):
                await self._execute(
                    PaymentActivities.record_undecided,
                    RecordUndecidedInput(
                        event_id=str(event.event_id),
                        payment_id=event.payment_id,
                        reason_type=reason_type,
                        reason=message,
                        undecided_at=workflow.now(),
                    ),
                    IO_TIMEOUT,
                    IO_RETRY,
                )

    async def _score_and_decide(self, event: NormalizedEvent, input: PaymentWorkflowInput) -> None:
        policy = input.policy
        self._update(stage="deciding")
        rules = evaluate_rules(event)
        fraud = await self._execute(
            PaymentActivities.score_fraud,
            ScoreFraudInput(event=event),
            self._inference_timeout(policy),
            INFERENCE_RETRY,
        )
        self._update(scores=Scores(fraud=fraud), undecided_reason=None)
        outcome = decide(fraud.score, rules, policy.review_threshold, policy.decline_threshold)
        triggered = rules.triggered
        reviewed_by: str | None = None
        if outcome is Decision.REVIEW:
            self._update(stage="awaiting_review")
            timed_out = False
            if workflow.patched("store-events-during-review"):
                timed_out = await self._await_verdict(policy)
            else:  # workflows that waited here before: later events waited in the inbox
                try:
                    await workflow.wait_condition(
                        lambda: self._verdict is not None, timeout=timedelta(seconds=policy.review_timeout_seconds)
                    )
                except TimeoutError:
                    timed_out = True
            # The review is closed: a verdict from now on is refused (`submit_review`'s validator).
            self._update(stage="deciding")
            verdict = self._verdict
            if timed_out and verdict is not None and workflow.patched("verdict-beats-review-timer"):
                timed_out = False  # the verdict came in the timer's activation: it counts
            if timed_out or verdict is None:
                outcome, triggered = Decision.DECLINE, (*triggered, "review_timed_out")
            else:
                outcome = Decision(verdict.verdict)
                reviewed_by = verdict.analyst_id
        retry: RetryStrategyResponse | None = None
        if (
            event.event_type is EventType.PAYMENT_FAILED
            and outcome is Decision.APPROVE
            and not self._went_on_after(event)
        ):
            # Only a payment we approve is worth retrying; a declined (or reviewed, then declined)
            # one gets no retry plan, nor one that went on while it was in review (a success
            # recorded meanwhile: a retry would charge twice).
            retry = await self._retry_strategy(event, self._failures_through(event), policy)
        churn: ChurnScoreResponse | None = None
        if event.customer_id is not None:
            churn = await self._execute(
                PaymentActivities.score_churn,
                ScoreChurnInput(customer_id=event.customer_id),
                self._inference_timeout(policy),
                INFERENCE_RETRY,
            )
        self._update(scores=Scores(fraud=fraud, churn=churn))
        decision = PaymentDecision(
            event_id=event.event_id,
            payment_id=event.payment_id,
            provider=event.provider,
            amount_minor=event.amount_minor,
            currency=event.currency,
            decision=outcome,
            fraud_score=fraud.score,
            fraud_model_version=fraud.model_version,
            churn_score=churn.score if churn else None,
            churn_model_version=churn.model_version if churn else None,
            rules_triggered=triggered,
            reviewed_by=reviewed_by,
            retry=retry,
            decided_at=workflow.now(),
        )
        stored = await self._execute(
            PaymentActivities.store_decision,
            StoreDecisionInput(decision=decision),
            IO_TIMEOUT,
            IO_RETRY,
            local=False,  # the task boundary that records the scores first (`_execute`)
        )
        await self._execute(
            PaymentActivities.publish_decision,
            PublishDecisionInput(decision=stored),
            IO_TIMEOUT,
            IO_RETRY,
        )
        self._update(stage="decided", decision=stored)
        if retry is not None:
            self._schedule_retry(event, retry, self._failures_through(event), input)

    async def _await_verdict(self, policy: DecisionPolicy) -> bool:
        """Wait for the analyst's verdict; True if the review timed out first. Events that arrive
        meanwhile are stored (and taken into the state) as they come, not after the review; the
        deciding ones among them are acted on once the payment is decided."""
        deadline = workflow.now() + timedelta(seconds=policy.review_timeout_seconds)
        while self._verdict is None:
            try:
                await workflow.wait_condition(
                    lambda: self._verdict is not None or bool(self._inbox),
                    timeout=max(deadline - workflow.now(), timedelta(0)),
                )
            except TimeoutError:
                return True
            while self._inbox and self._verdict is None:
                event = self._inbox.pop(0)
                if await self._record(event):
                    self._deferred.append(event)
        return False

    async def _retry_strategy(
        self, event: NormalizedEvent, attempt: int, policy: DecisionPolicy
    ) -> RetryStrategyResponse:
        return await self._execute(
            PaymentActivities.get_retry_strategy,
            RetryStrategyInput(event=event, attempt=min(max(attempt, 1), 100)),
            self._inference_timeout(policy),
            INFERENCE_RETRY,
        )

    def _schedule_retry(
        self, event: NormalizedEvent, retry: RetryStrategyResponse, failures: int, input: PaymentWorkflowInput
    ) -> None:
        if retry.action not in RETRYABLE_ACTIONS or retry.attempts_remaining < 1:
            return
        delay = timedelta(seconds=retry.delay_seconds * input.policy.retry_delay_scale)
        self._update(
            pending_retry=RetryDue(
                event_id=event.event_id,
                payment_id=event.payment_id,
                provider=event.provider,
                amount_minor=event.amount_minor,
                currency=event.currency,
                action=retry.action,
                category=retry.category,
                attempt=failures + 1,
                due_at=workflow.now() + delay,
            )
        )

    async def _publish_due_retry(self) -> None:
        pending = self._current().pending_retry
        if pending is None or pending.due_at > workflow.now():
            return
        await self._execute(
            PaymentActivities.publish_retry_due,
            PublishRetryDueInput(retry=pending),
            IO_TIMEOUT,
            IO_RETRY,
        )
        self._update(pending_retry=None, retries_published=self._current().retries_published + 1)


def _refusal(error: FailureError) -> tuple[str, str] | None:
    """The type and text of a non-retryable refusal (`MissingLookupKeys`, `InferenceRejected`,
    `ValidationError`, `IntegrityError`), the cause of an `ActivityError` or, from a local
    activity, the error itself; None for any other failure, which the workflow does not
    handle."""
    cause = error.cause if isinstance(error, ActivityError) else error
    if isinstance(cause, ApplicationError) and cause.type is not None and cause.type in NON_RETRYABLE_ERRORS:
        return cause.type, cause.message
    return None


@workflow.defn
class DeadLetterTriageWorkflow:
    """Records one dead letter for triage and waits for someone to resolve it."""

    def __init__(self) -> None:
        self._resolution: DeadLetterResolution | None = None

    @workflow.signal
    def resolve(self, resolution: DeadLetterResolution) -> None:
        if self._resolution is None:
            self._resolution = resolution

    @workflow.query
    def resolution(self) -> DeadLetterResolution | None:
        return self._resolution

    @workflow.run
    async def run(self, input: DeadLetterTriageInput) -> DeadLetterResolution:
        await workflow.execute_activity_method(
            PaymentActivities.record_dead_letter,
            RecordDeadLetterInput(dead_letter=input.dead_letter),
            start_to_close_timeout=IO_TIMEOUT,
            retry_policy=IO_RETRY,
        )
        await workflow.wait_condition(lambda: self._resolution is not None)
        assert self._resolution is not None
        await workflow.execute_activity_method(
            PaymentActivities.resolve_dead_letter,
            ResolveDeadLetterInput(
                dlq_id=str(input.dead_letter.dlq_id), resolution=self._resolution, resolved_at=workflow.now()
            ),
            start_to_close_timeout=IO_TIMEOUT,
            retry_policy=IO_RETRY,
        )
        return self._resolution
