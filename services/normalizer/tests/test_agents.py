"""An agent that stops forgets its unacknowledged batches, and a failed worker is not ready."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from contracts.reference.providers import Provider
from normalizer.agents import Batch, ProviderAgent
from normalizer.app import Normalizer
from normalizer.settings import load_settings
from normalizer.web import ready


@pytest.fixture()
def normalizer(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Normalizer:
    monkeypatch.setenv("NORMALIZER_KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1")
    monkeypatch.setenv("NORMALIZER_DATA_DIR", str(tmp_path))
    return Normalizer(load_settings())


def test_abandon_resets_the_run_and_takes_back_unconfirmed_marks(normalizer: Normalizer) -> None:
    agent = ProviderAgent(normalizer, Provider.STRIPE)
    table = normalizer.dedupe.data
    table["stripe:evt_old"] = 100.0  # acknowledged by an earlier batch: kept
    table["stripe:evt_flight"] = 200.0
    table["stripe:evt_open"] = 300.0

    async def scenario() -> asyncio.Task[None]:
        in_flight: asyncio.Task[None] = asyncio.create_task(asyncio.Event().wait())  # type: ignore[arg-type]
        agent._in_flight = in_flight
        agent._in_flight_marks = {"stripe:evt_flight": (0, 200.0)}
        agent._batch = Batch(marks={"stripe:evt_open": (1, 300.0)})
        agent.abandon()
        await asyncio.sleep(0)  # let the cancellation land
        return in_flight

    in_flight = asyncio.run(scenario())

    assert in_flight.cancelled()
    assert agent._in_flight is None  # the next flush does not await the cancelled task
    assert agent._batch == Batch()
    assert dict(table) == {"stripe:evt_old": 100.0}


def test_marks_of_a_batch_that_completed_stay(normalizer: Normalizer) -> None:
    agent = ProviderAgent(normalizer, Provider.STRIPE)
    table = normalizer.dedupe.data
    table["stripe:evt_done"] = 200.0

    async def scenario() -> None:
        async def complete() -> None:
            return None

        agent._in_flight = asyncio.create_task(complete())
        agent._in_flight_marks = {"stripe:evt_done": (0, 200.0)}
        await agent._in_flight
        agent.abandon()

    asyncio.run(scenario())

    assert dict(table) == {"stripe:evt_done": 200.0}


def test_a_failed_worker_is_not_ready(normalizer: Normalizer) -> None:
    normalizer.fail("stripe agent failed: KafkaTimeoutError")
    normalizer.fail("square agent failed: KafkaTimeoutError")  # the first cause is kept
    assert ready(normalizer) == (False, "stripe agent failed: KafkaTimeoutError")
