"""Every health check and probe asks a route its service serves, on the port its settings name."""

from __future__ import annotations

from typing import Any

from deploy_drift.compose import Container, health_urls
from deploy_drift.deployment import Deployed, dockerfile_of, pod_containers
from deploy_drift.services import SERVICES, service_of


def _port(probes: dict[str, dict[str, Any]], container: Deployed) -> int | None:
    field = container.service.port_field
    values = probes[container.service.key]["results"][container.label]["values"]
    if field is None:
        return None
    assert values, f"{container.label}: its environment does not validate (test_every_environment_validates)"
    assert field in values, f"{container.service.settings} has no field {field!r}: its health port is unknown"
    return int(values[field])


def test_every_service_has_its_health_routes(probes: dict[str, dict[str, Any]]) -> None:
    expected = {
        "gateway": {"/healthz", "/readyz", "/metrics"},
        "normalizer": {"/healthz", "/readyz", "/metrics"},
        "orchestrator": {"/healthz", "/readyz", "/metrics"},
        "inference": {"/healthz", "/readyz", "/metrics"},
        "feature_repo": {"/health"},
        "feature_repo:push-consumer": {"/healthz", "/readyz"},
        "pipelines": {"grpc:health"},
    }
    for service, routes in expected.items():
        missing = routes - set(probes[service]["routes"])
        assert not missing, f"{service} serves none of {sorted(missing)} (it serves {probes[service]['routes']})"


def test_dockerfile_healthchecks_ask_routes(probes: dict[str, dict[str, Any]]) -> None:
    """One HEALTHCHECK per image: each path it asks is a route of a process of the image, and it
    asks a route of every process the image runs (the feature-server image: `/health` or `/healthz`)."""
    for image in sorted({service.image for service in SERVICES}):
        processes = [service for service in SERVICES if service.image == image]
        healthcheck = dockerfile_of(processes[0]).healthcheck
        assert healthcheck, f"{image}'s Dockerfile has no HEALTHCHECK"
        if processes[0].routes == "dagster":
            routes = set(probes[processes[0].key]["routes"])
            assert "grpc-health-check" in healthcheck and "cli:dagster api grpc-health-check" in routes
            continue
        paths = {url.path for url in health_urls(healthcheck.replace("%s", "0"))}
        assert paths, f"{image}'s HEALTHCHECK requests no local URL: {healthcheck}"
        every = set().union(*(probes[service.key]["routes"] for service in processes))
        assert paths <= every, f"{image}'s HEALTHCHECK asks {sorted(paths)}; routes are {sorted(every)}"
        for service in processes:
            asked = paths & set(probes[service.key]["routes"])
            assert asked, f"{image}'s HEALTHCHECK asks none of {service.key}'s routes {probes[service.key]['routes']}"


def test_compose_healthchecks_ask_routes_on_the_configured_port(
    compose: dict[str, Any],
    compose_services: list[Container],
    deployed: list[Deployed],
    probes: dict[str, dict[str, Any]],
) -> None:
    problems: list[str] = []
    checked = 0
    for container in compose_services:
        service = service_of(container.image, container.command)
        if service is None or compose["services"][container.name].get("restart") == "no":
            continue  # third-party, or a one-shot (waited for with service_completed_successfully)
        assert container.health, f"compose service {container.name} has no healthcheck"
        routes = set(probes[service.key]["routes"])
        urls = health_urls(container.health)
        if not urls:  # a command, not a URL: the Dagster code server and daemon
            program, *arguments = container.health
            # The image's /app/venv/pex is the pipelines pex, whose entry point is `dagster`.
            program = "dagster" if program == "/app/venv/pex" else program.rsplit("/", 1)[-1]
            command = " ".join([program, *arguments])
            known = sorted(route.removeprefix("cli:") for route in routes if route.startswith("cli:"))
            if not any(command.startswith(k) for k in known):
                problems.append(f"compose/{container.name}: health command {command!r} is none of {known}")
            checked += 1
            continue
        me = next(d for d in deployed if d.deployment == "compose" and d.name == container.name)
        for url in urls:
            checked += 1
            if url.path not in routes:
                problems.append(f"compose/{container.name}: {url.path} is not a route of {service.key}")
            port = _port(probes, me)
            if port is not None and url.port != port:
                problems.append(f"compose/{container.name}: health port {url.port}, settings say {port}")
    assert checked >= len(SERVICES)
    assert not problems, "\n".join(problems)


def test_kubernetes_probes_ask_routes_on_the_configured_port(
    overlays: dict[str, list[dict[str, Any]]], deployed: list[Deployed], probes: dict[str, dict[str, Any]]
) -> None:
    problems: list[str] = []
    for overlay, objects in overlays.items():
        for deployment, container in pod_containers(objects):
            name = deployment["metadata"]["name"]
            me = next(d for d in deployed if d.deployment == overlay and d.name == name)
            routes = set(probes[me.service.key]["routes"])
            ports = {port.get("name"): port["containerPort"] for port in container.get("ports", [])}
            for kind in ("livenessProbe", "readinessProbe"):
                probe = container.get(kind)
                if probe is None:
                    problems.append(f"{overlay}/{name}: no {kind}")
                elif "httpGet" in probe:
                    path, port = probe["httpGet"]["path"], probe["httpGet"]["port"]
                    port = ports.get(port, port)
                    if path not in routes:
                        problems.append(f"{overlay}/{name}: {kind} {path} is not a route of {me.service.key}")
                    expected = _port(probes, me)
                    if expected is not None and port != expected:
                        problems.append(f"{overlay}/{name}: {kind} port {port}, settings say {expected}")
                elif "grpc" in probe:
                    if "grpc:health" not in routes:
                        problems.append(f"{overlay}/{name}: gRPC {kind}, but no gRPC health service")
                else:
                    problems.append(f"{overlay}/{name}: {kind} is neither httpGet nor grpc")
    assert not problems, "\n".join(problems)
