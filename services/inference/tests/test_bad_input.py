"""Bad input never gets a 5xx: the contract refuses it with 422 and names the fields.

Documents come from the contracts' JSON Schemas (`testing.strategies`), valid or not; corrupted
feature vectors put NaN, infinities, negatives, strings or nothing where a feature belongs. The
only 5xx allowed is 503 `feature_store_unavailable`, for a request that carries no features
while the feature server (here: a closed port) cannot be reached.
"""

import json
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from inference_support import Client, Serve

from contracts.schemas.features import FRAUD_FEATURE_NAMES, FraudFeatures
from contracts.schemas.scoring import (
    ChurnScoreRequest,
    FraudBatchRequest,
    FraudScoreRequest,
    RetryStrategyRequest,
)
from testing.strategies import documents, instances

pytestmark = pytest.mark.anyio

PROPERTY = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
BAD_NUMBERS: st.SearchStrategy[Any] = st.sampled_from(
    [math.nan, math.inf, -math.inf, -1.0, -1e-9, 1e400, "NaN", "12", None, [], {}, True]
)


def _has_features(document: Any) -> bool:
    return isinstance(document, dict) and document.get("features") is not None


async def _post(client: Client, path: str, document: Any) -> Any:
    # allow_nan: send NaN and Infinity literals as a careless client would.
    body = json.dumps(document, allow_nan=True)
    return await client.post(path, content=body, headers={"content-type": "application/json"})


def _assert_refused_or_scored(response: Any, document: Any) -> None:
    assert response.headers["content-type"].startswith(("application/json", "application/problem+json"))
    if response.status_code == 503:
        assert response.json()["reason"] == "feature_store_unavailable"
        assert not _has_features(document)
        return
    assert response.status_code in (200, 400, 422), response.text
    if response.status_code == 422:
        problem = response.json()
        assert problem["reason"] in ("invalid_request", "no_fx_rate", "features_not_found")
        assert problem["errors"] and all(error["field"] and error["message"] for error in problem["errors"])


@PROPERTY
@given(document=documents(FraudScoreRequest))
async def test_fraud_score_documents_never_get_a_server_error(client: Client, document: Any) -> None:
    _assert_refused_or_scored(await _post(client, "/v1/fraud/score", document), document)


@PROPERTY
@given(document=documents(FraudBatchRequest))
async def test_fraud_batch_documents_never_get_a_server_error(client: Client, document: Any) -> None:
    response = await _post(client, "/v1/fraud/score:batch", document)
    if response.status_code == 503:
        items = document.get("items", []) if isinstance(document, dict) else []
        assert response.json()["reason"] == "feature_store_unavailable"
        assert any(not _has_features(item) for item in items)
        return
    _assert_refused_or_scored(response, document)


@PROPERTY
@given(document=documents(ChurnScoreRequest))
async def test_churn_documents_never_get_a_server_error(client: Client, document: Any) -> None:
    _assert_refused_or_scored(await _post(client, "/v1/churn/score", document), document)


@PROPERTY
@given(document=documents(RetryStrategyRequest))
async def test_retry_documents_never_get_a_server_error(client: Client, document: Any) -> None:
    _assert_refused_or_scored(await _post(client, "/v1/retry/strategy", document), document)


@PROPERTY
@given(request=instances(FraudScoreRequest).filter(lambda r: r.features is not None))
async def test_valid_feature_vectors_are_always_scored(client: Client, request: FraudScoreRequest) -> None:
    response = await client.post("/v1/fraud/score", content=request.model_dump_json())
    assert response.status_code == 200, response.text
    assert 0.0 <= response.json()["score"] <= 1.0
    assert response.json()["model_version"] == "rules-v1"


@PROPERTY
@given(
    features=instances(FraudFeatures),
    field=st.sampled_from(FRAUD_FEATURE_NAMES),
    bad=BAD_NUMBERS | st.just("<missing>"),
)
async def test_a_bad_feature_value_is_named_in_a_422(
    client: Client, features: FraudFeatures, field: str, bad: Any
) -> None:
    vector = features.model_dump(mode="json")
    if bad == "<missing>":
        del vector[field]
    else:
        vector[field] = bad
    response = await _post(client, "/v1/fraud/score", {"payment_id": "pay_1", "features": vector})
    if isinstance(bad, str) and bad == "12" or bad is True:
        # Numeric strings and booleans are numbers to the contract's lax float fields;
        # whether they fit depends on the field's range.
        assert response.status_code in (200, 422)
        return
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["reason"] == "invalid_request"
    assert f"features.{field}" in {error["field"] for error in problem["errors"]}


