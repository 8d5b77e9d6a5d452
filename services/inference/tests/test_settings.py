"""Configuration that cannot describe a working service stops it at start, naming the variable."""

from pathlib import Path

import pytest

from inference.settings import ConfigurationError, load_settings


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("INFERENCE_LOG_LEVEL", "verbose", "CRITICAL"),
        ("INFERENCE_FEAST_URL", "127.0.0.1:6566", "http(s) base URL"),
        ("INFERENCE_FEAST_URL", "ftp://feast:6566", "http(s) base URL"),
        ("INFERENCE_FRAUD_MODEL", "Fraud", "pattern"),
        ("INFERENCE_CHURN_MODEL", "../churn", "pattern"),
        ("INFERENCE_REGISTRY_ROOT", "/nonexistent/models", "not a directory"),
    ],
)
def test_a_setting_that_cannot_work_is_refused_by_name(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError, match=variable) as refused:
        load_settings()
    assert message in str(refused.value)
    assert value not in str(refused.value)  # values may be secrets: never echoed


def test_settings_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("INFERENCE_LOG_LEVEL", "debug")
    monkeypatch.setenv("INFERENCE_REGISTRY_ROOT", str(tmp_path))
    monkeypatch.setenv("INFERENCE_FEAST_URL", "https://feast.internal:6566/")
    settings = load_settings()
    assert (settings.log_level, settings.registry_root, settings.feast_url) == (
        "DEBUG",
        tmp_path,
        "https://feast.internal:6566",
    )


def test_the_default_registry_root_may_be_absent(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Unset, the registry root is a local default; an absent one is an empty registry (rules)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("INFERENCE_REGISTRY_ROOT", raising=False)
    assert not load_settings().registry_root.exists()
