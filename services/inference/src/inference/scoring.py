"""Scoring: contract requests in, contract responses out. No HTTP types here.

Each call reads the served model once and uses it to the end (see `models.py`). Rows are built
in contracts feature order and scored with one `predict` call per batch request, or per
micro-batch of concurrent single-row requests (`batching.py`): for an XGBoost champion that is
`Booster.inplace_predict` on a float32 numpy array, with no DMatrix.
"""

import time
from collections.abc import Sequence
from itertools import chain
from operator import itemgetter

import numpy as np
import numpy.typing as npt
from litestar.serialization import encode_json
from prometheus_client import Counter, Histogram

from contracts.schemas.features import ChurnFeatures, FraudFeatures
from contracts.schemas.scoring import (
    ChurnScoreRequest,
    ChurnScoreResponse,
    FeatureSource,
    FraudBatchRequest,
    FraudScoreRequest,
    FraudScoreResponse,
)
from inference.batching import RowBatcher
from inference.errors import InvalidRequestError, ModelOutputError
from inference.feast_client import FeastClient
from inference.metrics import Metrics
from inference.models import ModelManager, Rows, ServedModel
from inference.online_features import LookedUp, churn_features, fraud_features
from inference.settings import InferenceSettings

# The same order as `FraudFeatures.as_row()`, read by one C-level getter per row (batches) from
# the model's field dict: a third faster than attribute access on 10,000 pydantic models.
_fraud_values = itemgetter(*FraudFeatures.feature_names)
_FLOAT32_MAX = float(np.finfo(np.float32).max)


def _as_model_input(rows: npt.NDArray[np.float64]) -> Rows:
    """float32 rows. The contracts allow any finite non-negative float64; values beyond float32's
    range are clipped to its maximum rather than overflowing to infinity (every model split and
    rules cap lies far below it, so the score is the one the value deserves)."""
    np.minimum(rows, _FLOAT32_MAX, out=rows)
    return rows.astype(np.float32)


def require_probabilities(scores: Rows, producer: str) -> Rows:
    """`scores` if every one is a finite probability; else `ModelOutputError` naming `producer`.

    The registry only serves probability objectives, so this guards against a broken model, on
    the batch path, whose answer is written without the contract models' validation."""
    if not (np.isfinite(scores).all() and scores.min() >= 0.0 and scores.max() <= 1.0):
        raise ModelOutputError(f"{producer} produced scores outside [0, 1]")
    return scores


def to_rows(values: Sequence[Sequence[float]]) -> Rows:
    return _as_model_input(np.array(values, dtype=np.float64))


def fraud_rows(vectors: Sequence[FraudFeatures]) -> Rows:
    """Rows of many vectors, read straight into one array (no intermediate list of rows)."""
    width = len(FraudFeatures.feature_names)
    flat = np.fromiter(
        chain.from_iterable(_fraud_values(vector.__dict__) for vector in vectors),
        dtype=np.float64,
        count=len(vectors) * width,
    )
    return _as_model_input(flat.reshape(len(vectors), width))


