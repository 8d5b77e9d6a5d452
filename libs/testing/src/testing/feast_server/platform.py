"""The platform's own feature repo (`services/feast`, package `feature_repo`) with given rows.

Rows are written as the dbt feature tables would be (`fraud_features`, `churn_features`, one
timestamp for all), then applied and materialized through `feature_repo`'s definitions: tests
that serve it read exactly the views and feature services production serves.
"""

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd  # type: ignore[import-untyped]

from feature_repo.definitions import CHURN_TABLE, FRAUD_TABLE, TIMESTAMP, build_repo, table_path
from feature_repo.settings import load_settings
from feature_repo.store import open_store
from testing.feast_server.repo import FeatureRepo


def build_platform_repo(
    root: Path,
    fraud_rows: Sequence[Mapping[str, Any]],
    churn_rows: Sequence[Mapping[str, Any]],
    event_at: datetime,
    *,
    project: str = "tests",
) -> FeatureRepo:
    """Write the two tables under `root`, apply the platform repo and materialize it to SQLite."""
    settings = load_settings(root=root, project=project)
    settings.offline_dir.mkdir(parents=True, exist_ok=True)
    stamp = event_at.astimezone(UTC)
    for table, rows in ((FRAUD_TABLE, fraud_rows), (CHURN_TABLE, churn_rows)):
        pd.DataFrame([{**row, TIMESTAMP: stamp} for row in rows]).to_parquet(table_path(settings, table))
    store = open_store(settings)
    store.apply(build_repo(settings).objects())  # type: ignore[arg-type]
    store.materialize(start_date=stamp - timedelta(days=1), end_date=stamp + timedelta(seconds=1))
    return FeatureRepo(path=settings.root, project=project)
