"""The health server itself, over real sockets: routes, status codes, bodies, Prometheus text."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from orchestrator.health import HealthServer, Metrics
from testing.processes import free_port

pytestmark = pytest.mark.anyio


@pytest.fixture()
def anyio_backend() -> str:
    return "asyncio"


class Switch:
    """What the readiness callback answers; the test flips it."""

    def __init__(self) -> None:
        self.ready = False
        self.fail = False

    async def __call__(self) -> tuple[bool, str]:
        if self.fail:
            raise RuntimeError("boom")
        return (True, "polling q") if self.ready else (False, "connecting to Temporal")


@pytest.fixture()
def switch() -> Switch:
    return Switch()


@pytest.fixture()
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture()
async def base_url(metrics: Metrics, switch: Switch) -> AsyncIterator[str]:
    port = free_port()
    async with HealthServer("127.0.0.1", port, metrics, switch):
        yield f"http://127.0.0.1:{port}"


async def test_healthz_answers_while_not_ready_and_readyz_follows_the_check(base_url: str, switch: Switch) -> None:
    async with httpx.AsyncClient(base_url=base_url) as http:
        alive = await http.get("/healthz")
        assert (alive.status_code, alive.json()) == (200, {"status": "ok"})
        waiting = await http.get("/readyz")
        assert (waiting.status_code, waiting.json()) == (
            503,
            {"status": "not_ready", "reason": "connecting to Temporal"},
        )
        switch.ready = True
        ready = await http.get("/readyz?verbose=1")
        assert (ready.status_code, ready.json()) == (200, {"status": "ready", "detail": "polling q"})
        switch.fail = True
        failing = await http.get("/readyz")
        assert (failing.status_code, failing.json()["reason"]) == (503, "readiness check failed: RuntimeError: boom")


async def test_unknown_routes_and_methods_are_refused_with_a_reason(base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url) as http:
        missing = await http.get("/health")
        assert (missing.status_code, missing.json()["reason"]) == (404, "no route /health")
        posted = await http.post("/healthz", content=b"")
        assert (posted.status_code, posted.headers["allow"]) == (405, "GET, HEAD")
        head = await http.head("/healthz")
        assert (head.status_code, head.content, head.headers["content-length"]) == (200, b"", "16")


async def test_a_malformed_request_gets_400_and_the_server_keeps_serving(base_url: str) -> None:
    port = int(base_url.rsplit(":", 1)[1])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"garbage\r\n\r\n")
    await writer.drain()
    answer = await reader.read()
    writer.close()
    assert answer.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    async with httpx.AsyncClient(base_url=base_url) as http:
        assert (await http.get("/healthz")).status_code == 200


async def test_metrics_are_prometheus_text(base_url: str, metrics: Metrics) -> None:
    done = metrics.counter("orchestrator_things_total", "Things, by kind.", ("kind",))
    metrics.counter("orchestrator_plain_total", "Plain.")
    done.inc(kind="a")
    done.inc(2, kind='b"q')
    async with httpx.AsyncClient(base_url=base_url) as http:
        answer = await http.get("/metrics")
    assert answer.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert answer.text == (
        "# HELP orchestrator_things_total Things, by kind.\n"
        "# TYPE orchestrator_things_total counter\n"
        'orchestrator_things_total{kind="a"} 1\n'
        'orchestrator_things_total{kind="b\\"q"} 2\n'
        "# HELP orchestrator_plain_total Plain.\n"
        "# TYPE orchestrator_plain_total counter\n"
        "orchestrator_plain_total 0\n"
    )


async def test_a_port_in_use_fails_the_start_naming_the_address(metrics: Metrics) -> None:
    port = free_port()
    async with HealthServer("127.0.0.1", port, metrics):
        with pytest.raises(OSError, match=f"health server cannot listen on 127.0.0.1:{port}"):
            async with HealthServer("127.0.0.1", port, metrics):
                pass
