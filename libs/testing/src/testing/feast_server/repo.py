"""Build, apply and materialize a small Feast feature repo from plain rows."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd  # type: ignore[import-untyped]
from feast import Entity, FeatureService, FeatureStore, FeatureView, Field, FileSource, ValueType
from feast.types import Float64


@dataclass(frozen=True)
class OnlineTable:
    """One feature view: its join keys, float features and the rows to materialize."""

    view: str
    join_keys: tuple[str, ...]
    features: tuple[str, ...]
    rows: Sequence[Mapping[str, Any]]
    event_at: datetime
    ttl: timedelta = timedelta(days=7)


@dataclass(frozen=True)
class FeatureRepo:
    path: Path
    project: str


def _entity_name(join_key: str) -> str:
    return join_key.removesuffix("_id").removesuffix("_fingerprint") or join_key


def build_feature_repo(
    root: Path,
    tables: Sequence[OnlineTable],
    services: Mapping[str, Sequence[str]],
    *,
    project: str = "tests",
) -> FeatureRepo:
    """Write parquet sources and `feature_store.yaml` under `root`, apply, materialize to SQLite."""
    root = root.resolve()
    root.mkdir(parents=True, exist_ok=True)
    (root / "feature_store.yaml").write_text(
        f"project: {project}\n"
        f"registry: {root / 'registry.db'}\n"
        "provider: local\n"
        "offline_store:\n  type: duckdb\n"
        f"online_store:\n  type: sqlite\n  path: {root / 'online.db'}\n"
        "entity_key_serialization_version: 3\n"
    )
    entities: dict[str, Entity] = {}
    views: dict[str, FeatureView] = {}
    for table in tables:
        frame = pd.DataFrame(
            [{**row, "event_timestamp": table.event_at.astimezone(UTC)} for row in table.rows],
            columns=[*table.join_keys, *table.features, "event_timestamp"],
        )
        source_path = root / f"{table.view}.parquet"
        frame.to_parquet(source_path)
        view_entities = []
        for key in table.join_keys:
            if key not in entities:
                entities[key] = Entity(name=_entity_name(key), join_keys=[key], value_type=ValueType.STRING)
            view_entities.append(entities[key])
        views[table.view] = FeatureView(
            name=table.view,
            entities=view_entities,
            ttl=table.ttl,
            schema=[Field(name=name, dtype=Float64) for name in table.features],
            source=FileSource(name=f"{table.view}_source", path=str(source_path), timestamp_field="event_timestamp"),
            online=True,
        )
    feature_services = [
        FeatureService(name=name, features=[views[view] for view in members]) for name, members in services.items()
    ]
    store = FeatureStore(repo_path=str(root))
    store.apply([*entities.values(), *views.values(), *feature_services])
    newest = max(table.event_at for table in tables)
    oldest = min(table.event_at - table.ttl for table in tables)
    store.materialize(start_date=oldest, end_date=newest + timedelta(seconds=1))
    return FeatureRepo(path=root, project=project)
