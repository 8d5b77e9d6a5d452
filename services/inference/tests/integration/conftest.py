"""A real inference server process (uvicorn, one worker) started from `python -m inference`."""

import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest

from model_registry import ModelRegistry
from testing.processes import ServerProcess, free_port, start_server

StartServer = Callable[..., AbstractContextManager[ServerProcess]]


@pytest.fixture()
def inference_server(tmp_path: Path, registry: ModelRegistry, closed_port: int) -> StartServer:
    """`with inference_server(**INFERENCE_ENV) as server:` serves the test registry on a free port."""

    @contextmanager
    def start(**env: str) -> Iterator[ServerProcess]:
        port = free_port()
        settings = {
            "INFERENCE_PORT": str(port),
            "INFERENCE_REGISTRY_ROOT": str(registry.root),
            "INFERENCE_FEAST_URL": f"http://127.0.0.1:{closed_port}",
            "INFERENCE_LOG_LEVEL": "WARNING",
        }
        settings.update(env)
        with start_server(
            [sys.executable, "-m", "inference"],
            base_url=f"http://127.0.0.1:{port}",
            ready_path="/readyz",
            log_path=tmp_path / f"inference-{port}.log",
            env=settings,
        ) as server:
            yield server

    return start
