"""Opportunistic micro-batching of single-row predictions.

`Booster.inplace_predict` costs about 150 us per call whatever the row count (XGBoost sets up a
context and walks its trees' metadata on every call) and about 1 us per extra row. Single-row
requests that reach the model in the same event-loop turn are therefore scored together: the
first schedules a flush with `call_soon`, the others join it, and the flush scores them all in
one call. Nothing waits on a timer: an idle server scores each request alone, one step later; a
busy one scores the queue that built up, so its cost per request falls as load rises.

Rows are grouped by the served model object each request read, so a champion swap between two
requests never scores a row with a model the response would not name.
"""

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from prometheus_client import Histogram

from inference.models import Rows, ServedModel

Predict = Callable[[ServedModel, Rows], Rows]
ToRows = Callable[[Sequence[Sequence[float]]], Rows]


@dataclass
class _Pending:
    model: ServedModel
    rows: list[Sequence[float]] = field(default_factory=list)
    futures: list[asyncio.Future[float]] = field(default_factory=list)


class RowBatcher:
    """Scores single rows, coalescing the ones that arrive in one event-loop turn."""

    def __init__(self, predict: Predict, to_rows: ToRows, batch_rows: Histogram) -> None:
        self._predict = predict
        self._to_rows = to_rows
        self._batch_rows = batch_rows
        self._pending: dict[int, _Pending] = {}

    async def score(self, model: ServedModel, row: Sequence[float]) -> float:
        loop = asyncio.get_running_loop()
        pending = self._pending.get(id(model))
        if pending is None:
            pending = self._pending[id(model)] = _Pending(model)
            loop.call_soon(self._flush, id(model))
        future: asyncio.Future[float] = loop.create_future()
        pending.rows.append(row)
        pending.futures.append(future)
        return await future

    def _flush(self, key: int) -> None:
        pending = self._pending.pop(key)
        self._batch_rows.observe(len(pending.rows))
        try:
            scores = self._predict(pending.model, self._to_rows(pending.rows)).tolist()
        except Exception as error:  # noqa: BLE001 (not swallowed: every waiting request raises it)
            for future in pending.futures:
                if not future.done():
                    future.set_exception(error)
            return
        for future, score in zip(pending.futures, scores, strict=True):
            if not future.done():  # a cancelled request (client gone) leaves a done future
                future.set_result(score)
