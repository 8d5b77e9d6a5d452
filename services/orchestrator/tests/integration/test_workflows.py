"""PaymentWorkflow end to end: real Temporal, real inference (rules-v1 over real Feast features),
the SQLite store and real Kafka. Expected scores are worked by hand in `support.py`."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from aiokafka import ConsumerRecord  # type: ignore[import-untyped]  # no py.typed
from events import make_dead_letter, make_event, new_payment_id
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType as HistoryEventType
from temporalio.api.workflowservice.v1 import ResetWorkflowExecutionRequest
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError

from contracts.schemas.decision import DECISION_ID_HEADER, Decision, PaymentDecision
from contracts.schemas.normalized_event import EventType, NormalizedEvent
from contracts.schemas.records import UndecidedEventRow
from contracts.schemas.retry_due import RetryDue
from integration.support import (
    EXPECTED_CHURN,
    EXPECTED_FRAUD,
    activities_run,
    card_of,
    eventually,
    keep_history,
    patch_markers,
    read_records,
    read_topic,
)
from orchestrator.bridge import dead_letter_workflow_id, payment_workflow_id, signal_payment
from orchestrator.messages import (
    DeadLetterResolution,
    DeadLetterTriageInput,
    EventSummary,
    PaymentState,
    PaymentStatusView,
    PaymentWorkflowInput,
    ReviewVerdict,
)
from orchestrator.settings import OrchestratorSettings, decision_policy
from orchestrator.store import PaymentsStore
from orchestrator.workflows import LOCAL_ACTIVITIES_PATCH, DeadLetterTriageWorkflow, PaymentWorkflow

pytestmark = pytest.mark.anyio


async def _send(
    client: Client, settings: OrchestratorSettings, event: NormalizedEvent, *, local_activities: bool = True
) -> WorkflowHandle[PaymentWorkflow, PaymentState]:
    policy = decision_policy(settings).model_copy(update={"local_activities": local_activities})
    await signal_payment(client, settings.task_queue, policy, event)
    return client.get_workflow_handle_for(PaymentWorkflow.run, payment_workflow_id(event.payment_id))


async def _decided(handle: WorkflowHandle[PaymentWorkflow, PaymentState]) -> PaymentDecision:
    async def check() -> PaymentDecision | None:
        return await handle.query(PaymentWorkflow.decision)

    decision: PaymentDecision = await eventually(check, what="decision")
    return decision


async def _published(settings: OrchestratorSettings, payment_id: str) -> list[PaymentDecision]:
    return await read_topic(
        settings.kafka_bootstrap_servers,
        str(settings.decisions_topic),
        PaymentDecision,
        lambda got: any(d.payment_id == payment_id for d in got),
    )


def _store(settings: OrchestratorSettings) -> PaymentsStore:
    return PaymentsStore.from_dsn(settings.store_dsn)


async def test_a_safe_customer_is_approved_scored_stored_and_published(
    worker: Client, settings: OrchestratorSettings
) -> None:
    event = make_event(new_payment_id(), customer_id="cus_safe", card_fingerprint=card_of("cus_safe"))
    handle = await _send(worker, settings, event)
    decision = await _decided(handle)
    assert decision.decision is Decision.APPROVE
    assert decision.fraud_score == pytest.approx(EXPECTED_FRAUD["cus_safe"], abs=1e-5)
    assert decision.fraud_model_version == "rules-v1"
    assert decision.churn_score == pytest.approx(EXPECTED_CHURN, abs=1e-5)
    assert decision.event_id == event.event_id
    scores = await handle.query(PaymentWorkflow.scores)
    assert scores.fraud is not None and scores.fraud.feature_source.value == "feast"
    published = [d for d in await _published(settings, event.payment_id) if d.payment_id == event.payment_id]
    assert published == [decision]
    store = _store(settings)
    rows = store.payment_decisions(event.payment_id)
    assert [(r.decision, r.event_id) for r in rows] == [("approve", str(event.event_id))]
    payment = store.payment(event.payment_id)
    assert payment is not None and (payment.status, payment.decision) == ("succeeded", "approve")
    assert [e.event_id for e in store.payment_events(event.payment_id)] == [str(event.event_id)]
    # By default (ORCHESTRATOR_LOCAL_ACTIVITIES) the activities ran as local activities, in this
    # order, except `store_decision`, the one through the task queue: scheduling it completed the
    # workflow task that recorded the scores, before anything was stored. The run is marked for replay.
    history = await handle.fetch_history()
    assert decision_policy(settings).local_activities is True
    assert activities_run(history) == [
        "record_event",
        "score_fraud",
        "score_churn",
        "store_decision",
        "publish_decision",
    ]
    scheduled = [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.event_type == HistoryEventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]
    assert scheduled == ["store_decision"]
    assert patch_markers(history) == [LOCAL_ACTIVITIES_PATCH]
    # (payment_approved.json is the same scenario recorded before local activities.)
    await keep_history(handle, "payment_approved_local_activities")


async def test_with_local_activities_off_every_activity_goes_through_the_task_queue(
    worker: Client, settings: OrchestratorSettings
) -> None:
    event = make_event(new_payment_id(), customer_id="cus_safe", card_fingerprint=card_of("cus_safe"))
    handle = await _send(worker, settings, event, local_activities=False)
    decision = await _decided(handle)
    assert decision.decision is Decision.APPROVE
    history = await handle.fetch_history()
    scheduled = [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.event_type == HistoryEventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]
    assert scheduled == ["record_event", "score_fraud", "score_churn", "store_decision", "publish_decision"]
    assert patch_markers(history) == []


async def test_a_risky_customer_is_declined(worker: Client, settings: OrchestratorSettings) -> None:
    event = make_event(new_payment_id(), customer_id="cus_risky", card_fingerprint=card_of("cus_risky"))
    decision = await _decided(await _send(worker, settings, event))
    assert decision.decision is Decision.DECLINE
    assert decision.fraud_score == pytest.approx(EXPECTED_FRAUD["cus_risky"], abs=1e-5)
    assert [r.decision for r in _store(settings).payment_decisions(event.payment_id)] == ["decline"]


async def _review_refused(handle: WorkflowHandle[PaymentWorkflow, PaymentState], verdict: ReviewVerdict) -> str:
    """The type and message of the `submit_review` refusal (it must be refused)."""
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(PaymentWorkflow.submit_review, verdict)
    cause = refused.value.cause
    assert isinstance(cause, ApplicationError)
    return f"{cause.type}: {cause.message}"


async def test_a_review_is_approved_by_the_analysts_update_and_a_second_verdict_is_refused(
    worker: Client, settings: OrchestratorSettings
) -> None:
    event = make_event(new_payment_id(), customer_id="cus_medium", card_fingerprint=card_of("cus_medium"))
    handle = await _send(worker, settings, event)

    async def awaiting_review() -> bool:
        return (await handle.query(PaymentWorkflow.status)).stage == "awaiting_review"

    await eventually(awaiting_review, what="awaiting_review")
    verdict = ReviewVerdict(analyst_id="analyst_7", verdict="approve", note="known customer")
    # The update answers with the stored decision.
    decision = await handle.execute_update(PaymentWorkflow.submit_review, verdict)
    assert (decision.decision, decision.reviewed_by) == (Decision.APPROVE, "analyst_7")
    assert decision == await handle.query(PaymentWorkflow.decision)
    second = ReviewVerdict(analyst_id="analyst_8", verdict="decline")
    assert await _review_refused(handle, second) == (
        f"AlreadyReviewed: {event.payment_id} was already reviewed by analyst_7"
    )
    rows = _store(settings).payment_decisions(event.payment_id)
    assert [(r.decision, r.reviewed_by) for r in rows] == [("approve", "analyst_7")]
    await keep_history(handle, "payment_review_approved_by_update")


async def test_a_verdict_for_a_payment_not_awaiting_review_is_refused(
    worker: Client, settings: OrchestratorSettings
) -> None:
    event = make_event(new_payment_id(), customer_id="cus_safe", card_fingerprint=card_of("cus_safe"))
    handle = await _send(worker, settings, event)
    assert (await _decided(handle)).decision is Decision.APPROVE
    verdict = ReviewVerdict(analyst_id="analyst_7", verdict="decline")
    assert await _review_refused(handle, verdict) == (
        f"ReviewNotExpected: {event.payment_id} does not await review (stage decided)"
    )
    assert [r.decision for r in _store(settings).payment_decisions(event.payment_id)] == ["approve"]


async def test_a_review_is_approved_by_the_analysts_signal(worker: Client, settings: OrchestratorSettings) -> None:
    event = make_event(new_payment_id(), customer_id="cus_medium", card_fingerprint=card_of("cus_medium"))
    handle = await _send(worker, settings, event)

    async def awaiting_review() -> bool:
        return (await handle.query(PaymentWorkflow.status)).stage == "awaiting_review"

    await eventually(awaiting_review, what="awaiting_review")
    assert await handle.query(PaymentWorkflow.decision) is None
    await handle.signal(
        PaymentWorkflow.review, ReviewVerdict(analyst_id="analyst_7", verdict="approve", note="known customer")
    )
    decision = await _decided(handle)
    assert decision.decision is Decision.APPROVE
    assert decision.reviewed_by == "analyst_7"
    assert decision.fraud_score == pytest.approx(EXPECTED_FRAUD["cus_medium"], abs=1e-5)
    rows = _store(settings).payment_decisions(event.payment_id)
    assert [(r.decision, r.reviewed_by) for r in rows] == [("approve", "analyst_7")]
    await keep_history(handle, "payment_review_approved")


async def test_a_review_without_an_answer_is_declined_when_its_timer_fires(
    worker: Client, settings: OrchestratorSettings
) -> None:
    event = make_event(new_payment_id(), customer_id="cus_medium", card_fingerprint=card_of("cus_medium"))
    handle = await _send(worker, settings, event)
    decision = await _decided(handle)
    await keep_history(handle, "payment_review_timed_out")
    assert decision.decision is Decision.DECLINE
    assert decision.reviewed_by is None
    assert "review_timed_out" in decision.rules_triggered
    # The timer is durable: the decision came at least the configured 3 s after the workflow began
    # (both times are the Temporal server's).
    started = (await handle.describe()).start_time
    assert started is not None
    assert decision.decided_at - started >= timedelta(seconds=3)
    # A verdict after the timer declined is refused with the reason, not dropped.
    late = ReviewVerdict(analyst_id="analyst_7", verdict="approve")
    assert await _review_refused(handle, late) == (
        f"ReviewNotExpected: {event.payment_id} does not await review (stage decided)"
    )


async def test_a_failed_payment_gets_a_retry_plan_and_a_retry_due_event(
    worker: Client, settings: OrchestratorSettings
) -> None:
    event = make_event(
        new_payment_id(),
        EventType.PAYMENT_FAILED,
        customer_id="cus_safe",
        card_fingerprint=card_of("cus_safe"),
        decline_code="insufficient_funds",
    )
    handle = await _send(worker, settings, event)
    decision = await _decided(handle)
    assert decision.retry is not None
    # contracts RETRY_ADVICE: insufficient funds -> retry later, after 3 days, at most 4 attempts.
    assert (decision.retry.action.value, decision.retry.delay_seconds) == ("retry_later", 3 * 86400)
    retries = await read_topic(
        settings.kafka_bootstrap_servers,
        str(settings.retries_topic),
        RetryDue,
        lambda got: any(r.payment_id == event.payment_id for r in got),
    )
    retry = next(r for r in retries if r.payment_id == event.payment_id)
    assert (retry.event_id, retry.attempt, retry.action.value) == (event.event_id, 2, "retry_later")
    assert retry.due_at >= decision.decided_at

    # The event is on the topic once the activity published it; the workflow counts it when the
    # activity's completion comes back to it, a moment later.
    async def counted() -> PaymentStatusView | None:
        status = await handle.query(PaymentWorkflow.status)
        return status if status.retries_published else None

    status: PaymentStatusView = await eventually(counted, what="retries_published")
    assert (status.retries_published, status.retry_due_at) == (1, None)
    assert _store(settings).payment_decisions(event.payment_id)[0].retry_action == "retry_later"
    await keep_history(handle, "payment_failed_retry_due")


async def test_a_dispute_lost_after_approval_updates_the_same_workflow_and_the_store(
    worker: Client, settings: OrchestratorSettings
) -> None:
    payment_id = new_payment_id()
    paid = make_event(payment_id, customer_id="cus_safe", card_fingerprint=card_of("cus_safe"))
    handle = await _send(worker, settings, paid)
    first = await _decided(handle)
    assert first.decision is Decision.APPROVE
    opened = make_event(
        payment_id,
        EventType.DISPUTE_OPENED,
        minutes=60,
        customer_id="cus_safe",
        card_fingerprint=card_of("cus_safe"),
        dispute_id="dp_1",
    )
    lost = make_event(
        payment_id,
        EventType.DISPUTE_LOST,
        minutes=120,
        customer_id="cus_safe",
        card_fingerprint=card_of("cus_safe"),
        dispute_id="dp_1",
    )
    await _send(worker, settings, opened)
    await _send(worker, settings, lost)
    await _send(worker, settings, lost)  # redelivered: ignored

    async def labelled() -> bool:
        return (await handle.query(PaymentWorkflow.status)).fraud_label

    await eventually(labelled, what="fraud label")
    history = await handle.query(PaymentWorkflow.history)
    assert [h.event_type for h in history] == ["payment.succeeded", "dispute.opened", "dispute.lost"]
    assert await handle.query(PaymentWorkflow.decision) == first
    store = _store(settings)
    assert [e.event_type for e in store.payment_events(payment_id)] == [
        "payment.succeeded",
        "dispute.opened",
        "dispute.lost",
    ]
    payment = store.payment(payment_id)
    assert payment is not None and (payment.status, payment.decision) == ("charged_back", "approve")
    assert len(store.payment_decisions(payment_id)) == 1
    # One workflow run received all of it.
    runs = [run async for run in worker.list_workflows(f'WorkflowId = "{handle.id}"')]
    assert len(runs) == 1
    await keep_history(handle, "payment_dispute_lost")


async def test_a_dead_letter_is_recorded_and_waits_for_its_resolution(
    worker: Client, settings: OrchestratorSettings
) -> None:
    letter = make_dead_letter()
    handle = await worker.start_workflow(
        DeadLetterTriageWorkflow.run,
        DeadLetterTriageInput(dead_letter=letter),
        id=dead_letter_workflow_id(letter.dlq_id),
        task_queue=settings.task_queue,
    )
    store = _store(settings)
    row = await eventually(lambda: store.dead_letter(str(letter.dlq_id)), what="triage row")
    assert row.status == "open"
    await handle.signal(DeadLetterTriageWorkflow.resolve, DeadLetterResolution(outcome="redriven", resolved_by="ops_1"))
    assert (await handle.result()).outcome == "redriven"
    row = store.dead_letter(str(letter.dlq_id))
    assert row is not None and (row.status, row.resolved_by) == ("redriven", "ops_1")
    await keep_history(handle, "dead_letter_redriven")


async def test_a_long_history_continues_as_new_with_its_state(worker: Client, settings: OrchestratorSettings) -> None:
    payment_id = new_payment_id()
    card = card_of("cus_safe")
    paid = make_event(payment_id, customer_id="cus_safe", card_fingerprint=card)
    policy = decision_policy(settings).model_copy(update={"history_event_limit": 100})
    await signal_payment(worker, settings.task_queue, policy, paid)
    handle = worker.get_workflow_handle_for(PaymentWorkflow.run, payment_workflow_id(payment_id))
    first = await _decided(handle)
    first_run = (await handle.describe()).run_id
    # Each event costs a signal and a local activity's marker (2 history events), with workflow
    # tasks (3 each) for one or several of them: 40 pass 100.
    refunds = [
        make_event(payment_id, EventType.REFUND_FAILED, minutes=i + 1, refund_id=f"re_{i}", card_fingerprint=card)
        for i in range(40)
    ]
    for event in refunds:
        await signal_payment(worker, settings.task_queue, policy, event)

    async def all_seen() -> bool:
        return len(await handle.query(PaymentWorkflow.history)) == 41

    await eventually(all_seen, what="every event in the carried history")
    assert (await handle.describe()).run_id != first_run
    assert await handle.query(PaymentWorkflow.decision) == first
    # Events redelivered from before the continue-as-new are still recognised: only the new
    # refund, signalled after them, joins the history.
    refunded = make_event(payment_id, EventType.REFUND_SUCCEEDED, minutes=100, refund_id="re_ok", card_fingerprint=card)
    for event in (refunds[0], paid, refunded):
        await signal_payment(worker, settings.task_queue, policy, event)

    async def refund_seen() -> list[str] | None:
        types = [h.event_type for h in await handle.query(PaymentWorkflow.history)]
        return types if types[-1] == "refund.succeeded" else None

    types = await eventually(refund_seen, what="the last refund")
    assert types == ["payment.succeeded", *["refund.failed"] * 40, "refund.succeeded"]
    store = _store(settings)
    assert len(store.payment_events(payment_id)) == 42
    assert len(store.payment_decisions(payment_id)) == 1
    payment = store.payment(payment_id)
    assert payment is not None and payment.status == "refunded"


async def _history_types(handle: WorkflowHandle[PaymentWorkflow, PaymentState], last: str) -> list[str]:
    async def seen() -> list[str] | None:
        types = [h.event_type for h in await handle.query(PaymentWorkflow.history)]
        return types if types and types[-1] == last else None

    types: list[str] = await eventually(seen, what=f"the {last} event in the history")
    return types


async def test_a_success_after_a_failure_cancels_the_pending_retry(
    worker: Client, settings: OrchestratorSettings
) -> None:
    payment_id = new_payment_id()
    card = card_of("cus_safe")
    # insufficient_funds: retry after 3 days x 1e-4 = 26 s, long after the success arrives.
    policy = decision_policy(settings).model_copy(update={"retry_delay_scale": 0.0001})
    failed = make_event(
        payment_id,
        EventType.PAYMENT_FAILED,
        customer_id="cus_safe",
        card_fingerprint=card,
        decline_code="insufficient_funds",
    )
    await signal_payment(worker, settings.task_queue, policy, failed)
    handle = worker.get_workflow_handle_for(PaymentWorkflow.run, payment_workflow_id(payment_id))
    decision = await _decided(handle)
    assert decision.decision is Decision.APPROVE and decision.retry is not None
    status = await handle.query(PaymentWorkflow.status)
    assert status.retry_due_at is not None
    assert status.retry_due_at >= decision.decided_at + timedelta(seconds=3 * 86400 * 0.0001)
    succeeded = make_event(
        payment_id, EventType.PAYMENT_SUCCEEDED, minutes=5, customer_id="cus_safe", card_fingerprint=card
    )
    await signal_payment(worker, settings.task_queue, policy, succeeded)
    assert await _history_types(handle, "payment.succeeded") == ["payment.failed", "payment.succeeded"]
    status = await handle.query(PaymentWorkflow.status)
    assert (status.retry_due_at, status.retries_published, status.payment_status) == (None, 0, "succeeded")


async def test_a_declined_failed_payment_gets_no_retry(worker: Client, settings: OrchestratorSettings) -> None:
    event = make_event(
        new_payment_id(),
        EventType.PAYMENT_FAILED,
        customer_id="cus_risky",
        card_fingerprint=card_of("cus_risky"),
        decline_code="insufficient_funds",
    )
    handle = await _send(worker, settings, event)
    decision = await _decided(handle)
    assert decision.decision is Decision.DECLINE
    assert decision.retry is None
    status = await handle.query(PaymentWorkflow.status)
    assert (status.retry_due_at, status.retries_published) == (None, 0)
    assert [r.retry_action for r in _store(settings).payment_decisions(event.payment_id)] == [None]


async def test_an_event_redelivered_into_the_first_task_after_continue_as_new_is_ignored(
    worker: Client, settings: OrchestratorSettings
) -> None:
    payment_id = new_payment_id()
    card = card_of("cus_safe")
    paid = make_event(payment_id, customer_id="cus_safe", card_fingerprint=card)
    carried = PaymentState(
        payment_id=payment_id,
        stage="decided",
        payment_status=paid.status.value,
        history=(
            EventSummary(
                event_id=str(paid.event_id),
                event_type=paid.event_type.value,
                status=paid.status.value,
                occurred_at=paid.occurred_at,
            ),
        ),
        seen_event_ids=(str(paid.event_id),),
    )
    # What continue-as-new starts, with the already-seen event signalled into its first task.
    handle = await worker.start_workflow(
        PaymentWorkflow.run,
        PaymentWorkflowInput(payment_id=payment_id, policy=decision_policy(settings), state=carried),
        id=payment_workflow_id(payment_id),
        task_queue=settings.task_queue,
        start_signal="event",
        start_signal_args=[paid],
    )
    refunded = make_event(payment_id, EventType.REFUND_SUCCEEDED, minutes=10, refund_id="re_1", card_fingerprint=card)
    await handle.signal(PaymentWorkflow.event, refunded)
    assert await _history_types(handle, "refund.succeeded") == ["payment.succeeded", "refund.succeeded"]
    store = _store(settings)
    assert [e.event_type for e in store.payment_events(payment_id)] == ["refund.succeeded"]
    assert store.payment_decisions(payment_id) == []


async def test_a_payment_without_lookup_keys_stays_undecided_with_its_reason(
    worker: Client, settings: OrchestratorSettings
) -> None:
    payment_id = new_payment_id()
    event = make_event(payment_id, customer_id=None)
    handle = await _send(worker, settings, event)

    async def undecided() -> PaymentStatusView | None:
        status = await handle.query(PaymentWorkflow.status)
        return status if status.stage == "undecided" else None

    status: PaymentStatusView = await eventually(undecided, what="stage undecided")
    assert status.undecided_reason is not None and status.undecided_reason.startswith("MissingLookupKeys: ")
    assert await handle.query(PaymentWorkflow.decision) is None
    # The store keeps the reason too, for the deciding event, typed: the activity's real error.
    rows: list[UndecidedEventRow] = await eventually(
        lambda: _store(settings).undecided_events(payment_id), what="undecided row"
    )
    assert [(r.event_id, r.reason_type) for r in rows] == [(str(event.event_id), "MissingLookupKeys")]
    assert status.undecided_reason == f"MissingLookupKeys: {rows[0].reason}"
    assert f"{payment_id} has no customer id or card fingerprint" in rows[0].reason
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
    # The workflow keeps serving the payment's later events.
    refunded = make_event(payment_id, EventType.REFUND_SUCCEEDED, minutes=10, customer_id=None, refund_id="re_1")
    await _send(worker, settings, refunded)
    assert await _history_types(handle, "refund.succeeded") == ["payment.succeeded", "refund.succeeded"]
    store = _store(settings)
    assert [e.event_type for e in store.payment_events(payment_id)] == ["payment.succeeded", "refund.succeeded"]
    assert store.payment_decisions(payment_id) == []
    await keep_history(handle, "payment_undecided")


async def test_a_closed_payment_workflow_is_never_started_over(worker: Client, settings: OrchestratorSettings) -> None:
    payment_id = new_payment_id()
    card = card_of("cus_safe")
    handle = await _send(worker, settings, make_event(payment_id, customer_id="cus_safe", card_fingerprint=card))
    assert (await _decided(handle)).decision is Decision.APPROVE
    await handle.terminate(reason="test: closed by an operator")
    closed_run = (await handle.describe()).run_id
    refunded = make_event(payment_id, EventType.REFUND_SUCCEEDED, minutes=10, refund_id="re_1", card_fingerprint=card)
    with pytest.raises(WorkflowAlreadyStartedError):
        await signal_payment(worker, settings.task_queue, decision_policy(settings), refunded)
    described = await handle.describe()
    assert (described.run_id, described.status) == (closed_run, WorkflowExecutionStatus.TERMINATED)


async def test_the_inference_activities_get_the_inference_timeout_setting(
    worker: Client, settings: OrchestratorSettings
) -> None:
    # 20 s: above the 10 s every inference activity had before, hard-coded.
    # Regular activities, whose timeouts the history shows (local ones take the same arguments).
    policy = decision_policy(settings).model_copy(update={"inference_timeout_seconds": 20.0, "local_activities": False})
    event = make_event(new_payment_id(), customer_id="cus_safe", card_fingerprint=card_of("cus_safe"))
    await signal_payment(worker, settings.task_queue, policy, event)
    handle = worker.get_workflow_handle_for(PaymentWorkflow.run, payment_workflow_id(event.payment_id))
    await _decided(handle)
    history = await handle.fetch_history()
    timeouts = {
        e.activity_task_scheduled_event_attributes.activity_type.name: (
            e.activity_task_scheduled_event_attributes.start_to_close_timeout.ToTimedelta()
        )
        for e in history.events
        if e.event_type == HistoryEventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    }
    # 20 s for the call plus the 2 s margin (workflows.INFERENCE_TIMEOUT_MARGIN); the store and
    # Kafka activities keep their 30 s.
    assert timeouts == {
        "record_event": timedelta(seconds=30),
        "score_fraud": timedelta(seconds=22),
        "score_churn": timedelta(seconds=22),
        "store_decision": timedelta(seconds=30),
        "publish_decision": timedelta(seconds=30),
    }
    # And by default the setting (5 s) is what the bridge puts in the policy.
    assert decision_policy(settings).inference_timeout_seconds == settings.inference_timeout_seconds == 5.0


async def test_a_replayed_publish_carries_the_same_decision_id(worker: Client, settings: OrchestratorSettings) -> None:
    """Publishing is at least once. Here the second publish is real: the workflow is reset (what
    an operator does with `temporal workflow reset`) to the task that scheduled its publish, so
    the publish activity runs again from the recorded history, as after a worker crash. (With
    regular activities: with local ones the whole decision is one workflow task, and a reset
    to it runs every activity again, the publish included.)"""
    payment_id = new_payment_id()
    event = make_event(payment_id, customer_id="cus_safe", card_fingerprint=card_of("cus_safe"))
    handle = await _send(worker, settings, event, local_activities=False)
    decision = await _decided(handle)
    history = await handle.fetch_history()
    publish = next(
        e.activity_task_scheduled_event_attributes
        for e in history.events
        if e.event_type == HistoryEventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        and e.activity_task_scheduled_event_attributes.activity_type.name == "publish_decision"
    )
    await worker.workflow_service.reset_workflow_execution(
        ResetWorkflowExecutionRequest(
            namespace=worker.namespace,
            workflow_execution=WorkflowExecution(workflow_id=handle.id),
            reason="test: publish the decision again",
            workflow_task_finish_event_id=publish.workflow_task_completed_event_id,
            request_id=str(uuid.uuid4()),
        )
    )

    def ours(records: list[ConsumerRecord[bytes, bytes]]) -> list[ConsumerRecord[bytes, bytes]]:
        return [r for r in records if r.key == payment_id.encode()]

    records = ours(
        await read_records(
            settings.kafka_bootstrap_servers, str(settings.decisions_topic), lambda got: len(ours(got)) >= 2
        )
    )
    assert len(records) == 2
    # Two copies of one decision: the same bytes, the same id in the header, which is the
    # deciding event's id (the consumer's deduplication key).
    assert records[0].value == records[1].value
    assert [dict(r.headers)[DECISION_ID_HEADER] for r in records] == [str(event.event_id).encode()] * 2
    deduplicated = {dict(r.headers)[DECISION_ID_HEADER]: PaymentDecision.model_validate_json(r.value) for r in records}
    assert list(deduplicated.values()) == [decision]
    assert len(_store(settings).payment_decisions(payment_id)) == 1


async def test_events_arriving_during_a_review_are_stored_as_they_arrive(
    worker: Client, settings: OrchestratorSettings
) -> None:
    payment_id = new_payment_id()
    card = card_of("cus_medium")
    authorized = make_event(payment_id, EventType.PAYMENT_AUTHORIZED, customer_id="cus_medium", card_fingerprint=card)
    policy = decision_policy(settings).model_copy(update={"review_timeout_seconds": 600.0})
    await signal_payment(worker, settings.task_queue, policy, authorized)
    handle = worker.get_workflow_handle_for(PaymentWorkflow.run, payment_workflow_id(payment_id))

    async def awaiting_review() -> bool:
        return (await handle.query(PaymentWorkflow.status)).stage == "awaiting_review"

    await eventually(awaiting_review, what="awaiting_review")
    # A capture (a deciding event) and a dispute arrive while the analyst has not answered.
    captured = make_event(
        payment_id, EventType.PAYMENT_CAPTURED, minutes=5, customer_id="cus_medium", card_fingerprint=card
    )
    disputed = make_event(
        payment_id,
        EventType.DISPUTE_OPENED,
        minutes=30,
        customer_id="cus_medium",
        card_fingerprint=card,
        dispute_id="dp_1",
    )
    for later in (captured, disputed):
        await handle.signal(PaymentWorkflow.event, later)
    store = _store(settings)

    def stored() -> list[str]:
        types = [e.event_type for e in store.payment_events(payment_id)]
        return types if len(types) == 3 else []

    assert await eventually(stored, what="events stored during the review") == [
        "payment.authorized",
        "payment.captured",
        "dispute.opened",
    ]
    status = await handle.query(PaymentWorkflow.status)
    # Still awaiting the verdict, with the latest state: nothing was decided meanwhile.
    assert (status.stage, status.payment_status) == ("awaiting_review", "disputed")
    assert store.payment_decisions(payment_id) == []
    payment = store.payment(payment_id)
    assert payment is not None and payment.status == "disputed"
    verdict = ReviewVerdict(analyst_id="analyst_3", verdict="approve")
    decision = await handle.execute_update(PaymentWorkflow.submit_review, verdict)
    # One decision, for the first deciding event; the capture recorded during the review decides nothing more.
    assert (decision.event_id, decision.decision, decision.reviewed_by) == (
        authorized.event_id,
        Decision.APPROVE,
        "analyst_3",
    )
    assert [r.event_id for r in store.payment_decisions(payment_id)] == [str(authorized.event_id)]
    history = await handle.query(PaymentWorkflow.history)
    assert [h.event_type for h in history] == ["payment.authorized", "payment.captured", "dispute.opened"]
    await keep_history(handle, "payment_events_during_review")


async def test_a_failed_payment_that_succeeds_during_its_review_gets_no_retry(
    worker: Client, settings: OrchestratorSettings
) -> None:
    payment_id = new_payment_id()
    card = card_of("cus_medium")  # scores in the review band
    failed = make_event(
        payment_id,
        EventType.PAYMENT_FAILED,
        customer_id="cus_medium",
        card_fingerprint=card,
        decline_code="insufficient_funds",
    )
    policy = decision_policy(settings).model_copy(update={"review_timeout_seconds": 600.0})
    await signal_payment(worker, settings.task_queue, policy, failed)
    handle = worker.get_workflow_handle_for(PaymentWorkflow.run, payment_workflow_id(payment_id))

    async def awaiting_review() -> bool:
        return (await handle.query(PaymentWorkflow.status)).stage == "awaiting_review"

    await eventually(awaiting_review, what="awaiting_review")
    # The customer paid on another attempt while the analyst looked at the failure.
    succeeded = make_event(
        payment_id, EventType.PAYMENT_SUCCEEDED, minutes=5, customer_id="cus_medium", card_fingerprint=card
    )
    await handle.signal(PaymentWorkflow.event, succeeded)
    assert await _history_types(handle, "payment.succeeded") == ["payment.failed", "payment.succeeded"]
    decision = await handle.execute_update(
        PaymentWorkflow.submit_review, ReviewVerdict(analyst_id="analyst_5", verdict="approve")
    )
    # Approved, but the payment went on: a retry now would charge it twice.
    assert (decision.event_id, decision.decision, decision.retry) == (failed.event_id, Decision.APPROVE, None)
    status = await handle.query(PaymentWorkflow.status)
    assert (status.retry_due_at, status.retries_published, status.payment_status) == (None, 0, "succeeded")
    assert [r.retry_action for r in _store(settings).payment_decisions(payment_id)] == [None]
