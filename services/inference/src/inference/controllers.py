"""HTTP controllers: thin adapters from routes to the scoring, retry and model modules."""

import anyio.to_thread
from litestar import Controller, MediaType, Response, get, post
from litestar.datastructures import ResponseHeader, State
from litestar.di import NamedDependency, Provide
from litestar.openapi import ResponseSpec
from litestar.params import JSONBody
from pydantic import TypeAdapter

from contracts.schemas.scoring import (
    ChurnScoreRequest,
    ChurnScoreResponse,
    FraudBatchRequest,
    FraudBatchResponse,
    FraudScoreRequest,
    FraudScoreResponse,
    ModelInfo,
    RetryStrategyRequest,
    RetryStrategyResponse,
)
from inference.models import ModelManager
from inference.retry import TAXONOMY_NAME, TAXONOMY_VERSION, retry_strategy
from inference.scoring import ScoringService

# Single-row answers are encoded by the contract model's own serializer: Litestar's generic path
# (plugin lookup, to_python, msgspec) costs ~15 us more per request, ~4 % of a request's CPU at
# 2,000 req/s, where the server runs close to a full core. The response objects are still built
# and validated by the contract models; OpenAPI reads their schema from `responses=`.
_FRAUD_RESPONSE: TypeAdapter[FraudScoreResponse] = TypeAdapter(FraudScoreResponse)
_CHURN_RESPONSE: TypeAdapter[ChurnScoreResponse] = TypeAdapter(ChurnScoreResponse)


def provide_scoring(state: State) -> ScoringService:
    scoring: ScoringService = state.scoring
    return scoring


def provide_models(state: State) -> ModelManager:
    models: ModelManager = state.models
    return models


class FraudController(Controller):
    path = "/v1/fraud"
    tags = ["fraud"]
    dependencies = {"scoring": Provide(provide_scoring, sync_to_thread=False)}

    @post(
        "/score",
        operation_id="scoreFraud",
        summary="Score one payment for fraud",
        description="With `features`, scores them as sent; with entity ids and `context`, reads the "
        "`fraud_v1` online features from Feast first and reports their freshness.",
        status_code=200,
        media_type=MediaType.JSON,
        responses={200: ResponseSpec(data_container=FraudScoreResponse, description="The score and its model")},
    )
    async def score(
        self, data: JSONBody[FraudScoreRequest], scoring: NamedDependency[ScoringService]
    ) -> Response[bytes]:
        return Response(_FRAUD_RESPONSE.dump_json(await scoring.score_fraud(data)), media_type=MediaType.JSON)

    @post(
        "/score:batch",
        operation_id="scoreFraudBatch",
        summary="Score up to 10,000 payments for fraud in one model call",
        description="Answers a `FraudBatchResponse`: one item per request item, in request order.",
        status_code=200,
        media_type=MediaType.JSON,
        # The handler returns the document pre-encoded (see `ScoringService.score_fraud_batch`):
        # its schema is declared here rather than read from the return type.
        responses={200: ResponseSpec(data_container=FraudBatchResponse, description="One score per item")},
    )
    async def score_batch(
        self, data: JSONBody[FraudBatchRequest], scoring: NamedDependency[ScoringService]
    ) -> Response[bytes]:
        return Response(await scoring.score_fraud_batch(data), media_type=MediaType.JSON)


class ChurnController(Controller):
    path = "/v1/churn"
    tags = ["churn"]
    dependencies = {"scoring": Provide(provide_scoring, sync_to_thread=False)}

    @post(
        "/score",
        operation_id="scoreChurn",
        summary="Score one customer's churn risk",
        status_code=200,
        media_type=MediaType.JSON,
        responses={200: ResponseSpec(data_container=ChurnScoreResponse, description="The score and its model")},
    )
    async def score(
        self, data: JSONBody[ChurnScoreRequest], scoring: NamedDependency[ScoringService]
    ) -> Response[bytes]:
        return Response(_CHURN_RESPONSE.dump_json(await scoring.score_churn(data)), media_type=MediaType.JSON)


class RetryController(Controller):
    path = "/v1/retry"
    tags = ["retry"]

    @post(
        "/strategy",
        operation_id="retryStrategy",
        summary="Advise how to retry a declined payment",
        description="Maps the provider's decline code to the contracts taxonomy: retry now, retry later "
        "after a delay, do not retry, or ask the customer.",
        status_code=200,
        response_headers=[
            ResponseHeader(name="X-Model-Name", value=TAXONOMY_NAME, description="Taxonomy that decided"),
            ResponseHeader(name="X-Model-Version", value=TAXONOMY_VERSION, description="Its version"),
        ],
    )
    async def strategy(self, data: JSONBody[RetryStrategyRequest]) -> RetryStrategyResponse:
        return retry_strategy(data)


class ModelsController(Controller):
    path = "/v1/models"
    tags = ["models"]
    dependencies = {"models": Provide(provide_models, sync_to_thread=False)}

    @get(
        "/",
        operation_id="listModels",
        summary="Served models, registered versions and the rules baselines",
    )
    async def list_models(self, models: NamedDependency[ModelManager]) -> list[ModelInfo]:
        # Registry reads verify checksums: keep that file I/O off the event loop.
        return await anyio.to_thread.run_sync(models.model_infos)
