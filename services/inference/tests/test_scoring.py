"""Scores equal the champion booster's own `inplace_predict`; every response names its model."""

import numpy as np
import pytest
import xgboost as xgb
from inference_support import Client, Serve, churn_features, fraud_features, register_champion, train_booster

from baselines.rules import CHURN_RULES_V1, FRAUD_RULES_V1
from contracts.schemas.features import CHURN_FEATURE_NAMES, FRAUD_FEATURE_NAMES
from contracts.schemas.scoring import FraudBatchResponse
from inference.errors import ModelOutputError
from inference.scoring import require_probabilities
from model_registry import ModelRegistry

pytestmark = pytest.mark.anyio


async def test_fraud_score_is_the_champion_boosters_prediction(serve: Serve, registry: ModelRegistry) -> None:
    booster, rows = train_booster(FRAUD_FEATURE_NAMES, seed=11)
    version = register_champion(registry, booster, rows, name="fraud", feature_set_version="fraud_v1", version="f1")
    expected = booster.inplace_predict(rows[:25])

    async with serve() as client:
        for i in range(25):
            response = await client.post(
                "/v1/fraud/score", json={"payment_id": f"pay_{i}", "features": fraud_features(rows[i])}
            )
            assert response.status_code == 200, response.text
            body = response.json()
            assert body["score"] == float(expected[i])
            assert (body["model_name"], body["model_version"], body["feature_set_version"]) == (
                "fraud",
                version,
                "fraud_v1",
            )
            assert (body["payment_id"], body["feature_source"], body["feature_freshness_seconds"]) == (
                f"pay_{i}",
                "request",
                None,
            )


async def test_fraud_batch_scores_every_row_in_one_call(serve: Serve, registry: ModelRegistry) -> None:
    booster, rows = train_booster(FRAUD_FEATURE_NAMES, seed=12)
    version = register_champion(registry, booster, rows, name="fraud", feature_set_version="fraud_v1", version="f2")
    batch = rows[:500]
    items = [{"payment_id": f"pay_{i}", "features": fraud_features(row)} for i, row in enumerate(batch)]

    async with serve() as client:
        response = await client.post("/v1/fraud/score:batch", json={"items": items})

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    FraudBatchResponse.model_validate_json(response.content)  # the contract, field by field
    body = response.json()["items"]
    assert [item["payment_id"] for item in body] == [f"pay_{i}" for i in range(len(batch))]
    np.testing.assert_array_equal(
        np.array([item["score"] for item in body], dtype=np.float32), booster.inplace_predict(batch)
    )
    assert {(item["model_name"], item["model_version"]) for item in body} == {("fraud", version)}


async def test_churn_score_is_the_champion_boosters_prediction(serve: Serve, registry: ModelRegistry) -> None:
    booster, rows = train_booster(CHURN_FEATURE_NAMES, seed=13)
    version = register_champion(registry, booster, rows, name="churn", feature_set_version="churn_v1", version="c1")
    expected = booster.inplace_predict(rows[:10])

    async with serve() as client:
        for i in range(10):
            response = await client.post(
                "/v1/churn/score", json={"customer_id": f"cus_{i}", "features": churn_features(rows[i])}
            )
            assert response.status_code == 200, response.text
            body = response.json()
            assert body["score"] == float(expected[i])
            assert (body["model_name"], body["model_version"], body["customer_id"]) == ("churn", version, f"cus_{i}")


async def test_without_a_champion_the_rules_baseline_serves_and_says_so(client: Client) -> None:
    fraud_rows = train_booster(FRAUD_FEATURE_NAMES, seed=14)[1][:20]
    churn_rows = train_booster(CHURN_FEATURE_NAMES, seed=15)[1][:20]

    for row, expected in zip(fraud_rows, FRAUD_RULES_V1.predict(fraud_rows), strict=True):
        body = (await client.post("/v1/fraud/score", json={"payment_id": "p", "features": fraud_features(row)})).json()
        assert (body["model_version"], body["score"]) == ("rules-v1", float(expected))
    for row, expected in zip(churn_rows, CHURN_RULES_V1.predict(churn_rows), strict=True):
        body = (await client.post("/v1/churn/score", json={"customer_id": "c", "features": churn_features(row)})).json()
        assert (body["model_version"], body["score"]) == ("rules-v1", float(expected))


