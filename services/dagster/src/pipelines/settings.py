"""The code location's settings: `PIPELINES_*` environment variables, read once at load.

A missing or malformed variable stops the code location at load with a message naming it
(`service_config.load_settings`).
"""

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field
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
    """The dbt project; its manifest is parsed into `dbt_target_dir` at load when missing."""
    dbt_target_dir: Path | None = None
    """dbt's target folder (manifest, run results); default `<dbt_project_dir>/target`."""
    label_maturity_days: Annotated[int, Field(ge=0)] = 60
    """Payments younger than this have no final label yet and are left out of training."""
    seed: int = 7


def load_pipelines_settings() -> PipelinesSettings:
    return load_settings(PipelinesSettings, "pipelines")
