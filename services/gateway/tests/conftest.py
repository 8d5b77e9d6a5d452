"""Fixtures unique to the gateway: test settings, a recording publisher, the app under test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from recording_publisher import RecordingPublisher
from webhook_samples import make_settings

from gateway.asgi import create_app
from gateway.settings import GatewaySettings


@pytest.fixture()
def settings() -> GatewaySettings:
    return make_settings()


@pytest.fixture()
def publisher() -> RecordingPublisher:
    return RecordingPublisher()


@pytest.fixture()
def app(settings: GatewaySettings, publisher: RecordingPublisher) -> Litestar:
    return create_app(settings, publisher=publisher)


@pytest.fixture()
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=app) as client:
        yield client


@pytest.fixture()
def anyio_backend() -> str:
    """Async tests run on asyncio (as uvicorn/uvloop and aiokafka do), via anyio's pytest plugin."""
    return "asyncio"
