"""Fixtures of the drift tests: the deploy files read as data, and each service's own pex asked
about its settings and routes (one run per service per session).

The tests run from the repository root (Pants' sandbox holds the files targets there) and the
pexes are built by Pants (`runtime_package_dependencies`), so what is checked is what ships.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import deploy_drift.probe
import pytest
import yaml
from deploy_drift.build_files import DockerImage, docker_images
from deploy_drift.compose import Container, compose_containers
from deploy_drift.deployment import (
    DOCKER,
    KUBERNETES,
    OVERLAYS,
    ROOT,
    Deployed,
    env_example,
    image_env,
    kubernetes_env,
    pod_containers,
)
from deploy_drift.kustomize import render
from deploy_drift.services import SERVICES, service_of


@pytest.fixture(scope="session")
def compose() -> dict[str, Any]:
    parsed: dict[str, Any] = yaml.safe_load((DOCKER / "compose.yml").read_text())
    return parsed


@pytest.fixture(scope="session")
def compose_services(compose: dict[str, Any]) -> list[Container]:
    return compose_containers(compose, image_env, env_example)


@pytest.fixture(scope="session")
def overlays() -> dict[str, list[dict[str, Any]]]:
    return {name: render(KUBERNETES / "overlays" / name) for name in OVERLAYS}


@pytest.fixture(scope="session")
def deployed(compose_services: list[Container], overlays: dict[str, list[dict[str, Any]]]) -> list[Deployed]:
    """Every container of ours in compose and in each overlay."""
    found = [
        Deployed("compose", container.name, service, container.env)
        for container in compose_services
        if (service := service_of(container.image, container.command)) is not None
    ]
    for overlay, objects in overlays.items():
        for deployment, container in pod_containers(objects):
            service = service_of(container["image"], container.get("args", ()))
            assert service is not None, f"{overlay}: {container['image']} is not one of our images"
            found.append(Deployed(overlay, deployment["metadata"]["name"], service, kubernetes_env(objects, container)))
    return found


@pytest.fixture(scope="session")
def images() -> list[DockerImage]:
    """The docker_image targets of every service's BUILD file."""
    found = []
    for build in sorted((ROOT / "services").glob("*/BUILD")):
        found.extend(docker_images(str(build.parent.relative_to(ROOT)), build.read_text()))
    return found


@pytest.fixture(scope="session")
def probes(deployed: list[Deployed], tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """service key -> the answer of probe.py run inside that service's pex, with every
    deployment's environment of it to validate (and its routes)."""
    pex_root = tmp_path_factory.mktemp("pex-root")
    answers = {}
    for service in SERVICES:
        output = pex_root / f"{service.key}.json"
        request = {
            "settings": service.settings,
            "service": service.name,
            "routes": service.routes,
            "envs": {d.label: d.env for d in deployed if d.service == service},
            "output": str(output),
        }
        completed = subprocess.run(
            [sys.executable, service.pex_path, deploy_drift.probe.__file__],  # noqa: S603 (our own pexes)
            input=json.dumps(request),
            capture_output=True,
            text=True,
            timeout=600,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PEX_INTERPRETER": "1", "PEX_ROOT": str(pex_root)},
            check=False,
        )
        assert completed.returncode == 0, f"probe in {service.pex_path} failed:\n{completed.stderr[-4000:]}"
        answers[service.key] = json.loads(output.read_text())
    return answers
