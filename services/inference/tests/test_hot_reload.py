"""Champion changes picked up in-process: refusals, removal, and a broken champion at start.

The swap under concurrent requests is tested against a real server process
(`integration/test_server.py`): Litestar's test client runs requests one at a time.
"""

import pytest
from inference_support import Serve, fraud_features, register_champion, train_booster

from contracts.schemas.features import FRAUD_FEATURE_NAMES
from inference.models import ModelManager
from model_registry import ChecksumMismatchError, ModelRegistry
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
