"""Concurrent single-row requests share one model call, and each still gets its own row's score."""

import asyncio

import pytest
from inference_support import register_champion, train_booster
from prometheus_client import CollectorRegistry, Histogram

from baselines.rules import FRAUD_RULES_V1
from contracts.schemas.features import FRAUD_FEATURE_NAMES
from inference.batching import RowBatcher
from inference.models import Rows, ServedModel, served_baseline, served_from_registry
from inference.scoring import to_rows
from model_registry import ModelRegistry

pytestmark = pytest.mark.anyio


def _batch_sizes() -> Histogram:
    return Histogram("batch_rows", "rows per call", registry=CollectorRegistry())


class _Calls:
    """The real model's predict, remembering how many rows each call scored."""

    def __init__(self) -> None:
        self.sizes: list[int] = []

    def __call__(self, model: ServedModel, rows: Rows) -> Rows:
        self.sizes.append(len(rows))
        return model.predict(rows)


def _champion(registry: ModelRegistry, seed: int) -> tuple[ServedModel, Rows]:
    booster, rows = train_booster(FRAUD_FEATURE_NAMES, seed=seed)
    version = register_champion(registry, booster, rows, name="fraud", feature_set_version="fraud_v1", version="b1")
    return served_from_registry("fraud", registry.load("fraud", version)), rows


async def test_rows_of_one_turn_are_scored_in_one_call_each_with_its_own_score(registry: ModelRegistry) -> None:
    model, rows = _champion(registry, seed=31)
    calls = _Calls()
    batcher = RowBatcher(calls, to_rows, _batch_sizes())
    alone = [float(model.predict(rows[i : i + 1])[0]) for i in range(64)]

    scores = await asyncio.gather(*(batcher.score(model, rows[i].tolist()) for i in range(64)))

    assert calls.sizes == [64]
    assert scores == alone


async def test_a_row_that_arrives_while_its_batch_waits_for_the_next_poll_joins_it(registry: ModelRegistry) -> None:
    model, rows = _champion(registry, seed=35)
    calls = _Calls()
    batcher = RowBatcher(calls, to_rows, _batch_sizes())
    first = asyncio.create_task(batcher.score(model, rows[0].tolist()))
    await asyncio.sleep(0)  # one loop step: the first row has opened a batch
    # A request that the next poll brings in: its task starts one step after the first's.
    second = asyncio.create_task(batcher.score(model, rows[1].tolist()))

    scores = await asyncio.gather(first, second)

    assert calls.sizes == [2]
    assert list(scores) == [float(model.predict(rows[i : i + 1])[0]) for i in range(2)]


async def test_an_idle_batcher_scores_a_lone_row_at_once(registry: ModelRegistry) -> None:
    model, rows = _champion(registry, seed=32)
    calls = _Calls()
    batcher = RowBatcher(calls, to_rows, _batch_sizes())

    for i in range(3):
        assert await batcher.score(model, rows[i].tolist()) == float(model.predict(rows[i : i + 1])[0])

    assert calls.sizes == [1, 1, 1]


async def test_rows_read_with_different_models_are_scored_by_their_own_model(registry: ModelRegistry) -> None:
    champion, rows = _champion(registry, seed=33)
    baseline = served_baseline("fraud", FRAUD_RULES_V1)
    calls = _Calls()
    batcher = RowBatcher(calls, to_rows, _batch_sizes())

    scores = await asyncio.gather(
        *(batcher.score(champion if i % 2 else baseline, rows[i].tolist()) for i in range(10))
    )

    assert sorted(calls.sizes) == [5, 5]
    for i, score in enumerate(scores):
        model = champion if i % 2 else baseline
        assert score == float(model.predict(rows[i : i + 1])[0])


async def test_a_cancelled_request_does_not_disturb_the_rest_of_its_batch(registry: ModelRegistry) -> None:
    model, rows = _champion(registry, seed=34)
    batcher = RowBatcher(_Calls(), to_rows, _batch_sizes())
    tasks = [asyncio.create_task(batcher.score(model, rows[i].tolist())) for i in range(8)]
    await asyncio.sleep(0)  # every task has joined the pending batch
    tasks[3].cancel()

    done = await asyncio.gather(*tasks, return_exceptions=True)

    assert isinstance(done[3], asyncio.CancelledError)
    assert [done[i] for i in range(8) if i != 3] == [
        float(model.predict(rows[i : i + 1])[0]) for i in range(8) if i != 3
    ]


async def test_a_failing_model_call_fails_every_request_of_its_batch_with_its_error() -> None:
    baseline = served_baseline("fraud", FRAUD_RULES_V1)
    batcher = RowBatcher(_Calls(), to_rows, _batch_sizes())
    short_rows = [[1.0, 2.0, 3.0]] * 4  # the rules read columns these rows do not have

    outcomes = await asyncio.gather(*(batcher.score(baseline, row) for row in short_rows), return_exceptions=True)

    assert all(isinstance(outcome, IndexError) for outcome in outcomes), outcomes
    assert len({id(outcome) for outcome in outcomes}) == 1
