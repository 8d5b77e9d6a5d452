import json
import shutil
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xgboost as xgb

from contracts.schemas.features import CHURN_FEATURE_NAMES, FRAUD_FEATURE_NAMES, FRAUD_FEATURE_SET_VERSION
from model_registry import (
    ChecksumMismatchError,
    CorruptModelError,
    FeatureSetMismatchError,
    InvalidCardError,
    InvalidNameError,
    ModelNotFoundError,
    ModelRegistry,
    VersionExistsError,
    dataset_hash,
    sha256_hex,
)
from model_registry.card import ChampionPointer, TrainingWindow
from model_registry.registry import CARD_FILE, CHECKSUMS_FILE, MODEL_FILE

Trained = tuple[xgb.Booster, np.ndarray]
Trainer = Callable[[tuple[str, ...], int], Trained]
WINDOW = TrainingWindow(start=datetime(2025, 1, 1, tzinfo=UTC), end=datetime(2025, 3, 1, tzinfo=UTC))


def train(feature_names: tuple[str, ...], seed: int, rounds: int = 5, *, named: bool = True) -> Trained:
    rng = np.random.default_rng(seed)
    x = rng.random((300, len(feature_names)), dtype=np.float32)
    y = (x[:, 0] + x[:, 1] > 1.0).astype(np.float32)
    data = xgb.DMatrix(x, label=y, feature_names=list(feature_names) if named else None)
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 3, "nthread": 1}, data, rounds)
    return booster, x


@pytest.fixture()
def registry(tmp_path: Path) -> ModelRegistry:
    return ModelRegistry(tmp_path / "registry")


@pytest.fixture()
def trainer() -> Trainer:
    """Trains a small binary:logistic booster on synthetic rows: (feature names, seed) -> (booster, rows)."""
    return train


@pytest.fixture()
def fraud_booster() -> Trained:
    return train(FRAUD_FEATURE_NAMES, seed=1)


@pytest.fixture()
def churn_booster() -> Trained:
    return train(CHURN_FEATURE_NAMES, seed=2)


def _register(registry: ModelRegistry, booster: xgb.Booster, version: str | None = None, name: str = "fraud") -> str:
    card = registry.register(
        booster,
        name=name,
        feature_set_version=FRAUD_FEATURE_SET_VERSION,
        training_window=WINDOW,
        data_hash="sha256:" + "0" * 64,
        code_version="0123abcd",
        metrics={"auc": 0.91, "average_precision": 0.42},
        version=version,
    )
    return card.version


def test_register_promote_and_load_round_trip(registry: ModelRegistry, fraud_booster: Trained) -> None:
    booster, x = fraud_booster
    version = _register(registry, booster)

    assert registry.champion("fraud") is None
    assert registry.load_champion("fraud") is None
    pointer = registry.promote("fraud", version)
    assert pointer.version == version and pointer.previous is None
    assert registry.champion("fraud") == version

    loaded = registry.load("fraud", version, expected_feature_set=FRAUD_FEATURE_SET_VERSION)
    assert loaded.card.feature_names == FRAUD_FEATURE_NAMES
    assert loaded.card.metrics == {"auc": 0.91, "average_precision": 0.42}
    assert loaded.card.code_version == "0123abcd"
    assert loaded.card.training_window == WINDOW
    np.testing.assert_array_equal(loaded.booster.inplace_predict(x), booster.inplace_predict(x))
    assert [card.version for card in registry.list("fraud")] == [version]
    assert [card.version for card in registry.list()] == [version]


