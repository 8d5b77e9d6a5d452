"""Online features from a real Feast feature server (feast[duckdb], SQLite online store).

The platform's feature repo (`services/feast`, package `feature_repo`) is built in a temporary
folder with one dbt-shaped row per feature table, applied and materialized through Feast, and
served by `feast serve` in a subprocess. Rows were written ten minutes ago, so the reported
freshness is known.
"""

import asyncio
import contextlib
import queue
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from inference_support import Serve, register_champion, train_booster

from baselines.rules import FRAUD_RULES_V1
from contracts.schemas.features import CHURN_FEATURE_NAMES, FRAUD_FEATURE_NAMES
from contracts.schemas.scoring import FraudBatchResponse
from model_registry import ModelRegistry
from testing.feast_server import start_feature_server
from testing.feast_server.platform import build_platform_repo
from testing.processes import ServerProcess

pytestmark = pytest.mark.anyio

AGE = timedelta(minutes=10)
CUSTOMER = {
    "customer_txn_count_1h": 2.0,
    "customer_txn_count_24h": 5.0,
    "customer_amount_usd_24h": 180.0,
    "customer_avg_amount_usd_30d": 50.0,
    "customer_distinct_cards_7d": 2.0,
    "customer_tenure_days": 400.0,
    "customer_dispute_count_90d": 1.0,
    "is_new_country_for_customer": 0.0,
}
CARD = {"card_txn_count_1h": 3.0, "card_distinct_merchants_24h": 4.0, "card_decline_count_24h": 1.0}
CHURN = {
    "days_since_last_payment": 12.0,
    "payments_30d": 3.0,
    "payments_90d": 9.0,
    "failed_payments_30d": 1.0,
    "refunds_90d": 0.0,
    "disputes_90d": 0.0,
    "avg_amount_usd_90d": 42.0,
    "tenure_days": 700.0,
}


@pytest.fixture(scope="module")
def feature_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    written_at = datetime.now(UTC) - AGE
    # One dbt-shaped row per table: cus_1 paid with card_1 at mer_1. The views, entities and
    # feature services are the platform's own (services/feast), as production serves them.
    fraud = {
        "customer_id": "cus_1",
        "card_fingerprint": "card_1",
        "merchant_id": "mer_1",
        **CUSTOMER,
        **CARD,
        "is_new_card_for_customer": 1.0,
        "merchant_risk_score": 0.3,
    }
    churn = {"customer_id": "cus_1", **CHURN}
    repo = build_platform_repo(Path(tmp_path_factory.mktemp("feature_repo")), [fraud], [churn], written_at)
    with start_feature_server(repo.path) as server:
        yield server


def _lookup(customer: str = "cus_1", currency: str = "USD", amount_minor: int = 1250) -> dict[str, Any]:
    return {
        "payment_id": "pay_1",
        "customer_id": customer,
        "card_fingerprint": "card_1",
        "context": {
            "amount_minor": amount_minor,
            "currency": currency,
            "occurred_at": "2025-06-01T12:30:00+02:00",
            "merchant_id": "mer_1",
            "card_country": "DE",
            "ip_country": "US",
        },
    }


def _expected_fraud_row(amount_usd: float) -> np.ndarray:
    values = {
        **CUSTOMER,
        **CARD,
        "is_new_card_for_customer": 1.0,
        "merchant_risk_score": 0.3,
        "amount_usd": amount_usd,
        "hour_of_day": 10.0,  # 12:30 at +02:00 is 10:30 UTC
        "is_foreign_card": 1.0,  # card from DE, used from a US IP
        "amount_to_customer_avg_ratio": amount_usd / CUSTOMER["customer_avg_amount_usd_30d"],
    }
    return np.array([[values[name] for name in FRAUD_FEATURE_NAMES]], dtype=np.float32)


def _assert_fresh(body: dict[str, Any], started: datetime) -> None:
    elapsed = (datetime.now(UTC) - started).total_seconds()
    assert AGE.total_seconds() - 2 <= body["feature_freshness_seconds"] <= AGE.total_seconds() + elapsed + 300


async def test_fraud_score_reads_online_features_and_reports_freshness(
    feature_server: ServerProcess, serve: Serve, registry: ModelRegistry
) -> None:
    booster, rows = train_booster(FRAUD_FEATURE_NAMES, seed=31)
    version = register_champion(registry, booster, rows, name="fraud", feature_set_version="fraud_v1", version="f1")

    async with serve(feast_url=feature_server.base_url) as client:
        response = await client.post("/v1/fraud/score", json=_lookup())

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["feature_source"], body["model_version"]) == ("feast", version)
    assert body["score"] == float(booster.inplace_predict(_expected_fraud_row(12.5))[0])
    _assert_fresh(body, datetime.now(UTC) - AGE)


