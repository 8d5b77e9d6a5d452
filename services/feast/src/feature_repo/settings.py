"""The feature repo's configuration: `FEATURE_REPO_*` environment variables, validated once.

Every path is made absolute here: Feast resolves `FileSource` paths against the current directory
at query time, so a relative path would read another file once the server runs elsewhere.
"""

from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

import service_config
from service_config import ConfigurationError, LogLevel

__all__ = ["ConfigurationError", "FeatureRepoSettings", "get_settings", "load_settings"]

ENV_PREFIX = "FEATURE_REPO_"


class FeatureRepoSettings(BaseSettings):
    """Configuration read from `FEATURE_REPO_*` variables (field `x` is `FEATURE_REPO_X`)."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        case_sensitive=False,
        frozen=True,
        extra="ignore",
        use_attribute_docstrings=True,
    )

    root: Path = Path(".state/feature_repo")
    """Folder of the generated `feature_store.yaml`, the file registry and the SQLite online store."""
    data_dir: Path | None = None
    """Folder of the offline parquet tables exported from the warehouse (default `<root>/data`)."""
    warehouse_path: Path | None = None
    """The dbt DuckDB file whose `fraud_features` and `churn_features` tables `export` copies."""
    project: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,62}$")] = "payments"
    """Feast project name."""
    online_store: Literal["sqlite", "redis"] = "sqlite"
    """Online store type: `sqlite` (a file under root) or `redis`."""
    redis_connection_string: str | None = None
    """Redis connection string (`host:port,db=0`), required when `online_store` is `redis`."""
    registry_type: Literal["file", "sql"] = "file"
    """Registry type: `file` (under root) or `sql`."""
    registry_url: str | None = None
    """SQLAlchemy URL of the SQL registry, required when `registry_type` is `sql`."""
    ttl_seconds: Annotated[int, Field(ge=0)] = 0
    """How long a stored feature value stays servable; 0 keeps it until a newer row replaces it."""
    host: str = "127.0.0.1"
    """Interface the feature server binds (the image sets 0.0.0.0)."""
    port: Annotated[int, Field(ge=1, le=65535)] = 6566
    """TCP port of the feature server."""
    kafka_bootstrap_servers: str | None = None
    """Kafka brokers, `host:port[,host:port...]`: required by the push consumer."""
    push_group_id: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9._-]+$")] = (
        "feature-repo-push"
    )
    """Consumer group of the push consumer (offsets committed after each push)."""
    push_batch_size: Annotated[int, Field(ge=1, le=50_000)] = 1000
    """Most velocity records the push consumer pushes at once."""
    push_poll_seconds: Annotated[float, Field(gt=0, le=30)] = 0.5
    """Longest the push consumer waits to fill a batch."""
    push_port: Annotated[int, Field(ge=1, le=65535)] = 6567
    """TCP port of the push consumer's `/healthz` and `/readyz` (on `FEATURE_REPO_HOST`)."""
    log_level: LogLevel = "INFO"
    """Python logging level."""

    @field_validator("root", "data_dir", "warehouse_path")
    @classmethod
    def _absolute(cls, value: Path | None) -> Path | None:
        return None if value is None else value.expanduser().resolve()

    @model_validator(mode="after")
    def _selected_backends_are_configured(self) -> "FeatureRepoSettings":
        if self.online_store == "redis" and not self.redis_connection_string:
            raise ValueError(f"{ENV_PREFIX}REDIS_CONNECTION_STRING is required with {ENV_PREFIX}ONLINE_STORE=redis")
        if self.registry_type == "sql" and not self.registry_url:
            raise ValueError(f"{ENV_PREFIX}REGISTRY_URL is required with {ENV_PREFIX}REGISTRY_TYPE=sql")
        return self

    @property
    def offline_dir(self) -> Path:
        return self.data_dir or self.root / "data"

    @property
    def ttl(self) -> timedelta:
        return timedelta(seconds=self.ttl_seconds)


def load_settings(**overrides: Any) -> FeatureRepoSettings:
    """Read and validate the environment; raise `ConfigurationError` naming the bad variables."""
    return service_config.load_settings(FeatureRepoSettings, "feature_repo", **overrides)


@cache
def get_settings() -> FeatureRepoSettings:
    return load_settings()
