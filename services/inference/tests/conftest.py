"""Fixtures of the inference tests: a registry in tmp_path and apps built by `create_app` around
test settings (the tmp registry, a Feast URL where nothing listens, no background reloads)."""

import socket
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from inference_support import Client, Serve
from litestar.testing import AsyncTestClient

from inference.app import create_app
from inference.settings import InferenceSettings, load_settings
from model_registry import ModelRegistry


@pytest.fixture()
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture()
def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture()
def registry(tmp_path: Path) -> ModelRegistry:
    root = tmp_path / "registry"
    root.mkdir()  # the service refuses a registry root that does not exist
    return ModelRegistry(root)


@pytest.fixture()
def settings_for(registry: ModelRegistry, closed_port: int) -> Callable[..., InferenceSettings]:
    """Test settings: the tmp registry, a Feast URL where nothing listens, no background reloads."""

    def make(**overrides: Any) -> InferenceSettings:
        values: dict[str, Any] = {
            "registry_root": registry.root,
            "feast_url": f"http://127.0.0.1:{closed_port}",
            "reload_interval_seconds": 3600,
        }
        values.update(overrides)
        return load_settings(**values)

    return make


@pytest.fixture()
def serve(settings_for: Callable[..., InferenceSettings]) -> Serve:
    """`async with serve(**settings) as client:` runs the app (lifespan included) in-process."""

    def start(**overrides: Any) -> Client:
        return AsyncTestClient(create_app(settings_for(**overrides)))

    return start


@pytest.fixture()
async def client(serve: Serve) -> AsyncIterator[Client]:
    async with serve() as running:
        yield running