async def test_batch_mixes_sent_and_looked_up_features(
    feature_server: ServerProcess, serve: Serve, registry: ModelRegistry
) -> None:
    booster, rows = train_booster(FRAUD_FEATURE_NAMES, seed=32)
    register_champion(registry, booster, rows, name="fraud", feature_set_version="fraud_v1", version="f2")
    sent = {name: float(value) for name, value in zip(FRAUD_FEATURE_NAMES, rows[0], strict=True)}
    items = [_lookup(), {"payment_id": "pay_2", "features": sent}, _lookup(amount_minor=5000)]

    async with serve(feast_url=feature_server.base_url) as client:
        response = await client.post("/v1/fraud/score:batch", json={"items": items})

    assert response.status_code == 200, response.text
    FraudBatchResponse.model_validate_json(response.content)
    body = response.json()["items"]
    assert [item["feature_source"] for item in body] == ["feast", "request", "feast"]
    assert body[1]["feature_freshness_seconds"] is None
    expected = booster.inplace_predict(np.vstack([_expected_fraud_row(12.5), rows[:1], _expected_fraud_row(50.0)]))
    assert [item["score"] for item in body] == [float(score) for score in expected]


async def test_amounts_in_other_currencies_use_the_contracts_fx_table(
    feature_server: ServerProcess, serve: Serve
) -> None:
    async with serve(feast_url=feature_server.base_url) as client:
        yen = await client.post("/v1/fraud/score", json=_lookup(currency="JPY", amount_minor=2000))
        franc = await client.post("/v1/fraud/score", json=_lookup(currency="XOF", amount_minor=2000))

    assert yen.status_code == 200, yen.text
    # 2,000 JPY (exponent 0) at 0.0066 USD/JPY (contracts FX table) is 13.2 USD; no champion: the
    # rules baseline scores.
    assert yen.json()["model_version"] == "rules-v1"
    assert yen.json()["score"] == float(FRAUD_RULES_V1.predict(_expected_fraud_row(2000 * 0.0066))[0])
    assert franc.status_code == 422
    assert franc.json()["reason"] == "no_fx_rate"
    assert franc.json()["errors"] == [{"field": "context.currency", "message": "no USD rate for XOF"}]


async def test_churn_score_reads_online_features(
    feature_server: ServerProcess, serve: Serve, registry: ModelRegistry
) -> None:
    booster, rows = train_booster(CHURN_FEATURE_NAMES, seed=33)
    register_champion(registry, booster, rows, name="churn", feature_set_version="churn_v1", version="c1")

    async with serve(feast_url=feature_server.base_url) as client:
        response = await client.post("/v1/churn/score", json={"customer_id": "cus_1"})

    assert response.status_code == 200, response.text
    body = response.json()
    expected = booster.inplace_predict(np.array([[CHURN[name] for name in CHURN_FEATURE_NAMES]], dtype=np.float32))
    assert (body["feature_source"], body["score"]) == ("feast", float(expected[0]))
    _assert_fresh(body, datetime.now(UTC) - AGE)


async def test_a_first_seen_card_is_scored_with_no_history_values(
    feature_server: ServerProcess, serve: Serve, registry: ModelRegistry
) -> None:
    booster, rows = train_booster(FRAUD_FEATURE_NAMES, seed=36)
    register_champion(registry, booster, rows, name="fraud", feature_set_version="fraud_v1", version="f3")

    async with serve(feast_url=feature_server.base_url) as client:
        response = await client.post("/v1/fraud/score", json=_lookup() | {"card_fingerprint": "card_never_seen"})

    assert response.status_code == 200, response.text
    body = response.json()
    # Written out by hand: the customer's stored values, the card's at no history (new card: 1,
    # counts 0), the merchant's stored score, and the context's.
    values = {
        **CUSTOMER,
        "is_new_card_for_customer": 1.0,
        "card_txn_count_1h": 0.0,
        "card_distinct_merchants_24h": 0.0,
        "card_decline_count_24h": 0.0,
        "merchant_risk_score": 0.3,
        "amount_usd": 12.5,
        "hour_of_day": 10.0,
        "is_foreign_card": 1.0,
        "amount_to_customer_avg_ratio": 12.5 / 50.0,
    }
    row = np.array([[values[name] for name in FRAUD_FEATURE_NAMES]], dtype=np.float32)
    assert body["score"] == float(booster.inplace_predict(row)[0])
    assert sorted(body["features_defaulted"]) == sorted(
        ["is_new_card_for_customer", "card_txn_count_1h", "card_distinct_merchants_24h", "card_decline_count_24h"]
    )
    _assert_fresh(body, datetime.now(UTC) - AGE)  # the customer's values were found


