"""Sending mode against a real local HTTP server that verifies signatures with the providers' SDKs."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections import Counter
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import pytest
from conftest import WebhookServer

from simulator.cli import RunSource
from simulator.config import SimulationConfig
from simulator.engine import simulate
from simulator.providers.base import Fault
from simulator.secrets import TEST_SECRETS, WebhookSecrets
from simulator.sender import Finality, SendOptions, SendSummary, retry_after_seconds, send, send_parallel
from simulator.traffic import render_all


def _options(base_url: str, **values: Any) -> SendOptions:
    """Options for the stand-in: a short retry deadline, so that a defect fails fast instead of retrying."""
    return SendOptions(base_url, **{"retry_deadline": 10.0, **values})


def _send(
    config: SimulationConfig, options: SendOptions, limit: int | None = None, secrets: WebhookSecrets | None = None
) -> SendSummary:
    secrets = secrets or dataclasses.replace(
        TEST_SECRETS, square_notification_url=options.base_url + "/webhooks/square"
    )
    rendered = list(render_all(simulate(config), secrets))[:limit]
    return asyncio.run(send(rendered, secrets, options, total=len(rendered)))


def test_genuine_requests_are_accepted_and_faulty_ones_refused(
    webhook_server: WebhookServer, faulty_config: SimulationConfig
) -> None:
    config = dataclasses.replace(faulty_config, customers=60, days=7)
    summary = _send(config, _options(webhook_server.base_url, concurrency=8, progress=False))
    assert summary.sent == webhook_server.state["received"] > 50
    assert summary.genuine_refused == 0
    assert summary.faulty_accepted == 0
    assert set(summary.by_status) == {200, 400, 401}
    assert summary.percentile(50) <= summary.percentile(99)
    assert "faulty accepted: 0" in summary.report()
    # Every refusal is permanent (4xx) and of a faulty copy; re-deliveries were accepted.
    kinds = {(finality, fault) for finality, _, _, fault in summary.refused}
    assert {finality for finality, _ in kinds} == {"permanent"}
    assert not {fault for _, fault in kinds} & {"none", "duplicate"}
    assert "refused (transient): none" in summary.report()


def test_duplicates_are_sent_and_accepted(webhook_server: WebhookServer, faulty_config: SimulationConfig) -> None:
    config = dataclasses.replace(faulty_config, customers=60, days=7, duplicate_share=0.2)
    options = _options(webhook_server.base_url, concurrency=8, progress=False, keep_outcomes=True)
    summary = _send(config, options)
    duplicates = [o for o in summary.outcomes if o.rendered.fault is Fault.DUPLICATE]
    assert len(duplicates) > 10
    assert {o.status for o in duplicates} == {200}
    genuine_ids = {
        (o.rendered.provider, o.rendered.provider_event_id) for o in summary.outcomes if o.rendered.fault is Fault.NONE
    }
    assert {(o.rendered.provider, o.rendered.provider_event_id) for o in duplicates} <= genuine_ids


def test_wall_clock_signatures_pass_a_replay_window(
    webhook_server: WebhookServer, small_config: SimulationConfig
) -> None:
    # The stand-in checks Stripe timestamps with a 300 s tolerance: simulated-time signatures fail it.
    config = dataclasses.replace(small_config, customers=40, days=3)
    fresh = _send(config, _options(webhook_server.base_url, progress=False))
    stale = _send(config, _options(webhook_server.base_url, progress=False, fresh_signatures=False))
    assert fresh.genuine_refused == 0
    assert stale.genuine_refused > 0 and stale.by_status[401] == stale.genuine_refused


def test_target_rate_is_respected(webhook_server: WebhookServer, small_config: SimulationConfig) -> None:
    started = time.perf_counter()
    summary = _send(small_config, _options(webhook_server.base_url, rate=50, progress=False), limit=26)
    assert summary.sent == 26
    assert time.perf_counter() - started >= 0.45


def test_server_errors_are_redelivered(webhook_server: WebhookServer, small_config: SimulationConfig) -> None:
    webhook_server.state["fail_first"] = 3
    options = _options(webhook_server.base_url, concurrency=1, retries=3, retry_backoff=0.01, progress=False)
    summary = _send(small_config, options, limit=10)
    assert summary.redeliveries == 3
    assert summary.genuine_refused == 0
    assert webhook_server.state["received"] == 13


def test_retry_after_is_honoured_through_an_outage_longer_than_the_old_give_up(
    webhook_server: WebhookServer, small_config: SimulationConfig
) -> None:
    # Three 503s asking for 1 s each: 3 s of outage, twice what the sender used to wait in total.
    webhook_server.state.update(fail_first=3, retry_after=1)
    options = _options(webhook_server.base_url, concurrency=1, retry_backoff=0.01, progress=False)
    started = time.monotonic()
    summary = _send(small_config, options, limit=2)
    assert time.monotonic() - started >= 3.0  # the 0.01 s backoff alone would take 0.07 s
    assert summary.redeliveries == 3
    assert summary.genuine_refused == 0
    assert summary.by_status == Counter({200: 2})


def test_a_refusal_past_the_deadline_is_reported_as_transient(
    webhook_server: WebhookServer, small_config: SimulationConfig
) -> None:
    webhook_server.state.update(fail_first=1000, retry_after=1)
    options = _options(webhook_server.base_url, concurrency=1, retry_deadline=2.5, progress=False, keep_outcomes=True)
    summary = _send(small_config, options, limit=1)
    (outcome,) = summary.outcomes
    # Attempts at 0, 1 and 2 s; a fourth at 3 s would pass the 2.5 s deadline.
    assert outcome.attempts == 3 and webhook_server.state["received"] == 3
    assert outcome.finality is Finality.TRANSIENT and outcome.reason == "http_503"
    provider = outcome.rendered.provider.value
    assert summary.refused == Counter({("transient", provider, "http_503", "none"): 1})
    assert f"refused (transient): {provider} http_503 x 1 (1 genuine)" in summary.report()
    assert summary.genuine_refused == 1


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC).timestamp()
    assert retry_after_seconds("7", now) == 7.0
    assert retry_after_seconds(format_datetime(datetime(2026, 1, 1, 12, 1, 30, tzinfo=UTC), usegmt=True), now) == 90.0
    assert retry_after_seconds("Thu, 01 Jan 2026 11:00:00 GMT", now) == 0.0
    assert retry_after_seconds("soon", now) is None
    assert retry_after_seconds(None, now) is None


def test_several_processes_send_every_request_once(
    webhook_server: WebhookServer, faulty_config: SimulationConfig
) -> None:
    config = dataclasses.replace(faulty_config, customers=60, days=7)
    secrets = webhook_server.secrets()
    expected = Counter(item.fault for item in RunSource(config, secrets)())
    options = _options(webhook_server.base_url, concurrency=8, progress=False, keep_outcomes=True)
    summary = send_parallel(RunSource(config, secrets), secrets, options, processes=3)
    assert summary.sent == webhook_server.state["received"] == sum(expected.values())
    assert Counter(o.rendered.fault for o in summary.outcomes) == expected
    assert summary.genuine_refused == 0 and summary.faulty_accepted == 0


def test_options_refuse_nonsense() -> None:
    with pytest.raises(ValueError, match="retries"):
        SendOptions("http://127.0.0.1:9", retries=-1)
    with pytest.raises(ValueError, match="retry_deadline"):
        SendOptions("http://127.0.0.1:9", retry_deadline=-1)


def test_unreachable_receiver_is_reported_not_raised(small_config: SimulationConfig) -> None:
    options = SendOptions("http://127.0.0.1:9", retries=1, retry_backoff=0.01, timeout=2, progress=False)
    summary = _send(small_config, options, limit=3)
    assert summary.by_status[0] == 3
    assert summary.genuine_refused == 3
    assert sum(summary.errors.values()) == 6
