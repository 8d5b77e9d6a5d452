"""Every image the deploy files name is built by a `docker_image` target, from its service's pex."""

from __future__ import annotations

from typing import Any

from deploy_drift.build_files import DockerImage
from deploy_drift.deployment import ROOT, dockerfile_of, pod_containers
from deploy_drift.services import SERVICES


def _repository(image: str) -> str:
    name, sep, tag = image.rpartition(":")
    return name if sep and "/" not in tag else image


def _ours(image: str) -> bool:
    return image.startswith("payments-mlops/")


def test_every_referenced_image_is_built(
    compose: dict[str, Any], overlays: dict[str, list[dict[str, Any]]], images: list[DockerImage]
) -> None:
    built = {image.repository for image in images}
    referenced = {("compose", spec["image"]) for spec in compose["services"].values()}
    for overlay, objects in overlays.items():
        referenced |= {(overlay, container["image"]) for _, container in pod_containers(objects)}
    unbuilt = sorted(
        f"{where}: {image}" for where, image in referenced if _ours(image) and _repository(image) not in built
    )
    assert not unbuilt, "no docker_image target has these repositories:\n" + "\n".join(unbuilt)
    for where in ("compose", "dev", "prod"):
        used = {_repository(image) for w, image in referenced if w == where}
        assert built <= used, f"{where} leaves out images {sorted(built - used)}"


def test_every_image_is_built_from_its_pex(images: list[DockerImage]) -> None:
    by_repository = {image.repository: image for image in images}
    assert set(by_repository) == {service.image for service in SERVICES}
    for service in SERVICES:
        image = by_repository[service.image]
        assert "docker" in image.tags, f"{image.address} is not tagged `docker` (--tag=-docker would build it)"
        assert service.pex in image.dependencies, f"{image.address} does not depend on {service.pex}"
        dockerfile = dockerfile_of(service)
        assert service.pex_path in dockerfile.copies, f"{service.name}'s Dockerfile does not COPY {service.pex_path}"


def test_every_image_is_multi_stage_and_not_root() -> None:
    for service in SERVICES:
        dockerfile = dockerfile_of(service)
        assert dockerfile.stages >= 2, f"{service.name}'s Dockerfile has one stage"
        assert dockerfile.user and dockerfile.user.split(":")[0] not in ("root", "0"), f"{service.name} runs as root"


def test_orchestrator_processes_exist_in_its_image(
    compose: dict[str, Any], overlays: dict[str, list[dict[str, Any]]]
) -> None:
    """The image runs `/opt/<command>/pex` (worker or bridge): every command given must be one."""
    dockerfile = next(s for s in SERVICES if s.name == "orchestrator").pex.partition(":")[0] + "/Dockerfile"
    text = (ROOT / dockerfile).read_text()
    commands = {
        ("compose", name, tuple(spec.get("command", ())))
        for name, spec in compose["services"].items()
        if spec["image"].startswith("payments-mlops/orchestrator")
    }
    for overlay, objects in overlays.items():
        commands |= {
            (overlay, deployment["metadata"]["name"], tuple(container.get("args", ())))
            for deployment, container in pod_containers(objects)
            if container["image"].startswith("payments-mlops/orchestrator")
        }
    assert {command for _, _, command in commands} == {("worker",), ("bridge",)}, commands
    for where, name, (process,) in commands:
        assert f"COPY --from=build /opt/{process} /opt/{process}" in text, f"{where}/{name}: no /opt/{process} venv"


def test_feature_server_image_runs_every_process_it_is_given(
    compose: dict[str, Any], overlays: dict[str, list[dict[str, Any]]], probes: dict[str, dict[str, Any]]
) -> None:
    """The image's entrypoint (`feature-repo`) runs `serve` (default), `push-consumer`, or else a
    command of the feature repo CLI (`python -m feature_repo`): each has its case in the entrypoint,
    every other command given is one the image's CLI has, and both processes are deployed."""
    server = next(s for s in SERVICES if s.image == "payments-mlops/feature-server" and s.process is None)
    text = (ROOT / server.pex.partition(":")[0] / "Dockerfile").read_text()
    commands = {
        ("compose", name, tuple(spec.get("command", ())))
        for name, spec in compose["services"].items()
        if _repository(spec["image"]) == server.image
    }
    for overlay, objects in overlays.items():
        commands |= {
            (overlay, deployment["metadata"]["name"], tuple(container.get("args", ())))
            for deployment, container in pod_containers(objects)
            if _repository(container["image"]) == server.image
        }
    processes = {(), ("push-consumer",)}
    cli = {
        route.removeprefix("cli:feature-repo ") for route in probes[server.key]["routes"] if route.startswith("cli:")
    }
    for where in ("compose", "dev", "prod"):
        given = {command for w, _, command in commands if w == where}
        assert processes <= given, f"{where}: the feature-server image runs only {sorted(given)}"
        for command in given - processes:
            assert command[0] in cli, f"{where}: {command} is neither a process nor a CLI command ({sorted(cli)})"
    assert 'ENTRYPOINT ["feature-repo"]' in text and 'CMD ["serve"]' in text
    for case in (
        "serve) exec /opt/feature-server/pex ",
        "push-consumer) exec ",
        '*) exec /opt/feature-server/bin/python -m feature_repo "$@"',
    ):
        assert f"'  {case}" in text, f"the image's entrypoint has no case {case!r}"
