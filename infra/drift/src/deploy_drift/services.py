"""What the drift tests know about each deployable: its image, its pex, its settings, its routes.

Everything else (variables, defaults, required fields, routes) is asked of the service's own pex
at test time (`probe.py`); this table only says where to ask.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SERVICES", "Service", "by_image"]


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
    Service(
        "pipelines",
        "payments-mlops/pipelines",
        "services/dagster:pipelines",
        "pipelines.settings:PipelinesSettings",
        None,
        "dagster",
    ),
)


def by_image(image: str) -> Service | None:
    """The service of an image reference (`repo[:tag]`), or None for a third-party image."""
    repository = image.rsplit(":", 1)[0] if ":" in image.rsplit("/", 1)[-1] else image
    return next((service for service in SERVICES if service.image == repository), None)