async def test_an_unknown_customer_is_scored_with_defaults_and_says_so(
    feature_server: ServerProcess, serve: Serve
) -> None:
    async with serve(feast_url=feature_server.base_url) as client:
        fraud = await client.post("/v1/fraud/score", json=_lookup(customer="cus_unknown"))
        churn = await client.post("/v1/churn/score", json={"customer_id": "cus_unknown"})
        batch = await client.post("/v1/fraud/score:batch", json={"items": [_lookup(), _lookup(customer="cus_unknown")]})

    assert fraud.status_code == 200, fraud.text
    defaulted = set(CUSTOMER) | {"is_new_card_for_customer"}
    assert set(fraud.json()["features_defaulted"]) == defaulted
    no_history = {
        "customer_txn_count_1h": 0.0,
        "customer_txn_count_24h": 0.0,
        "customer_amount_usd_24h": 0.0,
        "customer_avg_amount_usd_30d": 0.0,
        "customer_distinct_cards_7d": 0.0,
        "customer_tenure_days": 0.0,
        "customer_dispute_count_90d": 0.0,
        "is_new_country_for_customer": 1.0,
        "is_new_card_for_customer": 1.0,
    }
    values = {**CARD, **no_history, "merchant_risk_score": 0.3, "amount_usd": 12.5, "hour_of_day": 10.0}
    values |= {"is_foreign_card": 1.0, "amount_to_customer_avg_ratio": 1.0}  # no 30-day average: 1
    row = np.array([[values[name] for name in FRAUD_FEATURE_NAMES]], dtype=np.float32)
    assert fraud.json()["score"] == float(FRAUD_RULES_V1.predict(row)[0])

    assert churn.status_code == 200, churn.text
    assert set(churn.json()["features_defaulted"]) == set(CHURN)
    assert churn.json()["feature_freshness_seconds"] is None  # nothing was found

    assert batch.status_code == 200, batch.text
    items = FraudBatchResponse.model_validate_json(batch.content).items
    assert [set(item.features_defaulted) for item in items] == [set(), defaulted]


async def test_a_closed_feast_port_is_a_503_only_for_requests_without_features(serve: Serve) -> None:
    async with serve() as client:  # the test settings point Feast at a closed port
        lookup = await client.post("/v1/fraud/score", json=_lookup())
        row = train_booster(FRAUD_FEATURE_NAMES, seed=34)[1][0]
        sent = {name: float(value) for name, value in zip(FRAUD_FEATURE_NAMES, row, strict=True)}
        with_features = await client.post("/v1/fraud/score", json={"payment_id": "p", "features": sent})

    assert lookup.status_code == 503
    assert lookup.json()["reason"] == "feature_store_unavailable"
    assert lookup.headers["retry-after"] == "2"
    assert with_features.status_code == 200


async def test_a_feature_server_that_never_answers_is_a_503_after_the_deadline(serve: Serve) -> None:
    # A listening socket that accepts connections (the kernel's backlog) and never answers.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        async with serve(feast_url=url, feast_timeout_seconds=0.3) as client:
            started = time.perf_counter()
            response = await client.post("/v1/fraud/score", json=_lookup())
            waited = time.perf_counter() - started

    assert response.status_code == 503, response.text
    assert response.json()["reason"] == "feature_store_unavailable"
    assert "TimeoutError" in response.json()["detail"]
    assert 0.3 <= waited < 5


