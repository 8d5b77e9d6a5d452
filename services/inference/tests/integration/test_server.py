"""The real server process: start-up from the environment, and a champion swap under load."""

from typing import Any

import anyio
import anyio.to_thread
import httpx
import pytest
from inference_support import fraud_features, register_champion, train_booster
from integration.conftest import StartServer

from contracts.schemas.features import FRAUD_FEATURE_NAMES
from model_registry import ModelRegistry

pytestmark = pytest.mark.anyio

ROWS = 40


async def test_promotion_swaps_the_model_without_failing_concurrent_requests(
    inference_server: StartServer, registry: ModelRegistry
) -> None:
    old, rows = train_booster(FRAUD_FEATURE_NAMES, seed=21)
    new, _ = train_booster(FRAUD_FEATURE_NAMES, seed=22)
    register_champion(registry, old, rows, name="fraud", feature_set_version="fraud_v1", version="v1")
    expected = {"v1": old.inplace_predict(rows[:ROWS]), "v2": new.inplace_predict(rows[:ROWS])}
    documents = [{"payment_id": f"pay_{i}", "features": fraud_features(rows[i])} for i in range(ROWS)]
    results: list[tuple[int, int, dict[str, Any]]] = []
    failures: list[str] = []
    warmed_up, done = anyio.Event(), anyio.Event()
    served_by_v2 = 0

    with inference_server(INFERENCE_RELOAD_INTERVAL_SECONDS="0.05") as server:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as client:

            async def send(worker: int) -> None:
                nonlocal served_by_v2
                i = worker
                while not done.is_set():
                    try:
                        response = await client.post("/v1/fraud/score", json=documents[i % ROWS])
                    except httpx.HTTPError as error:
                        failures.append(repr(error))
                        continue
                    body = response.json()
                    results.append((i % ROWS, response.status_code, body))
                    if len(results) >= 200:
                        warmed_up.set()
                    if body.get("model_version") == "v2":
                        served_by_v2 += 1
                        if served_by_v2 >= 300:
                            done.set()
                    i += 1

            with anyio.fail_after(120):
                async with anyio.create_task_group() as group:
                    for worker in range(16):
                        group.start_soon(send, worker)
                    await warmed_up.wait()
                    # As the training pipeline would: register the files, then move the pointer.
                    await anyio.to_thread.run_sync(
                        lambda: register_champion(
                            registry, new, rows, name="fraud", feature_set_version="fraud_v1", version="v2"
                        )
                    )
            models = (await client.get("/v1/models")).json()

    assert failures == []
    assert [(status, body) for _, status, body in results if status != 200] == []
    versions = [body["model_version"] for _, _, body in results]
    assert set(versions) == {"v1", "v2"}
    # Once the swap happened, no request was answered by the old model again (beyond the
    # requests already in flight at that moment, at most one per worker).
    first_v2 = versions.index("v2")
    assert versions[first_v2:].count("v1") <= 16
    for i, _, body in results:
        assert body["score"] == float(expected[body["model_version"]][i])
    assert [(m["version"], m["champion"]) for m in models if m["name"] == "fraud" and m["kind"] == "xgboost"] == [
        ("v2", True),
        ("v1", False),
    ]


async def test_server_answers_503_with_a_reason_when_feast_is_unreachable(inference_server: StartServer) -> None:
    lookup = {
        "payment_id": "pay_1",
        "customer_id": "cus_1",
        "card_fingerprint": "card_1",
        "context": {
            "amount_minor": 1250,
            "currency": "USD",
            "occurred_at": "2025-06-01T12:00:00Z",
            "merchant_id": "mer_1",
        },
    }
    with inference_server() as server:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as client:
            response = await client.post("/v1/fraud/score", json=lookup)
            churn = await client.post("/v1/churn/score", json={"customer_id": "cus_1"})
    for answer in (response, churn):
        assert answer.status_code == 503
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert answer.headers["retry-after"] == "2"
        assert answer.json()["reason"] == "feature_store_unavailable"


def test_server_refuses_to_start_with_an_invalid_setting(inference_server: StartServer) -> None:
    with pytest.raises(RuntimeError, match="INFERENCE_USD_RATES"), inference_server(INFERENCE_USD_RATES='{"XYZ": 1}'):
        pass
