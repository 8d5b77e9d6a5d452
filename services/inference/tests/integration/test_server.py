"""The real server process: start-up from the environment, and a champion swap under load."""

import json
from typing import Any

import anyio
import anyio.abc
import anyio.streams.buffered
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
    with pytest.raises(RuntimeError, match="INFERENCE_FEAST_URL"), inference_server(INFERENCE_FEAST_URL="ftp://feast"):
        pass


async def test_simultaneous_requests_share_model_calls_and_each_gets_its_own_score(
    inference_server: StartServer, registry: ModelRegistry
) -> None:
    booster, rows = train_booster(FRAUD_FEATURE_NAMES, seed=23)
    register_champion(registry, booster, rows, name="fraud", feature_set_version="fraud_v1", version="v1")
    connections, rounds = 24, 10
    requests = [
        _post("/v1/fraud/score", {"payment_id": f"pay_{i}", "features": fraud_features(rows[i])})
        for i in range(connections)
    ]
    alone = [float(booster.inplace_predict(rows[i : i + 1])[0]) for i in range(connections)]

    with inference_server() as server:
        port = int(server.base_url.rsplit(":", 1)[1])
        streams = [await anyio.connect_tcp("127.0.0.1", port) for _ in range(connections)]
        answers: list[tuple[int, dict[str, Any]]] = []
        for _ in range(rounds):
            # Every request is on the wire before any answer is read: the server finds them
            # waiting together, as under load.
            for stream, request in zip(streams, requests, strict=True):
                await stream.send(request)
            for stream in streams:
                answers.append(await _read_answer(stream))
        for stream in streams:
            await stream.aclose()
        async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as client:
            metrics = (await client.get("/metrics")).text

    assert [status for status, _ in answers] == [200] * connections * rounds
    assert [(body["payment_id"], body["score"]) for _, body in answers] == [
        (f"pay_{i}", alone[i]) for i in range(connections)
    ] * rounds
    calls, rows_scored = _histogram(metrics, "inference_predict_batch_rows")
    assert rows_scored == connections * rounds
    assert calls < rows_scored, "simultaneous requests were each scored alone"


def _post(path: str, document: dict[str, Any]) -> bytes:
    body = json.dumps(document).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _read_answer(stream: anyio.abc.ByteStream) -> tuple[int, dict[str, Any]]:
    buffered = anyio.streams.buffered.BufferedByteReceiveStream(stream)
    head = await buffered.receive_until(b"\r\n\r\n", 65536)
    status = int(head.split(b" ", 2)[1])
    length = next(
        int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
    )
    body: dict[str, Any] = json.loads(await buffered.receive_exactly(length))
    return status, body


def _histogram(metrics: str, name: str) -> tuple[float, float]:
    values = {line.split()[0]: float(line.split()[-1]) for line in metrics.splitlines() if line.startswith(f"{name}_")}
    return values[f"{name}_count"], values[f"{name}_sum"]