async def test_nan_and_infinity_are_refused_field_by_field(client: Client) -> None:
    vector = {name: 1.0 for name in FRAUD_FEATURE_NAMES}
    vector.update(amount_usd=math.nan, customer_txn_count_1h=math.inf, card_txn_count_1h=1e400)
    response = await _post(client, "/v1/fraud/score", {"payment_id": "pay_1", "features": vector})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert {error["field"] for error in problem["errors"]} == {
        "features.amount_usd",
        "features.customer_txn_count_1h",
        "features.card_txn_count_1h",
    }
    assert all("finite" in error["message"] for error in problem["errors"])


async def test_missing_features_are_listed(client: Client) -> None:
    vector = {name: 1.0 for name in FRAUD_FEATURE_NAMES[:5]}
    response = await client.post("/v1/fraud/score", json={"payment_id": "pay_1", "features": vector})
    assert response.status_code == 422
    listed = {error["field"] for error in response.json()["errors"]}
    assert listed == {f"features.{name}" for name in FRAUD_FEATURE_NAMES[5:]}


async def test_wrong_feature_set_version_is_refused(client: Client) -> None:
    vector: dict[str, Any] = {name: 1.0 for name in FRAUD_FEATURE_NAMES}
    vector["feature_set_version"] = "fraud_v2"
    response = await client.post("/v1/fraud/score", json={"payment_id": "pay_1", "features": vector})
    assert response.status_code == 422
    assert {error["field"] for error in response.json()["errors"]} == {"features.feature_set_version"}


async def test_unknown_currency_is_refused(client: Client) -> None:
    lookup = {
        "payment_id": "pay_1",
        "customer_id": "cus_1",
        "card_fingerprint": "card_1",
        "context": {"amount_minor": 100, "currency": "XXX", "occurred_at": "2025-06-01T12:00:00Z", "merchant_id": "m"},
    }
    response = await client.post("/v1/fraud/score", json=lookup)
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert [error["field"] for error in errors] == ["context.currency"]
    assert "unknown currency" in errors[0]["message"]


def _retry_failed_at(failed_at: str) -> dict[str, Any]:
    return {
        "payment_id": "pay_1",
        "provider": "stripe",
        "decline_code": "insufficient_funds",
        "amount_minor": 100,
        "currency": "USD",
        "failed_at": failed_at,
    }


def _lookup_occurred_at(occurred_at: str) -> dict[str, Any]:
    return {
        "payment_id": "pay_1",
        "customer_id": "cus_1",
        "card_fingerprint": "card_1",
        "context": {"amount_minor": 100, "currency": "USD", "merchant_id": "m", "occurred_at": occurred_at},
    }


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        # A retry scheduled after the last representable instant.
        ("/v1/retry/strategy", _retry_failed_at("9999-12-31T23:59:59Z"), "failed_at"),
        # Instants that exist in their own offset but not in UTC.
        ("/v1/retry/strategy", _retry_failed_at("9999-12-31T20:00:00-05:00"), "failed_at"),
        ("/v1/fraud/score", _lookup_occurred_at("0001-01-01T00:30:00+01:00"), "context.occurred_at"),
    ],
)
async def test_timestamps_at_the_edge_of_the_calendar_are_refused(
    client: Client, path: str, body: dict[str, Any], field: str
) -> None:
    response = await client.post(path, json=body)
    assert response.status_code == 422, response.text
    assert [error["field"] for error in response.json()["errors"]] == [field]


async def test_a_body_that_is_not_json_is_a_400(client: Client) -> None:
    response = await client.post(
        "/v1/fraud/score", content=b'{"payment_id": ', headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["reason"] == "malformed_body"


async def test_an_empty_body_is_a_400_saying_so(client: Client) -> None:
    response = await client.post("/v1/fraud/score", content=b"", headers={"content-type": "application/json"})
    assert (response.status_code, response.json()["reason"]) == (400, "malformed_body")
    assert "empty" in response.json()["detail"]


async def test_a_body_over_the_limit_is_a_413(serve: Serve) -> None:
    async with serve(max_body_bytes=4096) as client:
        oversized = json.dumps({"payment_id": "p" * 5000}).encode()
        response = await client.post("/v1/fraud/score", content=oversized, headers={"content-type": "application/json"})
        assert (response.status_code, response.json()["reason"]) == (413, "body_too_large")
        # and it keeps serving
        answer = await client.post(
            "/v1/fraud/score", json={"payment_id": "p", "features": dict.fromkeys(FRAUD_FEATURE_NAMES, 1.0)}
        )
        assert answer.status_code == 200, answer.text


async def test_unknown_routes_and_methods_are_problems_too(client: Client) -> None:
    missing = await client.get("/v1/nothing")
    assert (missing.status_code, missing.json()["reason"]) == (404, "not_found")
    wrong = await client.get("/v1/fraud/score")
    assert (wrong.status_code, wrong.json()["reason"]) == (405, "method_not_allowed")