async def test_models_lists_served_registered_and_baseline_versions(serve: Serve, registry: ModelRegistry) -> None:
    booster, rows = train_booster(FRAUD_FEATURE_NAMES, seed=16)
    register_champion(registry, booster, rows, name="fraud", feature_set_version="fraud_v1", version="old")
    register_champion(registry, booster, rows, name="fraud", feature_set_version="fraud_v1", version="new")

    async with serve() as client:
        response = await client.get("/v1/models")

    assert response.status_code == 200
    listed = {(m["name"], m["version"]): (m["kind"], m["champion"]) for m in response.json()}
    assert listed == {
        ("fraud", "new"): ("xgboost", True),
        ("fraud", "old"): ("xgboost", False),
        ("fraud", "rules-v1"): ("rules", False),
        ("churn", "rules-v1"): ("rules", True),
    }
    new = next(m for m in response.json() if m["version"] == "new")
    assert new["metrics"] == {"auc": 0.9} and new["feature_set_version"] == "fraud_v1" and new["created_at"]


async def test_health_readiness_and_metrics(client: Client) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["models"] == {"fraud": "fraud rules-v1", "churn": "churn rules-v1"}
    row = train_booster(FRAUD_FEATURE_NAMES, seed=17)[1][0]
    await client.post("/v1/fraud/score", json={"payment_id": "p", "features": fraud_features(row)})
    metrics = (await client.get("/metrics")).text
    assert 'inference_predictions_total{feature_source="request",model="fraud",version="rules-v1"} 1.0' in metrics
    assert 'inference_model_info{kind="rules",model="fraud",version="rules-v1"} 1.0' in metrics


async def test_values_beyond_float32_still_get_a_finite_score(serve: Serve, registry: ModelRegistry) -> None:
    booster, rows = train_booster(FRAUD_FEATURE_NAMES, seed=18)
    register_champion(registry, booster, rows, name="fraud", feature_set_version="fraud_v1", version="f3")
    huge = fraud_features(rows[0]) | {"amount_usd": 1e300, "customer_tenure_days": 1e39}
    clipped = rows[:1].copy()
    clipped[0, FRAUD_FEATURE_NAMES.index("amount_usd")] = np.finfo(np.float32).max
    clipped[0, FRAUD_FEATURE_NAMES.index("customer_tenure_days")] = np.finfo(np.float32).max

    async with serve() as client:
        response = await client.post("/v1/fraud/score", json={"payment_id": "p", "features": huge})

    assert response.status_code == 200, response.text
    assert response.json()["score"] == float(booster.inplace_predict(clipped)[0])


async def test_openapi_names_the_contract_of_every_scoring_answer(client: Client) -> None:
    # The scoring handlers return pre-encoded JSON, so their schemas come from `responses=`.
    document = (await client.get("/schema/openapi.json")).json()
    answers = {
        path: document["paths"][path]["post"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        for path in ("/v1/fraud/score", "/v1/fraud/score:batch", "/v1/churn/score")
    }

    assert answers == {
        "/v1/fraud/score": "#/components/schemas/FraudScoreResponse",
        "/v1/fraud/score:batch": "#/components/schemas/FraudBatchResponse",
        "/v1/churn/score": "#/components/schemas/ChurnScoreResponse",
    }
    assert "score" in document["components"]["schemas"]["FraudScoreResponse"]["properties"]


def test_scores_that_are_not_probabilities_are_refused_naming_the_model() -> None:
    booster, rows = train_booster(FRAUD_FEATURE_NAMES, seed=14)
    scores = booster.inplace_predict(rows[:50])
    np.testing.assert_array_equal(require_probabilities(scores, "fraud f1"), scores)
    # A regression booster answers raw values: the guard for the batch path, which skips the
    # contract models' validation, must refuse them.
    regression = xgb.train({"objective": "reg:squarederror", "nthread": 1}, xgb.DMatrix(rows, label=rows[:, 0] * 10), 5)
    raw = regression.inplace_predict(rows[:50])
    assert raw.max() > 1.0
    with pytest.raises(ModelOutputError, match="fraud r1 produced scores outside"):
        require_probabilities(raw, "fraud r1")
    with pytest.raises(ModelOutputError):
        require_probabilities(np.array([0.5, np.nan], dtype=np.float32), "fraud r2")
