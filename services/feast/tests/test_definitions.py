"""The repo's definitions against the contracts, and its settings."""

from pathlib import Path

import pytest
from feast import FeatureView, Field
from feast.types import Float64

from contracts.schemas.features import CHURN_FEATURE_NAMES, FRAUD_FEATURE_NAMES
from contracts.schemas.no_history import FRAUD_CONTEXT_FEATURES
from contracts.schemas.velocity import VELOCITY_FEATURE_NAMES
from feature_repo import cli
from feature_repo.definitions import VELOCITY_PUSH_SOURCES, VELOCITY_VIEWS, build_repo, card, served_features
from feature_repo.settings import ConfigurationError, load_settings
from feature_repo.store import open_store, store_config


def test_fraud_v1_serves_exactly_the_contracts_features_minus_the_context(tmp_path: Path) -> None:
    repo = build_repo(load_settings(root=tmp_path))
    served = served_features(repo.services["fraud_v1"])
    assert sorted(served) == sorted(set(FRAUD_FEATURE_NAMES) - set(FRAUD_CONTEXT_FEATURES))
    assert len(served) == len(set(served)) == 13


def test_the_streamed_features_have_one_view_each_and_it_is_in_fraud_v1(tmp_path: Path) -> None:
    repo = build_repo(load_settings(root=tmp_path))
    for entity, names in VELOCITY_FEATURE_NAMES.items():
        view = repo.views[VELOCITY_VIEWS[entity]]
        assert [feature.name for feature in view.features] == list(names)
        # Pushed through its push source, materialized from dbt's fraud table like the batch views.
        assert view.stream_source is not None and view.stream_source.name == VELOCITY_PUSH_SOURCES[entity]
        assert getattr(view.batch_source, "path", None) == str(tmp_path / "data" / "fraud_features.parquet")
    in_fraud_v1 = [p.name for p in repo.services["fraud_v1"].feature_view_projections]
    assert set(VELOCITY_VIEWS.values()) <= set(in_fraud_v1)
    streamed = {name for names in VELOCITY_FEATURE_NAMES.values() for name in names}
    holders = [(f.name, view.name) for view in repo.views.values() for f in view.features if f.name in streamed]
    assert sorted(holders) == sorted(
        (name, VELOCITY_VIEWS[entity]) for entity, names in VELOCITY_FEATURE_NAMES.items() for name in names
    )  # no second view of a streamed feature


def test_churn_v1_serves_exactly_the_churn_features(tmp_path: Path) -> None:
    repo = build_repo(load_settings(root=tmp_path))
    assert served_features(repo.services["churn_v1"]) == list(CHURN_FEATURE_NAMES)


def test_every_path_is_absolute_even_from_a_relative_setting(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(root=Path("repo"))
    assert settings.root == tmp_path / "repo"
    config = store_config(settings)
    assert config["registry"] == {
        "registry_type": "file",
        "path": str(tmp_path / "repo" / "registry.db"),
        "cache_ttl_seconds": 5,
    }
    assert config["online_store"] == {"type": "sqlite", "path": str(tmp_path / "repo" / "online.db")}
    for view in build_repo(settings).views.values():
        path = getattr(view.batch_source, "path", None) or view.stream_source.batch_source.path  # type: ignore[union-attr]
        assert Path(path).is_absolute(), view.name


def test_redis_and_a_sql_registry_are_chosen_by_settings(tmp_path: Path) -> None:
    settings = load_settings(
        root=tmp_path,
        online_store="redis",
        redis_connection_string="redis:6379",
        registry_type="sql",
        registry_url="postgresql://feast@db/feast",
    )
    config = store_config(settings)
    assert config["online_store"] == {"type": "redis", "connection_string": "redis:6379"}
    assert config["registry"] == {
        "registry_type": "sql",
        "path": "postgresql://feast@db/feast",
        "cache_ttl_seconds": 60,
    }


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("FEATURE_REPO_ONLINE_STORE", "redis", "FEATURE_REPO_REDIS_CONNECTION_STRING"),
        ("FEATURE_REPO_REGISTRY_TYPE", "sql", "FEATURE_REPO_REGISTRY_URL"),
        ("FEATURE_REPO_PORT", "0", "FEATURE_REPO_PORT"),
        ("FEATURE_REPO_PROJECT", "Bad Name", "FEATURE_REPO_PROJECT"),
    ],
)
def test_a_setting_that_cannot_work_stops_the_start_naming_it(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError, match=message):
        load_settings()


def test_apply_deletes_the_views_the_repo_no_longer_defines(tmp_path: Path) -> None:
    settings = load_settings(root=tmp_path)
    repo = build_repo(settings)
    # The registry of an earlier release: a `*_velocity_fresh` view beside today's.
    fresh = FeatureView(
        name="card_velocity_fresh",
        entities=[card],
        ttl=settings.ttl,
        schema=[Field(name="card_txn_count_1h", dtype=Float64)],
        source=repo.push_sources["card"],
    )
    open_store(settings).apply([*repo.objects(), fresh])  # type: ignore[list-item]  # Repo.objects() is typed loosely
    assert "card_velocity_fresh" in {view.name for view in open_store(settings).list_feature_views()}

    assert cli.apply(settings)["feature_views_deleted"] == 1
    assert sorted(view.name for view in open_store(settings).list_feature_views()) == sorted(repo.views)
    assert cli.apply(settings)["feature_views_deleted"] == 0  # nothing left to delete