def test_layout_holds_booster_card_and_checksums(registry: ModelRegistry, fraud_booster: Trained) -> None:
    version = _register(registry, fraud_booster[0], version="v1")
    version_dir = registry.root / "fraud" / version
    assert sorted(p.name for p in version_dir.iterdir()) == sorted([MODEL_FILE, CARD_FILE, CHECKSUMS_FILE])
    checksums = json.loads((version_dir / CHECKSUMS_FILE).read_text())
    assert checksums["algorithm"] == "sha256"
    for name in (MODEL_FILE, CARD_FILE):
        assert checksums["files"][name] == sha256_hex((version_dir / name).read_bytes())
    card = json.loads((version_dir / CARD_FILE).read_text())
    assert card["feature_set_version"] == "fraud_v1"
    assert card["feature_names"] == list(FRAUD_FEATURE_NAMES)
    assert {"training_window", "metrics", "data_hash", "code_version", "created_at"} <= card.keys()


def test_second_promotion_records_the_previous_champion(
    registry: ModelRegistry, fraud_booster: Trained, trainer: Trainer
) -> None:
    first = _register(registry, fraud_booster[0], version="v1")
    second = _register(registry, trainer(FRAUD_FEATURE_NAMES, 9)[0], version="v2")
    registry.promote("fraud", first)
    pointer = registry.promote("fraud", second)
    assert (pointer.version, pointer.previous) == (second, first)
    assert [card.version for card in registry.list("fraud")] == [first, second]
    # A retried promotion (an orchestrator retrying its step) keeps the rollback target.
    assert registry.promote("fraud", second) == pointer == registry.champion_pointer("fraud")


def test_refuses_a_tampered_booster(registry: ModelRegistry, fraud_booster: Trained) -> None:
    version = _register(registry, fraud_booster[0])
    path = registry.root / "fraud" / version / MODEL_FILE
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))

    with pytest.raises(ChecksumMismatchError, match="sha256") as refused:
        registry.load("fraud", version)
    assert refused.value.reason == "checksum_mismatch"
    assert refused.value.path.endswith(MODEL_FILE)


def test_refuses_a_tampered_card(registry: ModelRegistry, fraud_booster: Trained) -> None:
    version = _register(registry, fraud_booster[0])
    path = registry.root / "fraud" / version / CARD_FILE
    path.write_text(path.read_text().replace('"auc": 0.91', '"auc": 0.99'))

    with pytest.raises(ChecksumMismatchError):
        registry.load("fraud", version)
    with pytest.raises(ChecksumMismatchError):
        registry.list("fraud")


def test_refuses_to_promote_a_tampered_version(
    registry: ModelRegistry, fraud_booster: Trained, trainer: Trainer
) -> None:
    good = _register(registry, fraud_booster[0], version="good")
    bad = _register(registry, trainer(FRAUD_FEATURE_NAMES, 5)[0], version="bad")
    registry.promote("fraud", good)
    (registry.root / "fraud" / bad / MODEL_FILE).write_bytes(b"not a model")

    with pytest.raises(ChecksumMismatchError):
        registry.promote("fraud", bad)
    assert registry.champion("fraud") == good


def _rewrite_card(registry: ModelRegistry, version: str, **changes: object) -> None:
    """What a model registered under an older contracts release looks like: a consistent
    directory (checksums match) whose card names another feature list."""
    version_dir = registry.root / "fraud" / version
    card = json.loads((version_dir / CARD_FILE).read_text())
    card.update(changes)
    card_bytes = json.dumps(card).encode()
    (version_dir / CARD_FILE).write_bytes(card_bytes)
    checksums = json.loads((version_dir / CHECKSUMS_FILE).read_text())
    checksums["files"][CARD_FILE] = sha256_hex(card_bytes)
    (version_dir / CHECKSUMS_FILE).write_text(json.dumps(checksums))


def test_refuses_a_card_whose_features_are_not_the_contract_set(
    registry: ModelRegistry, fraud_booster: Trained
) -> None:
    version = _register(registry, fraud_booster[0])
    reordered = list(FRAUD_FEATURE_NAMES)
    reordered[0], reordered[1] = reordered[1], reordered[0]
    _rewrite_card(registry, version, feature_names=reordered)

    with pytest.raises(FeatureSetMismatchError, match="another order"):
        registry.load("fraud", version)
    with pytest.raises(FeatureSetMismatchError):
        registry.promote("fraud", version)
    assert registry.champion("fraud") is None


