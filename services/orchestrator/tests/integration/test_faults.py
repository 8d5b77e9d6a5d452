"""Crashes: the worker SIGKILLed mid-workflow, the bridge SIGKILLed before its commit. Both run
as real processes (`python -m orchestrator.worker` / `.bridge`), on SQLite and on PostgreSQL."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from events import make_event, new_payment_id
from temporalio.api.enums.v1 import EventType as HistoryEventType
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from contracts.schemas.decision import Decision, PaymentDecision
from integration.support import (
    activities_run,
    card_of,
    child_settings_env,
    committed_offsets,
    eventually,
    produce,
    read_topic,
)
from orchestrator.bridge import payment_workflow_id, signal_payment
from orchestrator.messages import ReviewVerdict
from orchestrator.settings import OrchestratorSettings, decision_policy
from orchestrator.store import PaymentsStore
from orchestrator.workflows import PaymentWorkflow
from testing.processes import child_env

pytestmark = pytest.mark.anyio
BOTH_STORES = pytest.mark.parametrize("store_dsn", ["sqlite", "postgresql"], indirect=True)


@contextmanager
def service(module: str, env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    argv = [sys.executable, "-m", module]
    environment = child_env(child_settings_env(env))
    with log.open("ab") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=environment)  # noqa: S603
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=30)


def sigkill(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)


@BOTH_STORES
async def test_a_workflow_killed_with_its_worker_completes_after_a_restart(
    client: Client, settings: OrchestratorSettings, settings_env: dict[str, str], tmp_path: Path
) -> None:
    event = make_event(new_payment_id(), customer_id="cus_medium", card_fingerprint=card_of("cus_medium"))
    policy = decision_policy(settings).model_copy(update={"review_timeout_seconds": 600.0})
    handle = client.get_workflow_handle_for(PaymentWorkflow.run, payment_workflow_id(event.payment_id))
    with service("orchestrator.worker", settings_env, tmp_path / "worker.log") as first:
        await signal_payment(client, settings.task_queue, policy, event)

        async def awaiting_review() -> bool:
            return (await handle.query(PaymentWorkflow.status)).stage == "awaiting_review"

        await eventually(awaiting_review, what="awaiting_review")
        sigkill(first)
    # No worker: the analyst's verdict waits in Temporal, and nothing decides meanwhile.
    await handle.signal(PaymentWorkflow.review, ReviewVerdict(analyst_id="analyst_9", verdict="decline"))
    store = PaymentsStore.from_dsn(settings.store_dsn)
    assert store.payment_decisions(event.payment_id) == []
    with service("orchestrator.worker", settings_env, tmp_path / "worker.log"):

        async def decided() -> PaymentDecision | None:
            return await handle.query(PaymentWorkflow.decision)

        decision: PaymentDecision = await eventually(decided, what="decision after restart")
        assert (decision.decision, decision.reviewed_by) == (Decision.DECLINE, "analyst_9")
        rows = store.payment_decisions(event.payment_id)
        assert [(r.decision, r.reviewed_by) for r in rows] == [("decline", "analyst_9")]


async def _signals(client: Client, workflow_id: str) -> int:
    """Signals the workflow received so far (0 while it does not exist)."""
    try:
        history = await client.get_workflow_handle(workflow_id).fetch_history()
    except RPCError as error:
        if error.status is RPCStatusCode.NOT_FOUND:
            return 0
        raise
    return sum(1 for e in history.events if e.event_type == HistoryEventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED)


@BOTH_STORES
async def test_redelivery_after_the_bridge_is_killed_before_its_commit_decides_each_payment_once(
    worker: Client, settings: OrchestratorSettings, settings_env: dict[str, str], tmp_path: Path
) -> None:
    payments = [new_payment_id() for _ in range(6)]
    events = [make_event(p, customer_id="cus_safe", card_fingerprint=card_of("cus_safe")) for p in payments]
    await produce(settings.kafka_bootstrap_servers, str(settings.normalized_topic), events)
    topic = str(settings.normalized_topic)
    ids = [payment_workflow_id(p) for p in payments]
    store = PaymentsStore.from_dsn(settings.store_dsn)

    async def all_decided() -> bool:
        signalled = all([await _signals(worker, i) >= 1 for i in ids])
        return signalled and all(len(store.payment_decisions(p)) == 1 for p in payments)

    # The first bridge holds what Temporal accepted for five minutes before committing it (a real
    # setting: fewer commits under load), so the SIGKILL lands between acceptance and commit.
    holding = {**settings_env, "ORCHESTRATOR_BRIDGE_COMMIT_INTERVAL_SECONDS": "300"}
    with service("orchestrator.bridge", holding, tmp_path / "bridge.log") as first:
        try:
            await eventually(all_decided, what="every payment signalled and decided")
            # Accepted by Temporal, decided and stored, and still nothing committed.
            assert set(
                (await committed_offsets(settings.kafka_bootstrap_servers, settings.kafka_group_id, topic)).values()
            ) == {None}
        finally:
            sigkill(first)
    assert first.returncode == -signal.SIGKILL
    with service("orchestrator.bridge", settings_env, tmp_path / "bridge.log"):

        async def all_redelivered() -> bool:
            return all([await _signals(worker, i) == 2 for i in ids])

        await eventually(all_redelivered, timeout=90, what="every event redelivered to its workflow")

        async def committed_to_the_end() -> bool:
            offsets = await committed_offsets(settings.kafka_bootstrap_servers, settings.kafka_group_id, topic)
            return sum(o or 0 for o in offsets.values()) == len(events)

        await eventually(committed_to_the_end, what="the redelivered batch committed")
        decisions = await read_topic(
            settings.kafka_bootstrap_servers,
            str(settings.decisions_topic),
            PaymentDecision,
            lambda got: {d.payment_id for d in got} == set(payments),
        )
    # Exactly one decision each, published and stored, from exactly one workflow run each.
    assert sorted(d.payment_id for d in decisions) == sorted(payments)
    assert [len(store.payment_decisions(p)) for p in payments] == [1] * 6
    for workflow_id in ids:
        runs = [run async for run in worker.list_workflows(f'WorkflowId = "{workflow_id}"')]
        assert len(runs) == 1
        history = await worker.get_workflow_handle(workflow_id).fetch_history()
        # Local activities by default: recorded as markers (a regular one would be scheduled).
        assert activities_run(history).count("store_decision") == 1
