"""The inference service's configuration: `INFERENCE_*` environment variables, validated once.

Every field's docstring is its description; the README's configuration table is checked against
this class by `tests/test_readme.py`.
"""

from functools import cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

import service_config
from model_registry.card import ModelName
from service_config import ConfigurationError, LogLevel

__all__ = ["ConfigurationError", "InferenceSettings", "get_settings", "load_settings"]

ENV_PREFIX = "INFERENCE_"


class InferenceSettings(BaseSettings):
    """Configuration read from `INFERENCE_*` variables (field `x` is `INFERENCE_X`)."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        case_sensitive=False,
        frozen=True,
        extra="ignore",
        use_attribute_docstrings=True,
    )

    # -- server -------------------------------------------------------------------------------
    host: str = "127.0.0.1"
    """Interface the server binds (the container image sets 0.0.0.0)."""
    port: Annotated[int, Field(ge=1, le=65535)] = 8001
    """TCP port of the HTTP server."""
    log_level: LogLevel = "INFO"
    """Python logging level: CRITICAL, ERROR, WARNING, INFO or DEBUG (any case)."""
    access_log: bool = False
    """Log every request (method, path, status) as a JSON line (off by default: it costs latency at
    thousands of requests/s)."""
    max_body_bytes: Annotated[int, Field(ge=1024, le=64 * 1024 * 1024)] = 16 * 1024 * 1024
    """Largest request body accepted (a 10,000-row batch with full feature vectors is ~7 MB)."""

    # -- models -------------------------------------------------------------------------------
    registry_root: Path = Path(".state/model-registry")
    """Root of the model registry (`<model>/<version>/...`, `<model>/champion.json`). When set, the
    directory must exist: a registry volume that is not mounted must not quietly serve the rules."""
    fraud_model: ModelName = "fraud"
    """Registry name of the fraud model."""
    churn_model: ModelName = "churn"
    """Registry name of the churn model."""
    reload_interval_seconds: Annotated[float, Field(gt=0, le=3600)] = 5.0
    """How often the champion pointers are checked; a new champion is loaded, verified and swapped in."""

    # -- Feast --------------------------------------------------------------------------------
    feast_url: str = "http://127.0.0.1:6566"
    """Base URL of the Feast feature server (`POST {url}/get-online-features`)."""
    feast_timeout_seconds: Annotated[float, Field(gt=0, le=60)] = 1.0
    """Deadline of one online-feature lookup; past it the request fails with 503."""
    feast_max_entities_per_lookup: Annotated[int, Field(ge=1, le=10_000)] = 500
    """Entity rows per request to Feast: a larger lookup (a batch) goes out in slices, four at a
    time, each with the whole deadline (Feast answers ~170 us per row on SQLite here)."""
    feast_fraud_feature_service: str = "fraud_v1"
    """Feast feature service read for fraud requests that carry entity ids instead of features."""
    feast_churn_feature_service: str = "churn_v1"
    """Feast feature service read for churn requests without features."""
    retry_after_seconds: Annotated[int, Field(ge=1, le=3600)] = 2
    """`Retry-After` sent with 503 when the feature server is unavailable."""

    @model_validator(mode="after")
    def _set_registry_root_exists(self) -> "InferenceSettings":
        # Only when the variable is set: the local default may be absent (an empty registry).
        if "registry_root" in self.model_fields_set and not self.registry_root.is_dir():
            raise ValueError(
                f"{ENV_PREFIX}REGISTRY_ROOT is not a directory (create it for an empty registry, or mount the registry)"
            )
        return self

    @field_validator("feast_url")
    @classmethod
    def _http_url_without_trailing_slash(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
            raise ValueError("must be an http(s) base URL such as http://feast:6566")
        return value.rstrip("/")


def load_settings(**overrides: Any) -> InferenceSettings:
    """Read and validate the environment; raise `ConfigurationError` naming the bad variables."""
    return service_config.load_settings(InferenceSettings, "inference", **overrides)


@cache
def get_settings() -> InferenceSettings:
    """The process-wide settings, read once."""
    return load_settings()
