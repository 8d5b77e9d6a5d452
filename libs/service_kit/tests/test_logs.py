"""JSON log lines; secret headers never logged; repeated library noise cut down."""

from __future__ import annotations

import json
import logging

import pytest
from litestar import Litestar, get
from litestar.testing import AsyncTestClient
from service_kit import RepeatFilter, structlog_plugin
from service_kit.logs import configure_stdlib_logging

pytestmark = pytest.mark.anyio


@get("/hello")
async def hello() -> str:
    return "hi"


async def test_access_log_is_json_and_carries_no_secret_header(capsys: pytest.CaptureFixture[str]) -> None:
    app = Litestar([hello], plugins=[structlog_plugin("INFO", access_log=True, secret_headers=["X-Shop-Signature"])])
    async with AsyncTestClient(app=app) as client:
        await client.get("/hello?x=1", headers={"authorization": "Bearer tok-123", "x-shop-signature": "sig-456"})
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    events = {line["event"] for line in lines}
    assert {"HTTP Request", "HTTP Response"} <= events
    text = json.dumps(lines)
    assert "tok-123" not in text and "sig-456" not in text


def test_stdlib_records_become_json_lines(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    try:
        configure_stdlib_logging("warning")
        logging.getLogger("shop.reloader").info("not shown at WARNING")
        logging.getLogger("shop.reloader").warning("model %s rejected", "v2")
    finally:
        root.handlers[:], _ = saved
        root.setLevel(saved[1])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == 1
    assert (lines[0]["event"], lines[0]["level"], lines[0]["logger"]) == (
        "model v2 rejected",
        "warning",
        "shop.reloader",
    )


def test_repeat_filter_lets_one_record_per_message_and_interval() -> None:
    repeat = RepeatFilter(interval=3600)

    def record(message: str) -> logging.LogRecord:
        return logging.LogRecord("lib", logging.WARNING, __file__, 1, message, None, None)

    assert [repeat.filter(record(m)) for m in ("down", "down", "up", "down")] == [True, False, True, False]
