"""Sending mode against a real local HTTP server that verifies signatures with the providers' SDKs."""

from __future__ import annotations

import asyncio
import dataclasses
import time

from conftest import WebhookServer

from simulator.config import SimulationConfig
from simulator.engine import simulate
from simulator.secrets import TEST_SECRETS
from simulator.sender import SendOptions, SendSummary, send
from simulator.traffic import render_all


def _send(config: SimulationConfig, options: SendOptions, limit: int | None = None) -> SendSummary:
    rendered = list(render_all(simulate(config), TEST_SECRETS))[:limit]
    return asyncio.run(send(rendered, TEST_SECRETS, options, total=len(rendered)))


def test_genuine_requests_are_accepted_and_faulty_ones_refused(
    webhook_server: WebhookServer, faulty_config: SimulationConfig
) -> None:
    config = dataclasses.replace(faulty_config, customers=60, days=7)
    summary = _send(config, SendOptions(webhook_server.base_url, concurrency=8, progress=False))
    assert summary.sent == webhook_server.state["received"] > 50
    assert summary.genuine_refused == 0
    assert summary.faulty_accepted == 0
    assert set(summary.by_status) == {200, 400, 401}
    assert summary.percentile(50) <= summary.percentile(99)
    assert "faulty accepted: 0" in summary.report()


def test_wall_clock_signatures_pass_a_replay_window(
    webhook_server: WebhookServer, small_config: SimulationConfig
) -> None:
    # The stand-in checks Stripe timestamps with a 300 s tolerance: simulated-time signatures fail it.
    config = dataclasses.replace(small_config, customers=40, days=3)
    fresh = _send(config, SendOptions(webhook_server.base_url, progress=False))
    stale = _send(config, SendOptions(webhook_server.base_url, progress=False, fresh_signatures=False))
    assert fresh.genuine_refused == 0
    assert stale.genuine_refused > 0 and stale.by_status[401] == stale.genuine_refused


def test_target_rate_is_respected(webhook_server: WebhookServer, small_config: SimulationConfig) -> None:
    started = time.perf_counter()
    summary = _send(small_config, SendOptions(webhook_server.base_url, rate=50, progress=False), limit=26)
    assert summary.sent == 26
    assert time.perf_counter() - started >= 0.45


def test_server_errors_are_redelivered(webhook_server: WebhookServer, small_config: SimulationConfig) -> None:
    webhook_server.state["fail_first"] = 3
    options = SendOptions(webhook_server.base_url, concurrency=1, retries=3, retry_backoff=0.01, progress=False)
    summary = _send(small_config, options, limit=10)
    assert summary.redeliveries == 3
    assert summary.genuine_refused == 0
    assert webhook_server.state["received"] == 13


def test_unreachable_receiver_is_reported_not_raised(small_config: SimulationConfig) -> None:
    options = SendOptions("http://127.0.0.1:9", retries=1, retry_backoff=0.01, timeout=2, progress=False)
    summary = _send(small_config, options, limit=3)
    assert summary.by_status[0] == 3
    assert summary.genuine_refused == 3
    assert sum(summary.errors.values()) == 6
