"""Settings: defaults, and a bad or missing variable stops the worker at start, named."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from normalizer.settings import ConfigurationError, load_settings
from testing.processes import child_env


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("NORMALIZER_"):
            monkeypatch.delenv(name)


def test_defaults_with_only_the_broker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NORMALIZER_KAFKA_BOOTSTRAP_SERVERS", "k1:9092,k2:9092")
    settings = load_settings()
    assert settings.kafka_bootstrap_servers == "k1:9092,k2:9092"
    assert settings.dedupe_window_seconds == 7 * 24 * 3600
    assert settings.app_id == "normalizer"


def test_missing_broker_names_the_variable() -> None:
    with pytest.raises(ConfigurationError, match="NORMALIZER_KAFKA_BOOTSTRAP_SERVERS"):
        load_settings()


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("NORMALIZER_DEDUPE_WINDOW_SECONDS", "0"),
        ("NORMALIZER_DEDUPE_WINDOW_SECONDS", "a week"),
        ("NORMALIZER_WEB_PORT", "70000"),
        ("NORMALIZER_APP_ID", "has spaces"),
        ("NORMALIZER_LOG_LEVEL", "LOUD"),
        ("NORMALIZER_BATCH_SIZE", "0"),
    ],
)
def test_bad_value_names_the_variable(monkeypatch: pytest.MonkeyPatch, variable: str, value: str) -> None:
    monkeypatch.setenv("NORMALIZER_KAFKA_BOOTSTRAP_SERVERS", "k1:9092")
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError, match=variable):
        load_settings()


def test_worker_refuses_to_start_without_its_broker() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "normalizer"],  # noqa: S603 (our own module, no shell)
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert "NORMALIZER_KAFKA_BOOTSTRAP_SERVERS" in result.stderr
