"""Settings come from prefixed variables; a bad environment names every variable to fix."""

from typing import Annotated

import pytest
from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from service_config import ConfigurationError, LogLevel, env_name, load_settings


class ExampleSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EXAMPLE_", frozen=True, extra="ignore")

    port: Annotated[int, Field(ge=1, le=65535)] = 8000
    secret: SecretStr
    mirror: str = ""
    log_level: LogLevel = "INFO"

    @model_validator(mode="after")
    def _mirror_needs_port(self) -> "ExampleSettings":
        if self.mirror and self.port == 1:
            raise ValueError("EXAMPLE_MIRROR cannot be used with EXAMPLE_PORT=1")
        return self


def test_values_come_from_prefixed_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXAMPLE_PORT", "9001")
    monkeypatch.setenv("EXAMPLE_SECRET", "s3cret")

    settings = load_settings(ExampleSettings, "example")

    assert (settings.port, settings.secret.get_secret_value()) == (9001, "s3cret")


def test_overrides_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXAMPLE_PORT", "9001")

    assert load_settings(ExampleSettings, "example", port=9002, secret="x").port == 9002


def test_every_bad_variable_is_named_and_no_value_is_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXAMPLE_PORT", "not-a-port-hunter2")
    monkeypatch.delenv("EXAMPLE_SECRET", raising=False)

    with pytest.raises(ConfigurationError) as refused:
        load_settings(ExampleSettings, "example")

    message = str(refused.value)
    assert message.startswith("invalid example configuration: ")
    assert "EXAMPLE_PORT:" in message and "EXAMPLE_SECRET: Field required" in message
    assert "hunter2" not in message


def test_a_model_validators_message_is_passed_on_as_written(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXAMPLE_PORT", "1")
    monkeypatch.setenv("EXAMPLE_SECRET", "s")
    monkeypatch.setenv("EXAMPLE_MIRROR", "m")

    with pytest.raises(ConfigurationError, match=r"configuration: EXAMPLE_MIRROR cannot be used with EXAMPLE_PORT=1$"):
        load_settings(ExampleSettings, "example")


def test_env_name_uses_the_class_prefix() -> None:
    assert env_name(ExampleSettings, "port") == "EXAMPLE_PORT"


def test_log_levels_are_read_in_any_case_and_a_typo_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXAMPLE_SECRET", "s")
    monkeypatch.setenv("EXAMPLE_LOG_LEVEL", "debug")
    assert load_settings(ExampleSettings, "example").log_level == "DEBUG"
    monkeypatch.setenv("EXAMPLE_LOG_LEVEL", "verbose")
    with pytest.raises(ConfigurationError, match="EXAMPLE_LOG_LEVEL"):
        load_settings(ExampleSettings, "example")
