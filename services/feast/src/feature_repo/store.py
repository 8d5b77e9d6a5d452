"""`feature_store.yaml` written from the settings, and the Feast store opened on it."""

import json
import os
from pathlib import Path

from feast import FeatureStore

from feature_repo.settings import FeatureRepoSettings


def store_config(settings: FeatureRepoSettings) -> dict[str, object]:
    root = settings.root
    registry: object
    if settings.registry_type == "sql":
        registry = {"registry_type": "sql", "path": settings.registry_url, "cache_ttl_seconds": 60}
    else:
        registry = {"registry_type": "file", "path": str(root / "registry.db"), "cache_ttl_seconds": 5}
    online: dict[str, object]
    if settings.online_store == "redis":
        online = {"type": "redis", "connection_string": settings.redis_connection_string}
    else:
        online = {"type": "sqlite", "path": str(root / "online.db")}
    return {
        "project": settings.project,
        "registry": registry,
        "provider": "local",
        "offline_store": {"type": "duckdb"},
        "online_store": online,
        "entity_key_serialization_version": 3,
    }


def write_config(settings: FeatureRepoSettings) -> Path:
    settings.root.mkdir(parents=True, exist_ok=True)
    path = settings.root / "feature_store.yaml"
    # JSON is YAML: Feast reads it with its YAML loader. Written beside and renamed over, because
    # the server and the push consumer share this folder and rewrite it at every start: a reader
    # sees the old file or the new one, never half of one.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(store_config(settings), indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def open_store(settings: FeatureRepoSettings) -> FeatureStore:
    write_config(settings)
    return FeatureStore(repo_path=str(settings.root))
