"""The temporal fixtures: one dev server for the process, fresh names per test."""

from __future__ import annotations

import asyncio

from temporalio import workflow
from temporalio.client import Client
from temporalio.worker import Worker

from testing.temporal import TemporalServer, TemporalTarget


# Unsandboxed: the sandbox would re-import this test module, pytest and all.
@workflow.defn(sandboxed=False)
class GreetWorkflow:
    @workflow.run
    async def run(self, name: str) -> str:
        return f"hello {name}"


def test_a_workflow_runs_on_the_fixture_server(temporal: TemporalTarget) -> None:
    async def run() -> str:
        client = await Client.connect(temporal.address, namespace=temporal.namespace)
        async with Worker(client, task_queue=temporal.task_queue, workflows=[GreetWorkflow]):
            return await client.execute_workflow(
                GreetWorkflow.run, "ledger", id=temporal.workflow_id, task_queue=temporal.task_queue
            )

    assert asyncio.run(run()) == "hello ledger"


def test_names_differ_between_tests(temporal: TemporalTarget, temporal_server: TemporalServer) -> None:
    assert temporal.address == temporal_server.address
    assert temporal.task_queue != temporal.workflow_id
    assert "test-names-differ-between-tests" in temporal.task_queue
