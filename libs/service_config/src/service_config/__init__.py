"""Service settings: `<PREFIX>_*` environment variables read into a pydantic-settings class once,
and one error whose message names every variable to fix.

A service must refuse to start on missing or malformed configuration with a message that names
the setting; every service maps pydantic's errors to its variable names the same way, here.
"""

from typing import Annotated, Any, Literal, TypeVar

from pydantic import BeforeValidator, ValidationError
from pydantic_settings import BaseSettings

SettingsT = TypeVar("SettingsT", bound=BaseSettings)

__all__ = ["ConfigurationError", "LogLevel", "env_name", "load_settings"]

LogLevel = Annotated[
    Literal["CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG"],
    BeforeValidator(lambda value: value.upper() if isinstance(value, str) else value),
]
"""A Python logging level, accepted in any case: a typo stops the service at start, named."""


class ConfigurationError(Exception):
    """The environment does not describe a service that may start; the message names variables."""


def env_name(settings_class: type[BaseSettings], field: str) -> str:
    """The environment variable behind `field` (`GATEWAY_` + `port` -> `GATEWAY_PORT`)."""
    prefix = str(settings_class.model_config.get("env_prefix") or "")
    return f"{prefix}{field.upper()}"


def load_settings(settings_class: type[SettingsT], service: str, **overrides: Any) -> SettingsT:
    """Read and validate the environment (`overrides` win); raise `ConfigurationError` naming
    each bad variable, never its value (it may be a secret)."""
    try:
        return settings_class(**overrides)
    except ValidationError as exc:
        messages = []
        for error in exc.errors(include_input=False, include_url=False):
            if error["loc"]:
                messages.append(f"{env_name(settings_class, str(error['loc'][0]))}: {error['msg']}")
            else:  # a model validator: its message names the variables itself
                messages.append(str(error["msg"]).removeprefix("Value error, "))
        raise ConfigurationError(f"invalid {service} configuration: " + "; ".join(messages)) from None
