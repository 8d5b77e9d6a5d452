"""With the broker stopped the gateway answers 503 (Retry-After), and once it is back the
provider's retry succeeds: nothing acknowledged is lost, nothing is duplicated beyond the retry."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from webhook_samples import SignedRequest, make_settings, stripe_request

from contracts.topics import WEBHOOK_TOPICS
from gateway.asgi import create_app
from integration.kafka_reader import TopicReader, ensure_webhook_topics
from local_stack import LocalStack

pytestmark = pytest.mark.anyio


async def send(client: Any, request: SignedRequest) -> Any:
    return await client.post(request.path, content=request.body, headers=request.headers)


async def test_broker_outage_gives_503_and_the_retry_is_published_once(owned_stack: LocalStack) -> None:
    owned_stack.up(["kafka"])
    bootstrap = owned_stack.service("kafka").address()
    ensure_webhook_topics(bootstrap)
    settings = make_settings(GATEWAY_KAFKA_BOOTSTRAP_SERVERS=bootstrap, GATEWAY_PUBLISH_TIMEOUT_SECONDS="3")
    before, during, after = stripe_request(), stripe_request(), stripe_request()

    async with TopicReader(bootstrap, [t.name for t in WEBHOOK_TOPICS.values()]) as reader:
        async with AsyncTestClient(app=create_app(settings)) as client:
            assert (await send(client, before)).status_code == 200

            await asyncio.to_thread(owned_stack.down, ["kafka"])
            try:
                refused = await send(client, during)
                assert refused.status_code == 503, refused.text
                assert refused.headers["retry-after"] == "7"
                assert refused.json()["reason"] == "broker_unavailable"
                assert (await client.get("/readyz")).status_code == 503
            finally:
                await asyncio.to_thread(owned_stack.up, ["kafka"])

            # The provider retries the same delivery (same bytes, same signature) until accepted.
            attempts = 1
            deadline = time.monotonic() + 120
            while True:
                attempts += 1
                response = await send(client, during)
                if response.status_code == 200:
                    break
                assert response.status_code == 503, response.text
                assert time.monotonic() < deadline, "gateway did not recover after the broker restarted"
                await asyncio.sleep(1)
            assert (await send(client, after)).status_code == 200
            assert (await client.get("/readyz")).status_code == 200

        records = await reader.new_records(timeout=60)

    keys = [record.key.decode() for record in records]
    assert keys.count(before.event_ids[0]) == 1  # acknowledged before the outage: kept, not repeated
    assert keys.count(after.event_ids[0]) == 1
    # Accepted by the retry; an attempt the broker stored but never acknowledged may add one copy
    # per attempt at most (that is the provider's retry, which the normalizer deduplicates).
    print(f"outage: {attempts} attempts, {keys.count(during.event_ids[0])} copies of the retried event")
    assert 1 <= keys.count(during.event_ids[0]) <= attempts
