"""A workflow waiting on a signal survives a Temporal restart: history lives in the SQLite file."""

from __future__ import annotations

import asyncio

from temporalio import workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.worker import Worker

from local_stack import LocalStack
from testing.names import unique_name


# Unsandboxed: the sandbox would re-import this test module, pytest and all.
@workflow.defn(sandboxed=False)
class ApprovalWorkflow:
    def __init__(self) -> None:
        self._approver: str | None = None

    @workflow.run
    async def run(self, amount_minor: int) -> str:
        await workflow.wait_condition(lambda: self._approver is not None)
        return f"{amount_minor} approved by {self._approver}"

    @workflow.signal
    def approve(self, approver: str) -> None:
        self._approver = approver


async def _wait_until_blocked(handle: WorkflowHandle[ApprovalWorkflow, str]) -> None:
    """The first workflow task completed: the workflow is now parked on its condition."""
    async with asyncio.timeout(30):
        while True:
            history = await handle.fetch_history()
            if any(e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED for e in history.events):
                return
            await asyncio.sleep(0.05)


async def _scenario(stack: LocalStack) -> tuple[str, WorkflowExecutionStatus | None]:
    address = stack.service("temporal").address()
    task_queue, workflow_id = unique_name("tq-restart"), unique_name("wf-restart")

    client = await Client.connect(address)
    async with Worker(client, task_queue=task_queue, workflows=[ApprovalWorkflow]):
        handle = await client.start_workflow(ApprovalWorkflow.run, 1250, id=workflow_id, task_queue=task_queue)
        await _wait_until_blocked(handle)

    await asyncio.to_thread(stack.restart, "temporal")

    client = await Client.connect(address)
    handle = client.get_workflow_handle_for(ApprovalWorkflow.run, workflow_id)
    status_after_restart = (await handle.describe()).status
    async with Worker(client, task_queue=task_queue, workflows=[ApprovalWorkflow]):
        await handle.signal(ApprovalWorkflow.approve, "risk-team")
        result = await handle.result()
    return result, status_after_restart


def test_workflow_completes_after_server_restart(owned_stack: LocalStack) -> None:
    owned_stack.up(["temporal"])

    result, status_after_restart = asyncio.run(_scenario(owned_stack))

    assert status_after_restart == WorkflowExecutionStatus.RUNNING
    assert result == "1250 approved by risk-team"