async def test_an_unknown_feature_service_is_a_502_naming_it(feature_server: ServerProcess, serve: Serve) -> None:
    async with serve(feast_url=feature_server.base_url, feast_fraud_feature_service="no_such_service") as client:
        response = await client.post("/v1/fraud/score", json=_lookup())

    assert response.status_code == 502, response.text
    assert response.json()["reason"] == "feature_store_error"
    assert "'no_such_service'" in response.json()["detail"]


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@contextlib.contextmanager
def _tcp_server(handle: Handler) -> Iterator[str]:
    """What may stand at the Feast address instead of Feast: a gateway, a wrong service, a proxy.

    Served from its own thread and event loop: the test client runs the app through a blocking
    portal, which holds the test's own loop while a request is in flight.
    """
    ready: queue.Queue[tuple[asyncio.AbstractEventLoop, asyncio.Event, int]] = queue.Queue()

    async def serve_until_stopped() -> None:
        stop = asyncio.Event()
        async with await asyncio.start_server(handle, "127.0.0.1", 0) as server:
            ready.put((asyncio.get_running_loop(), stop, server.sockets[0].getsockname()[1]))
            await stop.wait()

    thread = threading.Thread(target=asyncio.run, args=(serve_until_stopped(),), daemon=True)
    thread.start()
    loop, stop, port = ready.get(timeout=10)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=10)


async def _read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        (int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")),
        0,
    )
    return head + await reader.readexactly(length)


def _gateway(status: int) -> bytes:
    return f"HTTP/1.1 {status} Upstream Trouble\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode()


@pytest.mark.parametrize(
    ("answer", "status", "reason", "detail"),
    [
        # A gateway in front of a Feast that is down or slow: the same as no answer, retry later.
        (_gateway(502), 503, "feature_store_unavailable", "answered 502"),
        (_gateway(503), 503, "feature_store_unavailable", "answered 503"),
        (_gateway(504), 503, "feature_store_unavailable", "answered 504"),
        # Another service at the Feast address.
        (b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n", 502, "feature_store_error", "did not answer in HTTP"),
    ],
)
async def test_what_answers_at_the_feast_address_instead_of_feast(
    serve: Serve, answer: bytes, status: int, reason: str, detail: str
) -> None:
    async def canned(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(answer)
        await writer.drain()
        writer.close()

    with _tcp_server(canned) as url:
        async with serve(feast_url=url) as client:
            response = await client.post("/v1/fraud/score", json=_lookup())

    assert response.status_code == status, response.text
    assert response.json()["reason"] == reason
    assert detail in response.json()["detail"]
    if status == 503:
        assert response.headers["retry-after"] == "2"


async def test_a_keep_alive_connection_dropped_on_reuse_is_retried_once(
    feature_server: ServerProcess, registry: ModelRegistry, serve: Serve
) -> None:
    """The idle-timeout race: Feast closes a pooled connection as the service reuses it."""
    booster, rows = train_booster(FRAUD_FEATURE_NAMES, seed=35)
    register_champion(registry, booster, rows, name="fraud", feature_set_version="fraud_v1", version="v1")
    feast_port = int(feature_server.base_url.rsplit(":", 1)[1])
    connections = 0

    async def proxy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        request = await _read_request(reader)
        if connections == 1:  # drop the first request's connection without an answer
            writer.close()
            return
        upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", feast_port)
        upstream_writer.write(request.replace(b"\r\n", b"\r\nConnection: close\r\n", 1))  # then read to EOF
        writer.write(await upstream_reader.read())
        await writer.drain()
        upstream_writer.close()
        writer.close()

    with _tcp_server(proxy) as url:
        async with serve(feast_url=url) as client:
            response = await client.post("/v1/fraud/score", json=_lookup())

    assert response.status_code == 200, response.text
    assert response.json()["feature_source"] == "feast"
    assert connections == 2


async def test_a_large_batch_lookup_goes_to_feast_in_slices_and_keeps_its_order(
    feature_server: ServerProcess, serve: Serve
) -> None:
    amounts = [1000 + 10 * i for i in range(25)]  # distinct amounts: distinct, checkable rows
    items = [_lookup(amount_minor=amount) | {"payment_id": f"pay_{i}"} for i, amount in enumerate(amounts)]

    async with serve(feast_url=feature_server.base_url, feast_max_entities_per_lookup=10) as client:
        response = await client.post("/v1/fraud/score:batch", json={"items": items})
        metrics = (await client.get("/metrics")).text

    assert response.status_code == 200, response.text
    body = response.json()["items"]
    assert [item["payment_id"] for item in body] == [f"pay_{i}" for i in range(25)]
    expected = FRAUD_RULES_V1.predict(np.vstack([_expected_fraud_row(amount / 100) for amount in amounts]))
    assert [item["score"] for item in body] == [float(score) for score in expected]
    assert 'inference_feast_lookup_seconds_count{feature_service="fraud_v1"} 3.0' in metrics
