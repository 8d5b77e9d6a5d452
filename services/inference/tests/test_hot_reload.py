"""Champion changes picked up in-process: refusals, removal, races with a promoter, one model's
broken pointer next to another's promotion, and a broken champion at start.

The swap under concurrent requests is tested against a real server process
(`integration/test_server.py`): Litestar's test client runs requests one at a time.
"""

from pathlib import Path

import pytest
from inference_support import WINDOW, Rows, Serve, fraud_features, register_champion, train_booster

from contracts.schemas.features import CHURN_FEATURE_NAMES, FRAUD_FEATURE_NAMES
from inference.metrics import Metrics
from inference.models import ModelManager, default_slots
from model_registry import ChecksumMismatchError, LoadedModel, ModelRegistry
from model_registry.registry import MODEL_FILE

pytestmark = pytest.mark.anyio


async def test_a_tampered_new_champion_is_refused_and_the_old_one_keeps_serving(
    serve: Serve, registry: ModelRegistry
) -> None:
    good, rows = train_booster(FRAUD_FEATURE_NAMES, seed=23)
    register_champion(registry, good, rows, name="fraud", feature_set_version="fraud_v1", version="good")
    async with serve() as client:
        models: ModelManager = client.app.state.models
        bad, _ = train_booster(FRAUD_FEATURE_NAMES, seed=24)
        registry.register(
            bad,
            name="fraud",
            feature_set_version="fraud_v1",
            training_window=registry.card("fraud", "good").training_window,
            data_hash="sha256:x",
            code_version="test",
            version="bad",
        )
        registry.promote("fraud", "bad")
        model_file = registry.root / "fraud" / "bad" / MODEL_FILE
        model_file.write_bytes(model_file.read_bytes()[:-8])

        assert await models.refresh() == 0
        response = await client.post("/v1/fraud/score", json={"payment_id": "p", "features": fraud_features(rows[0])})
        assert response.status_code == 200
        assert response.json()["model_version"] == "good"
        assert response.json()["score"] == float(good.inplace_predict(rows[:1])[0])
        metrics = (await client.get("/metrics")).text
        assert 'inference_model_reloads_total{model="fraud",outcome="rejected"} 1.0' in metrics


async def test_removing_the_champion_pointer_returns_to_the_rules_baseline(
    serve: Serve, registry: ModelRegistry
) -> None:
    booster, rows = train_booster(FRAUD_FEATURE_NAMES, seed=25)
    register_champion(registry, booster, rows, name="fraud", feature_set_version="fraud_v1", version="v1")
    async with serve() as client:
        models: ModelManager = client.app.state.models
        registry.champion_path("fraud").unlink()
        assert await models.refresh() == 1
        response = await client.post("/v1/fraud/score", json={"payment_id": "p", "features": fraud_features(rows[0])})
        assert response.json()["model_version"] == "rules-v1"


async def test_a_broken_champion_stops_the_service_at_start(serve: Serve, registry: ModelRegistry) -> None:
    booster, rows = train_booster(FRAUD_FEATURE_NAMES, seed=26)
    register_champion(registry, booster, rows, name="fraud", feature_set_version="fraud_v1", version="v1")
    (registry.root / "fraud" / "v1" / MODEL_FILE).write_bytes(b"tampered")

    with pytest.RaisesGroup(pytest.RaisesExc(ChecksumMismatchError, match="sha256"), flatten_subgroups=True):
        async with serve():
            pass


class _PromotesWhileLoading(ModelRegistry):
    """The real registry, with another promoter acting while this process loads `during`:
    the interleaving a reloader meets when a bad champion is fixed quickly."""

    def __init__(self, root: Path, during: str, promote: str) -> None:
        super().__init__(root)
        self.during, self.then_promote = during, promote

    def load(self, name: str, version: str, *, expected_feature_set: str | None = None) -> LoadedModel:
        if version == self.during:
            self.promote(name, self.then_promote)
        return super().load(name, version, expected_feature_set=expected_feature_set)


def _register(registry: ModelRegistry, seed: int, version: str, name: str = "fraud") -> Rows:
    booster, rows = train_booster(FRAUD_FEATURE_NAMES if name == "fraud" else CHURN_FEATURE_NAMES, seed=seed)
    registry.register(
        booster,
        name=name,
        feature_set_version=f"{name}_v1",
        training_window=WINDOW,
        data_hash="sha256:x",
        code_version="test",
        version=version,
    )
    return rows


async def test_a_fix_promoted_while_a_bad_champion_is_refused_is_picked_up(registry: ModelRegistry) -> None:
    racing = _PromotesWhileLoading(registry.root, during="bad", promote="fix")
    for seed, version in ((31, "good"), (32, "bad"), (33, "fix")):
        _register(racing, seed, version)
    racing.promote("fraud", "good")
    models = ModelManager(racing, default_slots("fraud", "churn"), Metrics())
    models.load_initial()
    racing.promote("fraud", "bad")
    (registry.root / "fraud" / "bad" / MODEL_FILE).write_bytes(b"truncated")

    assert await models.refresh() == 0  # "bad" refused; "fix" was promoted meanwhile
    assert await models.refresh() == 1
    assert models.served("fraud").version == "fix"


async def test_one_models_unreadable_pointer_does_not_stop_the_other_from_reloading(registry: ModelRegistry) -> None:
    models = ModelManager(registry, default_slots("fraud", "churn"), Metrics())
    models.load_initial()
    registry.champion_path("fraud").mkdir(parents=True)  # unreadable as a file
    _register(registry, 34, "c1", name="churn")
    registry.promote("churn", "c1")

    assert await models.refresh() == 1
    assert models.served("churn").version == "c1"
    assert models.served("fraud").version == "rules-v1"
    sample = models.metrics.registry.get_sample_value(
        "inference_model_reloads_total", {"model": "fraud", "outcome": "rejected"}
    )
    assert sample == 1.0


async def test_a_champion_that_cannot_be_read_yet_is_tried_again(registry: ModelRegistry) -> None:
    """An I/O error is not a verdict: a model file that reads again later is then picked up."""
    _register(registry, 36, "v1")
    models = ModelManager(registry, default_slots("fraud", "churn"), Metrics())
    models.load_initial()
    registry.promote("fraud", "v1")
    model_file = registry.root / "fraud" / "v1" / MODEL_FILE
    stored = model_file.read_bytes()
    model_file.unlink()
    model_file.mkdir()  # reading it fails with an OSError, as a flaky mount would

    assert await models.refresh() == 0
    assert models.served("fraud").version == "rules-v1"
    model_file.rmdir()
    model_file.write_bytes(stored)
    assert await models.refresh() == 1
    assert models.served("fraud").version == "v1"
