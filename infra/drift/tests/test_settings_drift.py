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
        missing = {s.key for s in SERVICES} - {d.service.key for d in deployed if d.deployment == deployment}
        assert not missing, f"{deployment} deploys no container of {sorted(missing)}"


def test_prefixes_are_the_settings_classes(probes: dict[str, dict[str, Any]]) -> None:
    assert {answer["prefix"] for answer in probes.values()} == PREFIXES


def test_no_unknown_variable(deployed: list[Deployed], probes: dict[str, dict[str, Any]]) -> None:
    problems: list[str] = []
    for container in deployed:
        answer = probes[container.service.key]
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
        fields = probes[container.service.key]["fields"]
        given = {variable.upper() for variable in container.env}
        for variable, field in sorted(fields.items()):
            if field["required"] and variable not in given:
                problems.append(f"{container.label}: required {variable} is not set")
    assert not problems, "\n".join(problems)


def test_every_environment_validates(deployed: list[Deployed], probes: dict[str, dict[str, Any]]) -> None:
    problems: list[str] = []
    for container in deployed:
        errors = probes[container.service.key]["results"][container.label]["errors"]
        problems.extend(f"{container.label}: {error}" for error in errors)
    assert not problems, "\n".join(problems)


FEATURE_STORE = (
    "FEATURE_REPO_ROOT",
    "FEATURE_REPO_PROJECT",
    "FEATURE_REPO_ONLINE_STORE",
    "FEATURE_REPO_REDIS_CONNECTION_STRING",
    "FEATURE_REPO_REGISTRY_TYPE",
    "FEATURE_REPO_REGISTRY_URL",
)
"""What names the Feast store: the push consumer must write the one the feature server reads."""


def test_feature_server_and_push_consumer_name_one_store(deployed: list[Deployed]) -> None:
    problems: list[str] = []
    for deployment in ("compose", "dev", "prod"):
        feast = [d for d in deployed if d.deployment == deployment and d.service.name == "feature_repo"]
        stores = {d.label: {key: d.env.get(key) for key in FEATURE_STORE} for d in feast}
        processes = {d.service.key for d in feast}
        assert processes == {"feature_repo", "feature_repo:push-consumer"}, f"{deployment}: {sorted(processes)}"
        first, *others = stores.items()
        problems.extend(f"{label}: {store} but {first[0]}: {first[1]}" for label, store in others if store != first[1])
    assert not problems, "\n".join(problems)
