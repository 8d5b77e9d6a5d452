"""The code location's settings: `PIPELINES_*` environment variables, read once at load.

A missing or malformed variable stops the code location at load with a message naming it
(`service_config.load_settings`).
"""

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from service_config import load_settings


class PipelinesSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PIPELINES_", extra="ignore")

    deployment: Literal["local", "test"] = "local"
    """Which resource set `definitions.py` builds."""
    store_dsn: Annotated[str, Field(min_length=1)]
    """SQLAlchemy URL of the payments store: `sqlite:////path/store.db` or `postgresql+psycopg://...`."""
    warehouse_path: Path
    """The DuckDB file holding the bronze tables and every dbt model (dbt reads it too)."""
    registry_root: Path
    """Root of the model registry (`libs/model_registry`) that inference serves from."""
    dbt_project_dir: Path = Path("dbt")
    """The dbt project; parsed at load into `dbt_target_dir`/parse-<hash of the project> when that is new."""
    dbt_target_dir: Path | None = None
    """dbt's folder: the parse folders and one build folder per run (`runs/<run id>`); default `<dbt_project_dir>/target`."""
    label_maturity_days: Annotated[int, Field(ge=0)] = 60
    """Payments younger than this have no final label yet and are left out of training."""
    churn_horizon_days: Annotated[int, Field(ge=1)] = 45
    """A customer with no payment for this long after one has churned (the churn model's label)."""
    seed: int = 7
    training_threads: Annotated[int, Field(ge=1)] | None = None
    """XGBoost's threads; unset: the CPUs the process may use (affinity, capped by the cgroup CPU
    quota). The trained bytes do not depend on it."""
    feature_repo_command: str | None = None
    """How to start the Feast feature repo CLI (`python3.11 dist/services.feast/feature-repo.pex`);
    with `feature_repo_root`, adds the `features` assets (export, apply, materialize). Unset: no
    Feast assets in the definitions."""
    feature_repo_root: Path | None = None
    """The feature repo's `FEATURE_REPO_ROOT` (feature_store.yaml, registry, online store, parquet)."""

    @model_validator(mode="after")
    def _feature_repo_both_or_neither(self) -> "PipelinesSettings":
        if (self.feature_repo_command is None) != (self.feature_repo_root is None):
            raise ValueError(
                "PIPELINES_FEATURE_REPO_COMMAND and PIPELINES_FEATURE_REPO_ROOT go together: set both or neither"
            )
        if self.feature_repo_command is not None and not self.feature_repo_command.strip():
            raise ValueError("PIPELINES_FEATURE_REPO_COMMAND is empty")
        return self

    @property
    def feast_enabled(self) -> bool:
        return self.feature_repo_command is not None and self.feature_repo_root is not None


def load_pipelines_settings() -> PipelinesSettings:
    return load_settings(PipelinesSettings, "pipelines")
