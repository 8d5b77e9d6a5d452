"""Settings are validated at start, and a bad one is named."""

from __future__ import annotations

import subprocess
import sys

import pytest

from orchestrator.settings import ConfigurationError, load_settings
from testing.processes import child_env


def test_defaults_load() -> None:
    settings = load_settings()
    assert settings.task_queue == "orchestrator-payments"
    assert settings.review_threshold <= settings.decline_threshold


@pytest.mark.parametrize(
    ("overrides", "variable"),
    [
        ({"inference_url": "inference:8001"}, "ORCHESTRATOR_INFERENCE_URL"),
        ({"store_dsn": "mysql://x"}, "ORCHESTRATOR_STORE_DSN"),
        ({"review_threshold": 1.5}, "ORCHESTRATOR_REVIEW_THRESHOLD"),
        ({"review_threshold": 0.9, "decline_threshold": 0.5}, "ORCHESTRATOR_REVIEW_THRESHOLD"),
        ({"review_timeout_seconds": 0}, "ORCHESTRATOR_REVIEW_TIMEOUT_SECONDS"),
        ({"health_port": 70000}, "ORCHESTRATOR_HEALTH_PORT"),
        ({"health_port": 0}, "ORCHESTRATOR_HEALTH_PORT"),
        ({"bridge_commit_interval_seconds": -1}, "ORCHESTRATOR_BRIDGE_COMMIT_INTERVAL_SECONDS"),
        ({"bridge_commit_interval_seconds": 301}, "ORCHESTRATOR_BRIDGE_COMMIT_INTERVAL_SECONDS"),
        ({"bridge_max_batch": 0}, "ORCHESTRATOR_BRIDGE_MAX_BATCH"),
    ],
)
def test_a_bad_setting_is_named(overrides: dict[str, object], variable: str) -> None:
    with pytest.raises(ConfigurationError, match=variable):
        load_settings(**overrides)


@pytest.mark.parametrize("module", ["orchestrator.worker", "orchestrator.bridge"])
def test_the_processes_refuse_to_start_on_a_bad_setting(module: str) -> None:
    argv = [sys.executable, "-m", module]
    env = child_env({"ORCHESTRATOR_DECLINE_THRESHOLD": "2"})
    result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, check=False)  # noqa: S603
    assert result.returncode == 2
    assert "ORCHESTRATOR_DECLINE_THRESHOLD" in result.stderr
