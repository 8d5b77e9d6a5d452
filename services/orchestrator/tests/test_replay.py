"""Recorded workflow histories (tests/histories, recorded by the integration tests with
`RECORD_HISTORIES_TO`) replay with the current workflow code. A change that alters the order of
commands (here: churn scored before fraud) must fail the replay: that is what this test guards."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer
from temporalio.workflow import NondeterminismError

from orchestrator.activities import PaymentActivities
from orchestrator.messages import PaymentState, PaymentWorkflowInput, ScoreChurnInput
from orchestrator.workflows import (
    INFERENCE_RETRY,
    LOCAL_ACTIVITIES_PATCH,
    DeadLetterTriageWorkflow,
    PaymentWorkflow,
)

pytestmark = pytest.mark.anyio

HISTORIES = next(
    path
    for path in (Path("services/orchestrator/tests/histories"), Path(__file__).resolve().parent / "histories")
    if path.is_dir()
)
RECORDED = sorted(HISTORIES.glob("*.json"))


@pytest.fixture()
def anyio_backend() -> str:
    return "asyncio"


def _history(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(path.stem, path.read_text())


def test_every_scenario_is_recorded() -> None:
    assert {path.stem for path in RECORDED} == {
        "dead_letter_redriven",
        "payment_approved",
        "payment_approved_local_activities",
        "payment_dispute_lost",
        "payment_events_during_review",
        "payment_failed_retry_due",
        "payment_review_approved",
        "payment_review_approved_by_update",
        "payment_review_timed_out",
        "payment_undecided",
    }


@pytest.mark.parametrize("path", RECORDED, ids=lambda path: path.stem)
async def test_a_recorded_history_replays_with_the_current_code(path: Path) -> None:
    replayer = Replayer(workflows=[PaymentWorkflow, DeadLetterTriageWorkflow], data_converter=pydantic_data_converter)
    await replayer.replay_workflow(_history(path))


@workflow.defn(name="PaymentWorkflow", sandboxed=False)
class ChurnFirstPaymentWorkflow(PaymentWorkflow):
    """A deliberately non-deterministic change: one more activity before the first recorded one."""

    @workflow.run
    async def run(self, input: PaymentWorkflowInput) -> PaymentState:
        await workflow.execute_activity_method(
            PaymentActivities.score_churn,
            ScoreChurnInput(customer_id="cus_safe"),
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=INFERENCE_RETRY,
        )
        return await super().run(input)


async def test_a_non_deterministic_change_fails_the_replay() -> None:
    replayer = Replayer(workflows=[ChurnFirstPaymentWorkflow], data_converter=pydantic_data_converter)
    with pytest.raises(NondeterminismError):
        await replayer.replay_workflow(_history(HISTORIES / "payment_approved.json"))


@workflow.defn(name="PaymentWorkflow", sandboxed=False)
class RegularActivitiesOnlyPaymentWorkflow(PaymentWorkflow):
    """The code as it was before local activities: every activity through the task queue."""

    @workflow.run
    async def run(self, input: PaymentWorkflowInput) -> PaymentState:
        return await super().run(
            input.model_copy(update={"policy": input.policy.model_copy(update={"local_activities": None})})
        )


async def test_the_local_activities_history_needs_its_branch() -> None:
    """The history recorded with local activities carries the patch marker, replays with the
    current code (above) and fails with the code before it: the patch is what keeps the two
    kinds of runs apart."""
    history = _history(HISTORIES / "payment_approved_local_activities.json")
    markers = [
        e.marker_recorded_event_attributes for e in history.events if e.HasField("marker_recorded_event_attributes")
    ]
    patches = [
        json.loads(m.details["patch-data"].payloads[0].data)["id"] for m in markers if m.marker_name == "core_patch"
    ]
    assert patches == [LOCAL_ACTIVITIES_PATCH]
    assert sum(1 for m in markers if m.marker_name == "core_local_activity") == 4  # store_decision is regular
    replayer = Replayer(workflows=[RegularActivitiesOnlyPaymentWorkflow], data_converter=pydantic_data_converter)
    with pytest.raises(NondeterminismError):
        await replayer.replay_workflow(history)
