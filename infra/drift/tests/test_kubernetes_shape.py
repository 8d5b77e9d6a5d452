"""Each rendered overlay holds together: every reference resolves to an object of the overlay,
every Deployment has its probes and resources, every budget and Service selects pods."""

from __future__ import annotations

from typing import Any

from deploy_drift.deployment import SECRET_EXAMPLES, pod_containers


def _named(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def _selects(selector: dict[str, str], deployment: dict[str, Any]) -> bool:
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    return all(labels.get(key) == value for key, value in selector.items())


def test_references_resolve(overlays: dict[str, list[dict[str, Any]]]) -> None:
    problems = []
    for overlay, objects in overlays.items():
        config_maps, claims = _named(objects, "ConfigMap"), _named(objects, "PersistentVolumeClaim")
        for deployment, container in pod_containers(objects):
            where = f"{overlay}/{deployment['metadata']['name']}"
            for source in container.get("envFrom", []):
                if "configMapRef" in source and source["configMapRef"]["name"] not in config_maps:
                    problems.append(f"{where}: ConfigMap {source['configMapRef']['name']} is not in the overlay")
                if (
                    "secretRef" in source
                    and not (SECRET_EXAMPLES / f"{source['secretRef']['name']}.env.example").is_file()
                ):
                    problems.append(f"{where}: Secret {source['secretRef']['name']} has no .env.example")
            for volume in deployment["spec"]["template"]["spec"].get("volumes", []):
                claim = volume.get("persistentVolumeClaim", {}).get("claimName")
                if claim is not None and claim not in claims:
                    problems.append(f"{where}: PersistentVolumeClaim {claim} is not in the overlay")
        deployments = _named(objects, "Deployment")
        for hpa in _named(objects, "HorizontalPodAutoscaler").values():
            if hpa["spec"]["scaleTargetRef"]["name"] not in deployments:
                problems.append(f"{overlay}: HPA {hpa['metadata']['name']} targets no Deployment")
    assert not problems, "\n".join(problems)


def test_every_deployment_has_probes_and_resources(overlays: dict[str, list[dict[str, Any]]]) -> None:
    problems = []
    for overlay, objects in overlays.items():
        for deployment, container in pod_containers(objects):
            where = f"{overlay}/{deployment['metadata']['name']}"
            for key in ("livenessProbe", "readinessProbe"):
                if key not in container:
                    problems.append(f"{where}: no {key}")
            resources = container.get("resources", {})
            for kind in ("requests", "limits"):
                if set(resources.get(kind, {})) != {"cpu", "memory"}:
                    problems.append(f"{where}: resources.{kind} must name cpu and memory")
            if not deployment["spec"]["template"]["spec"].get("securityContext", {}).get("runAsNonRoot"):
                problems.append(f"{where}: runAsNonRoot is not set")
    assert not problems, "\n".join(problems)


def test_budgets_and_services_select_pods(overlays: dict[str, list[dict[str, Any]]]) -> None:
    problems = []
    for overlay, objects in overlays.items():
        deployments = list(_named(objects, "Deployment").values())
        for pdb in _named(objects, "PodDisruptionBudget").values():
            selected = [d for d in deployments if _selects(pdb["spec"]["selector"]["matchLabels"], d)]
            if len(selected) != 1:
                problems.append(f"{overlay}: PDB {pdb['metadata']['name']} selects {len(selected)} Deployments")
            elif selected[0]["spec"].get("replicas", 1) < 2 and "minAvailable" in pdb["spec"]:
                problems.append(f"{overlay}: PDB {pdb['metadata']['name']} minAvailable with one replica blocks drains")
        for service in _named(objects, "Service").values():
            selected = [d for d in deployments if _selects(service["spec"]["selector"], d)]
            if len(selected) != 1:
                problems.append(f"{overlay}: Service {service['metadata']['name']} selects {len(selected)} Deployments")
                continue
            ports = {
                port.get("name")
                for container in selected[0]["spec"]["template"]["spec"]["containers"]
                for port in container.get("ports", [])
            }
            for port in service["spec"]["ports"]:
                if port["targetPort"] not in ports:
                    problems.append(
                        f"{overlay}: Service {service['metadata']['name']} targets no port {port['targetPort']}"
                    )
    assert not problems, "\n".join(problems)