def test_refuses_a_card_with_a_renamed_feature(registry: ModelRegistry, fraud_booster: Trained) -> None:
    version = _register(registry, fraud_booster[0])
    renamed = ["customer_txn_count_30d" if name == "customer_txn_count_24h" else name for name in FRAUD_FEATURE_NAMES]
    _rewrite_card(registry, version, feature_names=renamed)

    with pytest.raises(FeatureSetMismatchError, match="customer_txn_count_24h"):
        registry.load("fraud", version)


def test_refuses_a_feature_set_version_contracts_does_not_define(
    registry: ModelRegistry, fraud_booster: Trained
) -> None:
    version = _register(registry, fraud_booster[0])
    _rewrite_card(registry, version, feature_set_version="fraud_v0")
    with pytest.raises(FeatureSetMismatchError, match="fraud_v0"):
        registry.load("fraud", version)
    with pytest.raises(FeatureSetMismatchError):
        registry.register(
            fraud_booster[0],
            name="fraud",
            feature_set_version="fraud_v0",
            training_window=WINDOW,
            data_hash="sha256:x",
            code_version="abc",
        )


def test_refuses_a_model_for_another_feature_set_than_the_caller_serves(
    registry: ModelRegistry, fraud_booster: Trained
) -> None:
    version = _register(registry, fraud_booster[0])
    with pytest.raises(FeatureSetMismatchError, match="churn_v1"):
        registry.load("fraud", version, expected_feature_set="churn_v1")


def test_refuses_to_register_a_booster_of_another_width(registry: ModelRegistry, churn_booster: Trained) -> None:
    with pytest.raises(FeatureSetMismatchError, match="features"):
        _register(registry, churn_booster[0])
    assert registry.versions("fraud") == []


def test_versions_are_immutable(registry: ModelRegistry, fraud_booster: Trained, trainer: Trainer) -> None:
    _register(registry, fraud_booster[0], version="v1")
    with pytest.raises(VersionExistsError):
        _register(registry, trainer(FRAUD_FEATURE_NAMES, 3)[0], version="v1")


def test_unknown_versions_are_not_found(registry: ModelRegistry) -> None:
    with pytest.raises(ModelNotFoundError):
        registry.load("fraud", "v404")
    with pytest.raises(ModelNotFoundError):
        registry.promote("fraud", "v404")
    assert registry.list() == []


def test_staging_leftovers_are_not_listed(registry: ModelRegistry, fraud_booster: Trained) -> None:
    version = _register(registry, fraud_booster[0])
    (registry.root / "fraud" / ".staging-crashed").mkdir()
    assert registry.versions("fraud") == [version]


def test_readers_never_see_a_torn_champion_pointer(
    registry: ModelRegistry, fraud_booster: Trained, trainer: Trainer
) -> None:
    versions = [
        _register(registry, fraud_booster[0], version="a"),
        _register(registry, trainer(FRAUD_FEATURE_NAMES, 4)[0], version="b"),
    ]
    registry.promote("fraud", versions[0])
    seen: list[str | None] = []
    failures: list[BaseException] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            try:
                seen.append(registry.champion("fraud"))
            except BaseException as error:  # noqa: BLE001 (collected and asserted below)
                failures.append(error)

    readers = [threading.Thread(target=read) for _ in range(2)]
    for reader in readers:
        reader.start()
    for i in range(60):
        registry.promote("fraud", versions[i % 2])
    stop.set()
    for reader in readers:
        reader.join()
    assert failures == []
    assert set(seen) <= set(versions) and seen
    assert not [p for p in (registry.root / "fraud").iterdir() if p.name.endswith(".tmp")]


