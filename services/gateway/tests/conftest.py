"""Fixtures unique to the gateway: test settings. The app under test runs against the real broker
(tests/integration)."""

from __future__ import annotations

import pytest
from webhook_samples import make_settings

from gateway.settings import GatewaySettings


@pytest.fixture()
def settings() -> GatewaySettings:
    return make_settings()


@pytest.fixture()
def anyio_backend() -> str:
    """Async tests run on asyncio (as uvicorn/uvloop and aiokafka do), via anyio's pytest plugin."""
    return "asyncio"
