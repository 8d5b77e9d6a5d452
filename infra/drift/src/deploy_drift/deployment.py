"""The deployments read as containers: what each of our processes would see, in compose and in
each rendered overlay. Paths are from the repository root (the tests' working directory)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deploy_drift.compose import parse_env_file
from deploy_drift.dockerfile import Dockerfile, parse_dockerfile
from deploy_drift.services import Service, by_image

__all__ = [
    "DOCKER",
    "KUBERNETES",
    "OVERLAYS",
    "ROOT",
    "SECRET_EXAMPLES",
    "Deployed",
    "dockerfile_of",
    "env_example",
    "image_env",
    "kubernetes_env",
    "pod_containers",
]

ROOT = Path.cwd()
DOCKER = ROOT / "infra/docker"
KUBERNETES = ROOT / "infra/kubernetes"
OVERLAYS = ("dev", "prod")
SECRET_EXAMPLES = DOCKER / "secrets"
"""A Kubernetes Secret `<name>` holds the keys of `infra/docker/secrets/<name>.env.example` (README)."""


@dataclass(frozen=True)
class Deployed:
    """One container of one deployment, as its process would see it."""

    deployment: str
    """`compose`, `dev` or `prod`."""
    name: str
    service: Service
    env: dict[str, str]

    @property
    def label(self) -> str:
        return f"{self.deployment}/{self.name}"


def dockerfile_of(service: Service) -> Dockerfile:
    folder = service.pex.partition(":")[0]
    return parse_dockerfile((ROOT / folder / "Dockerfile").read_text())


def image_env(image: str) -> dict[str, str]:
    """The ENV of one of our images' runtime stage (empty for a third-party image)."""
    service = by_image(image)
    return dockerfile_of(service).env if service else {}


def env_example(path: str) -> str:
    """An env file named in compose: its committed example stands in for the real secrets."""
    return (DOCKER / f"{path}.example").read_text()


def pod_containers(objects: list[dict[str, Any]]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(Deployment, container) pairs of a rendered overlay."""
    for obj in objects:
        if obj["kind"] == "Deployment":
            for container in obj["spec"]["template"]["spec"]["containers"]:
                yield obj, container


def kubernetes_env(objects: list[dict[str, Any]], container: dict[str, Any]) -> dict[str, str]:
    """Image ENV, then envFrom (ConfigMap data, Secret keys from the example), then env."""
    config_maps = {o["metadata"]["name"]: o.get("data", {}) for o in objects if o["kind"] == "ConfigMap"}
    env = dict(image_env(container["image"]))
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            env.update(config_maps[source["configMapRef"]["name"]])
        elif "secretRef" in source:
            env.update(parse_env_file((SECRET_EXAMPLES / f"{source['secretRef']['name']}.env.example").read_text()))
        else:
            raise ValueError(f"envFrom {source} is neither a ConfigMap nor a Secret reference")
    for item in container.get("env", []):
        if "value" not in item:
            raise ValueError(f"env {item['name']}: only plain values are read by these tests")
        env[item["name"]] = str(item["value"])
    return env
