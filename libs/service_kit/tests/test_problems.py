"""Every refusal is problem details with a reason; a bug is a 500 that shows nothing internal."""

from __future__ import annotations

import json
from typing import Any

import pytest
from litestar import Litestar, Request, get, post
from litestar.exceptions import InternalServerException
from litestar.testing import AsyncTestClient
from pydantic import BaseModel
from service_kit import PROBLEM_MEDIA_TYPE, Problem, ServiceError, problem_for, problem_handler, structlog_plugin

pytestmark = pytest.mark.anyio


class OutOfStockError(ServiceError):
    status_code = 409
    default_reason = "out_of_stock"


class UnavailableError(ServiceError):
    status_code = 503
    default_reason = "upstream_unavailable"

    def headers(self) -> dict[str, str]:
        return {"Retry-After": "3"}


class Order(BaseModel):
    quantity: int


SECRET_LOCAL = "s3cr3t-local-value"


@get("/stock")
async def stock() -> None:
    raise OutOfStockError("no more widgets", errors=[{"field": "sku", "message": "sold out"}])


@get("/upstream")
async def upstream() -> None:
    raise UnavailableError("try later")


@get("/bug")
async def bug() -> None:
    key = SECRET_LOCAL  # a local variable that a traceback with locals would show
    raise RuntimeError("boom " + key[:0])


@post("/orders")
async def orders(data: Order) -> dict[str, int]:
    return {"quantity": data.quantity}


def make_app(seen: list[Problem], **options: Any) -> Litestar:
    def observe(_: Request[Any, Any, Any], problem: Problem) -> None:
        seen.append(problem)

    return Litestar(
        route_handlers=[stock, upstream, bug, orders],
        exception_handlers={Exception: problem_handler("shop", observe=observe, **options)},
        plugins=[structlog_plugin("INFO")],
        request_max_body_size=1024,
    )


async def test_service_error_is_problem_details_with_reason_errors_and_headers() -> None:
    seen: list[Problem] = []
    async with AsyncTestClient(app=make_app(seen)) as client:
        response = await client.get("/stock")
        unavailable = await client.get("/upstream")
    assert response.status_code == 409
    assert response.headers["content-type"].startswith(PROBLEM_MEDIA_TYPE)
    assert response.json() == {
        "type": "urn:payments-mlops:shop:problem:out_of_stock",
        "title": "out of stock",
        "status": 409,
        "detail": "no more widgets",
        "reason": "out_of_stock",
        "instance": "/stock",
        "errors": [{"field": "sku", "message": "sold out"}],
    }
    assert (unavailable.status_code, unavailable.headers["retry-after"]) == (503, "3")
    assert unavailable.json()["reason"] == "upstream_unavailable"
    assert [(p.status, p.reason) for p in seen] == [(409, "out_of_stock"), (503, "upstream_unavailable")]


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "reason"),
    [
        ("GET", "/nowhere", None, 404, "not_found"),
        ("DELETE", "/stock", None, 405, "method_not_allowed"),
        ("POST", "/orders", b"x" * 2048, 413, "body_too_large"),
        ("POST", "/orders", b"", 400, "malformed_body"),
        ("POST", "/orders", b'{"quantity": "many"}', 422, "invalid_request"),
    ],
)
async def test_framework_refusals_have_the_same_shape(
    method: str, path: str, body: bytes | None, status: int, reason: str
) -> None:
    async with AsyncTestClient(app=make_app([])) as client:
        response = await client.request(method, path, content=body, headers={"content-type": "application/json"})
    assert response.status_code == status
    problem = response.json()
    assert (problem["status"], problem["reason"], problem["instance"]) == (status, reason, path)


async def test_invalid_body_names_the_field() -> None:
    async with AsyncTestClient(app=make_app([])) as client:
        response = await client.post("/orders", content=b'{"quantity": "many"}')
    assert [error["field"] for error in response.json()["errors"]] == ["quantity"]


async def test_a_bug_is_a_500_without_internals_and_logged_with_a_traceback_without_locals(
    capsys: pytest.CaptureFixture[str],
) -> None:
    seen: list[Problem] = []
    async with AsyncTestClient(app=make_app(seen)) as client:
        response = await client.get("/bug")
        after = await client.get("/stock")
    assert response.status_code == 500
    assert response.json()["reason"] == "internal_error"
    assert "boom" not in response.text and "RuntimeError" not in response.text
    assert after.status_code == 409  # and it keeps serving
    assert seen[0].expected is False
    logs = capsys.readouterr().out
    errors = [json.loads(line) for line in logs.splitlines() if '"unhandled_error"' in line]
    assert len(errors) == 1
    assert errors[0]["level"] == "error"
    assert "RuntimeError: boom" in errors[0]["exception"]
    assert SECRET_LOCAL not in logs


async def test_media_type_can_be_plain_json() -> None:
    async with AsyncTestClient(app=make_app([], media_type="application/json")) as client:
        response = await client.get("/stock")
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["reason"] == "out_of_stock"


def test_status_reason_and_retry_after_are_declared_and_raised() -> None:
    class SlowDownError(ServiceError, status=429, reason="slow_down"):
        """Too many requests."""

    error = SlowDownError("later", retry_after=7)
    assert (error.status_code, error.reason, error.headers()) == (429, "slow_down", {"Retry-After": "7"})
    assert SlowDownError("now", reason="other").headers() == {}
    assert ServiceError.status_code == 400  # the base keeps its own


def test_a_client_that_went_away_mid_body_is_a_client_error_not_a_bug() -> None:
    gone = problem_for(InternalServerException("client disconnected prematurely"))  # Litestar's words
    assert (gone.status, gone.reason, gone.expected) == (400, "client_disconnected", True)
    assert problem_for(InternalServerException("something else")).reason == "internal_error"