def test_dataset_hash_identifies_the_rows() -> None:
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    y = np.array([0, 1, 0], dtype=np.float32)
    assert dataset_hash(x, y) == dataset_hash(x.copy(), y.copy())
    assert dataset_hash(x, y) != dataset_hash(x, 1 - y)
    assert dataset_hash(x, y).startswith("sha256:")


def test_registry_root_may_not_exist_yet(tmp_path: Path) -> None:
    registry = ModelRegistry(tmp_path / "nowhere")
    assert registry.names() == []
    assert registry.champion("fraud") is None


def test_the_champion_pointer_is_as_readable_as_the_versions(registry: ModelRegistry, fraud_booster: Trained) -> None:
    """The promoting job and the serving process may run as different users on one volume."""
    version = _register(registry, fraud_booster[0])
    registry.promote("fraud", version)
    model_mode = (registry.root / "fraud" / version / MODEL_FILE).stat().st_mode & 0o777
    assert registry.champion_path("fraud").stat().st_mode & 0o777 == model_mode


def test_refuses_a_version_named_like_a_registry_file(registry: ModelRegistry, fraud_booster: Trained) -> None:
    with pytest.raises(InvalidNameError, match="reserved"):
        _register(registry, fraud_booster[0], version="champion.json")
    version = _register(registry, fraud_booster[0])
    registry.promote("fraud", version)
    assert registry.champion("fraud") == version


@pytest.mark.parametrize(
    "document", ["[]", "null", '{"algorithm": "md5", "files": {}}', "{", '{"algorithm": "sha256"}']
)
def test_refuses_unreadable_checksums(registry: ModelRegistry, fraud_booster: Trained, document: str) -> None:
    version = _register(registry, fraud_booster[0])
    (registry.root / "fraud" / version / CHECKSUMS_FILE).write_text(document)
    with pytest.raises(CorruptModelError, match="checksums"):
        registry.load("fraud", version)


@pytest.mark.parametrize("missing", [CHECKSUMS_FILE, CARD_FILE, MODEL_FILE])
def test_refuses_a_version_missing_a_file(registry: ModelRegistry, fraud_booster: Trained, missing: str) -> None:
    version = _register(registry, fraud_booster[0])
    (registry.root / "fraud" / version / missing).unlink()
    with pytest.raises(CorruptModelError, match=missing):
        registry.load("fraud", version)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "unreadable champion pointer"),
        ('{"name": "churn", "version": "v1", "promoted_at": "2026-01-01T00:00:00Z"}', "names churn"),
        ('{"name": "fraud", "version": "v1", "promoted_at": "2026-01-01T00:00:00"}', "unreadable champion pointer"),
    ],
)
def test_refuses_an_invalid_champion_pointer(
    registry: ModelRegistry, fraud_booster: Trained, content: str, message: str
) -> None:
    _register(registry, fraud_booster[0], version="v1")
    registry.champion_path("fraud").write_text(content)
    with pytest.raises(CorruptModelError, match=message):
        registry.champion("fraud")


def test_an_unreadable_champion_pointer_is_a_registry_error(registry: ModelRegistry, fraud_booster: Trained) -> None:
    version = _register(registry, fraud_booster[0])
    registry.promote("fraud", version)
    registry.champion_path("fraud").unlink()
    registry.champion_path("fraud").mkdir()  # what any OSError but "not found" looks like to a reader
    with pytest.raises(CorruptModelError, match="unreadable champion pointer"):
        registry.load_champion("fraud")


def test_a_champion_whose_version_was_deleted_is_not_found(registry: ModelRegistry, fraud_booster: Trained) -> None:
    version = _register(registry, fraud_booster[0])
    registry.promote("fraud", version)
    shutil.rmtree(registry.root / "fraud" / version)
    with pytest.raises(ModelNotFoundError, match=version):
        registry.load_champion("fraud")


