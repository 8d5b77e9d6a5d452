"""What the drift tests know about each deployable: its image, its pex, its settings, its routes.

Everything else (variables, defaults, required fields, routes) is asked of the service's own pex
at test time (`probe.py`); this table only says where to ask.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["SERVICES", "Service", "by_image", "service_of"]


@dataclass(frozen=True)
class Service:
    name: str
    """The name `service_config.load_settings` reports in its errors."""
    image: str
    """`repository` of the service's `docker_image` target."""
    pex: str
    """The pex target the image installs, as a Pants address."""
    settings: str
    """`module:Class` of the settings class, inside the pex."""
    port_field: str | None
    """Settings field of the port the health routes are served on (None: gRPC, fixed in the command)."""
    routes: str
    """How probe.py lists the service's routes."""
    process: str | None = None
    """The command (compose `command`, Kubernetes `args`) that selects this process of an image that
    runs processes with different routes or ports; None: the image's default process (or any
    command, where its processes share routes and port, as the orchestrator's worker and bridge)."""

    @property
    def key(self) -> str:
        """Unique among the services: the settings' name, and the process when it is not the default."""
        return self.name if self.process is None else f"{self.name}:{self.process}"

    @property
    def pex_path(self) -> str:
        """Where `./pants package` writes the pex (the Dockerfile COPYs it from there too)."""
        folder, _, name = self.pex.partition(":")
        return f"{folder.replace('/', '.')}/{name}.pex"


SERVICES: tuple[Service, ...] = (
    Service(
        "gateway",
        "payments-mlops/gateway",
        "services/gateway:gateway",
        "gateway.settings:GatewaySettings",
        "port",
        "litestar=gateway.asgi:create_app",
    ),
    Service(
        "normalizer",
        "payments-mlops/normalizer",
        "services/normalizer:normalizer",
        "normalizer.settings:NormalizerSettings",
        "web_port",
        "faust",
    ),
    Service(
        "orchestrator",
        "payments-mlops/orchestrator",
        "services/orchestrator:worker",
        "orchestrator.settings:OrchestratorSettings",
        "health_port",
        "orchestrator",
    ),
    Service(
        "inference",
        "payments-mlops/inference",
        "services/inference:inference",
        "inference.settings:InferenceSettings",
        "port",
        "litestar=inference.app:create_app",
    ),
    Service(
        "feature_repo",
        "payments-mlops/feature-server",
        "services/feast:feature-server",
        "feature_repo.settings:FeatureRepoSettings",
        "port",
        "feast",
    ),
    # The push consumer: the feature-server image run with `push-consumer`, from the same venv (the
    # feature-server pex carries its module; the probe imports it from there).
    Service(
        "feature_repo",
        "payments-mlops/feature-server",
        "services/feast:feature-server",
        "feature_repo.settings:FeatureRepoSettings",
        "push_port",
        "feast-push",
        process="push-consumer",
    ),
    Service(
        "pipelines",
        "payments-mlops/pipelines",
        "services/dagster:pipelines",
        "pipelines.settings:PipelinesSettings",
        None,
        "dagster",
    ),
)


def _repository(image: str) -> str:
    return image.rsplit(":", 1)[0] if ":" in image.rsplit("/", 1)[-1] else image


def by_image(image: str) -> Service | None:
    """A service of an image reference (`repo[:tag]`), its default process; None for a third-party
    image. What the image is (Dockerfile, ENV) is the same for every process it runs."""
    repository = _repository(image)
    return next((s for s in SERVICES if s.image == repository and s.process is None), None)


def service_of(image: str, command: Sequence[str] = ()) -> Service | None:
    """The service a container runs: its image and the process its command selects (the image's
    default process when the command names none of the image's processes)."""
    repository = _repository(image)
    selected = next((s for s in SERVICES if s.image == repository and tuple(command[:1]) == (s.process,)), None)
    return selected or by_image(image)