class ScoringService:
    def __init__(self, models: ModelManager, feast: FeastClient, settings: InferenceSettings, metrics: Metrics) -> None:
        self.models = models
        self.feast = feast
        self.settings = settings
        self.metrics = metrics
        # Labelled metric children, looked up once: `labels()` costs microseconds per call.
        self._timers: dict[str, Histogram] = {}
        self._counters: dict[tuple[str, str, str], Counter] = {}
        self._rows = RowBatcher(self._predict, to_rows, metrics.predict_batch_rows)

    def _predict(self, model: ServedModel, rows: Rows) -> Rows:
        started = time.perf_counter()
        scores = model.predict(rows)
        elapsed = time.perf_counter() - started
        timer = self._timers.get(model.name)
        if timer is None:
            timer = self._timers[model.name] = self.metrics.predict_seconds.labels(model.name)
        timer.observe(elapsed)
        return scores

    def _count(self, model: ServedModel, source: FeatureSource | str, rows: int) -> None:
        key = (model.name, model.version, str(source))
        counter = self._counters.get(key)
        if counter is None:
            counter = self._counters[key] = self.metrics.predictions.labels(*key)
        counter.inc(rows)

    def _observe_freshness(self, service: str, freshness: float | None) -> None:
        if freshness is not None:
            self.metrics.feature_freshness.labels(service).observe(freshness)

    async def _score_row(self, model: ServedModel, row: Sequence[float], source: FeatureSource) -> float:
        score = await self._rows.score(model, row)
        self._count(model, source, 1)
        return score

    # -- fraud --------------------------------------------------------------------------------

    async def _lookup_fraud(
        self, items: Sequence[FraudScoreRequest], prefixes: Sequence[str]
    ) -> list[tuple[FraudFeatures, LookedUp]]:
        service = self.settings.feast_fraud_feature_service
        entities = {
            "customer_id": [str(item.customer_id) for item in items],
            "card_fingerprint": [str(item.card_fingerprint) for item in items],
            "merchant_id": [item.context.merchant_id if item.context else "" for item in items],
        }
        rows = await self.feast.get_online_features(service, entities)
        looked_up = []
        for item, row, prefix in zip(items, rows, prefixes, strict=True):
            if item.context is None:  # the contract's validator already refuses this
                raise InvalidRequestError(
                    "`context` is required without `features`",
                    errors=[{"field": f"{prefix}context", "message": "Field required"}],
                )
            features, found = fraud_features(row, item.context, service, prefix)
            self._observe_freshness(service, found.freshness)
            looked_up.append((features, found))
        return looked_up

    async def score_fraud(self, request: FraudScoreRequest) -> FraudScoreResponse:
        model = self.models.served("fraud")
        freshness: float | None = None
        defaulted: list[str] = []
        if request.features is not None:
            features, source = request.features, FeatureSource.REQUEST
        else:
            [(features, found)] = await self._lookup_fraud([request], [""])
            freshness, defaulted = found.freshness, found.defaulted
            source = FeatureSource.FEAST
        score = await self._score_row(model, features.as_row(), source)
        return FraudScoreResponse(
            payment_id=request.payment_id,
            score=score,
            model_name=model.name,
            model_version=model.version,
            feature_set_version=model.feature_set_version,
            feature_source=source,
            feature_freshness_seconds=freshness,
            features_defaulted=defaulted,
        )

    async def score_fraud_batch(self, request: FraudBatchRequest) -> bytes:
        """The `FraudBatchResponse` document for `request`, already encoded as JSON.

        Building 10,000 pydantic response objects costs ~25 ms and dumping them as much again,
        five times the model call; the document is written from plain values instead. Payment ids
        were validated with the request, model names and versions when the model was loaded, and
        freshness is clamped at 0 where it is computed (`online_features`); the scores are checked
        here in one vectorised pass. Tests parse the output with the contract model.
        """
        model = self.models.served("fraud")
        items = request.items
        vectors: list[FraudFeatures | None] = [item.features for item in items]
        freshness: list[float | None] = [None] * len(items)
        defaulted: list[list[str]] = [[] for _ in items]
        lookups = [index for index, item in enumerate(items) if item.features is None]
        if lookups:
            found = await self._lookup_fraud([items[i] for i in lookups], [f"items.{i}." for i in lookups])
            for index, (features, looked_up) in zip(lookups, found, strict=True):
                vectors[index], freshness[index], defaulted[index] = features, looked_up.freshness, looked_up.defaulted
        rows = fraud_rows([vector for vector in vectors if vector is not None])
        source_label = "mixed" if lookups and len(lookups) < len(items) else ("feast" if lookups else "request")
        predicted = require_probabilities(self._predict(model, rows), f"{model.name} {model.version}")
        self._count(model, source_label, len(rows))
        name, version, feature_set = model.name, model.version, model.feature_set_version
        request_source, feast_source = FeatureSource.REQUEST.value, FeatureSource.FEAST.value
        return encode_json(
            {
                "items": [
                    {
                        "payment_id": item.payment_id,
                        "score": score,
                        "model_name": name,
                        "model_version": version,
                        "feature_set_version": feature_set,
                        "feature_source": request_source if item.features is not None else feast_source,
                        "feature_freshness_seconds": age,
                        "features_defaulted": names,
                    }
                    for item, score, age, names in zip(items, predicted.tolist(), freshness, defaulted, strict=True)
                ]
            }
        )

    # -- churn --------------------------------------------------------------------------------

    async def score_churn(self, request: ChurnScoreRequest) -> ChurnScoreResponse:
        model = self.models.served("churn")
        freshness: float | None = None
        defaulted: list[str] = []
        features: ChurnFeatures
        if request.features is not None:
            features, source = request.features, FeatureSource.REQUEST
        else:
            service = self.settings.feast_churn_feature_service
            [row] = await self.feast.get_online_features(service, {"customer_id": [request.customer_id]})
            features, found = churn_features(row, service)
            freshness, defaulted = found.freshness, found.defaulted
            self._observe_freshness(service, freshness)
            source = FeatureSource.FEAST
        score = await self._score_row(model, features.as_row(), source)
        return ChurnScoreResponse(
            customer_id=request.customer_id,
            score=score,
            model_name=model.name,
            model_version=model.version,
            feature_set_version=model.feature_set_version,
            feature_source=source,
            feature_freshness_seconds=freshness,
            features_defaulted=defaulted,
        )