def test_refuses_invalid_model_names(registry: ModelRegistry, fraud_booster: Trained) -> None:
    for name in ("../fraud", "Fraud", "", "fraud/v1"):
        with pytest.raises(InvalidNameError):
            _register(registry, fraud_booster[0], name=name)
    with pytest.raises(InvalidNameError):
        registry.load("fraud", "../../etc")


@pytest.mark.parametrize(
    ("mistake", "message"),
    [
        ({"created_at": datetime(2025, 5, 1, 12, 0)}, "timezone"),  # naive: local time of whichever machine ran it
        ({"metrics": {"auc": float("nan")}}, "auc"),  # e.g. AUC on a one-class holdout
    ],
)
def test_refuses_a_card_the_caller_got_wrong(
    registry: ModelRegistry, fraud_booster: Trained, mistake: dict[str, Any], message: str
) -> None:
    """A caller's mistake is an invalid card, not a corrupt model."""
    with pytest.raises(InvalidCardError, match=message):
        registry.register(
            fraud_booster[0],
            name="fraud",
            feature_set_version=FRAUD_FEATURE_SET_VERSION,
            training_window=WINDOW,
            data_hash="sha256:x",
            code_version="abc",
            **mistake,
        )
    assert registry.versions("fraud") == []


def test_two_writers_of_one_version_cannot_both_win(registry: ModelRegistry, trainer: Trainer) -> None:
    boosters = [trainer(FRAUD_FEATURE_NAMES, seed)[0] for seed in (11, 12)]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def write(booster: xgb.Booster) -> None:
        barrier.wait()
        try:
            outcomes.append(_register(registry, booster, version="v1"))
        except VersionExistsError:
            outcomes.append("refused")

    writers = [threading.Thread(target=write, args=(booster,)) for booster in boosters]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    assert sorted(outcomes) == ["refused", "v1"]
    loaded = registry.load("fraud", "v1")
    assert loaded.model_sha256 in {sha256_hex(bytes(b.save_raw(raw_format="ubj"))) for b in boosters}
    assert not [p for p in (registry.root / "fraud").iterdir() if p.name.startswith(".staging-")]


def test_refuses_a_booster_that_does_not_name_its_features(registry: ModelRegistry) -> None:
    """Only the width of an unnamed booster could be checked: its card would vouch for an order
    nobody compared."""
    booster, _ = train(FRAUD_FEATURE_NAMES, seed=13, named=False)
    with pytest.raises(FeatureSetMismatchError, match="does not name its features"):
        _register(registry, booster)
    assert registry.versions("fraud") == []


def test_refuses_a_booster_trained_on_columns_in_another_order(registry: ModelRegistry) -> None:
    swapped = (FRAUD_FEATURE_NAMES[1], FRAUD_FEATURE_NAMES[0], *FRAUD_FEATURE_NAMES[2:])
    booster, _ = train(swapped, seed=14)
    with pytest.raises(FeatureSetMismatchError, match="feature names differ"):
        _register(registry, booster)


def test_concurrent_promotions_each_record_the_version_they_replaced(registry: ModelRegistry, trainer: Trainer) -> None:
    versions = [_register(registry, trainer(FRAUD_FEATURE_NAMES, 40 + i)[0], version=f"v{i}") for i in range(6)]
    registry.promote("fraud", versions[0])
    barrier = threading.Barrier(len(versions) - 1)
    pointers: list[ChampionPointer] = []

    def promote(version: str) -> None:
        barrier.wait()
        pointers.append(registry.promote("fraud", version))

    promoters = [threading.Thread(target=promote, args=(version,)) for version in versions[1:]]
    for promoter in promoters:
        promoter.start()
    for promoter in promoters:
        promoter.join()
    # One chain from v0 to the final champion: no two promotions replaced the same version.
    replaced = [pointer.previous for pointer in pointers]
    assert sorted(map(str, replaced)) == sorted(set(map(str, replaced)))
    assert set(replaced) | {registry.champion("fraud")} == set(versions)
