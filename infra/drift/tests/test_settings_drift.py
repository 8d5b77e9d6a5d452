"""Every container's environment, in compose and in each rendered overlay, is accepted by its
service's settings class, asked of the service's own pex: no unknown variable with the service's
prefix (or another service's), no missing required one, and every value valid."""

from __future__ import annotations

from typing import Any

from deploy_drift.deployment import Deployed
from deploy_drift.services import SERVICES

PREFIXES = {"GATEWAY_", "NORMALIZER_", "ORCHESTRATOR_", "INFERENCE_", "FEATURE_REPO_", "PIPELINES_"}


def test_every_service_is_deployed_everywhere(deployed: list[Deployed]) -> None:
    for deployment in ("compose", "dev", "prod"):
        missing = {s.name for s in SERVICES} - {d.service.name for d in deployed if d.deployment == deployment}
        assert not missing, f"{deployment} deploys no container of {sorted(missing)}"


def test_prefixes_are_the_settings_classes(probes: dict[str, dict[str, Any]]) -> None:
    assert {answer["prefix"] for answer in probes.values()} == PREFIXES


def test_no_unknown_variable(deployed: list[Deployed], probes: dict[str, dict[str, Any]]) -> None:
    problems: list[str] = []
    for container in deployed:
        answer = probes[container.service.name]
        for variable in sorted(container.env):
            if not any(variable.upper().startswith(prefix) for prefix in PREFIXES):
                continue  # a tool's own namespace (DAGSTER_HOME, FEAST_USAGE) or PYTHONUNBUFFERED
            if not variable.upper().startswith(answer["prefix"]):
                problems.append(f"{container.label}: {variable} belongs to another service")
            elif variable.upper() not in answer["fields"]:
                problems.append(f"{container.label}: {variable} is not a setting of {container.service.settings}")
    assert not problems, "\n".join(problems)


def test_no_missing_required_variable(deployed: list[Deployed], probes: dict[str, dict[str, Any]]) -> None:
    problems: list[str] = []
    for container in deployed:
        fields = probes[container.service.name]["fields"]
        given = {variable.upper() for variable in container.env}
        for variable, field in sorted(fields.items()):
            if field["required"] and variable not in given:
                problems.append(f"{container.label}: required {variable} is not set")
    assert not problems, "\n".join(problems)


def test_every_environment_validates(deployed: list[Deployed], probes: dict[str, dict[str, Any]]) -> None:
    problems: list[str] = []
    for container in deployed:
        errors = probes[container.service.name]["results"][container.label]["errors"]
        problems.extend(f"{container.label}: {error}" for error in errors)
    assert not problems, "\n".join(problems)
