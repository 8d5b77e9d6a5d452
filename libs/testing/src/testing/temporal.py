"""Temporal for tests: a dev server per pytest process (or the one in TEMPORAL_ADDRESS), and a
fresh task queue and workflow id per test, so tests never pick up each other's work.

In a conftest: `from testing.temporal import temporal  # noqa: F401`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest

from testing.names import unique_name
from testing.stack import owned_stack_for

ENV_VAR = "TEMPORAL_ADDRESS"
NAMESPACE_ENV_VAR = "TEMPORAL_NAMESPACE"


@dataclass(frozen=True)
class TemporalServer:
    address: str
    namespace: str
    owned: bool  # False when reused from TEMPORAL_ADDRESS


@dataclass(frozen=True)
class TemporalTarget:
    """Where this test's client connects, and the names only this test uses."""

    address: str
    namespace: str
    task_queue: str
    workflow_id: str


def temporal_server_for(config: pytest.Config) -> TemporalServer:
    external = os.environ.get(ENV_VAR)
    namespace = os.environ.get(NAMESPACE_ENV_VAR) or "default"
    if external:
        return TemporalServer(external, namespace, owned=False)
    stack = owned_stack_for(config)
    stack.up(["temporal"])
    return TemporalServer(stack.service("temporal").address(), "default", owned=True)


@pytest.fixture(scope="session")
def temporal_server(request: pytest.FixtureRequest) -> TemporalServer:
    """The Temporal server for this pytest process: reused from the environment, else started."""
    return temporal_server_for(request.config)


@pytest.fixture()
def temporal(request: pytest.FixtureRequest) -> TemporalTarget:
    server = temporal_server_for(request.config)
    return TemporalTarget(
        address=server.address,
        namespace=server.namespace,
        task_queue=unique_name(f"tq-{request.node.name}"),
        workflow_id=unique_name(f"wf-{request.node.name}"),
    )
