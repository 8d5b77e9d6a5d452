"""A versioned model registry on a directory tree.

Layout under the root (a local directory by default; the same keys work as object-storage keys,
because version folders are written once and the champion pointer is a single object):

    <model>/<version>/model.ubj         the XGBoost booster (UBJSON)
    <model>/<version>/card.json         the model card (see `card.py`)
    <model>/<version>/checksums.json    sha256 of model.ubj and card.json
    <model>/champion.json               which version serves, replaced atomically

Versions are immutable and appear whole: a version folder is assembled under a hidden staging
name and renamed into place. The champion pointer is written to a temporary file and
`os.replace`d, so a reader sees either the old or the new pointer, never half of one; promoters of
one model take turns (`flock`), so each pointer's `previous` is the version it replaced. Loading
reads each file once, checks its sha256, checks the card's feature set against contracts and only
then parses the booster from the verified bytes.

A booster must name its features (train on `xgb.DMatrix(x, feature_names=...)`), in the contracts
order: the card vouches for that order, and a width alone cannot tell two columns apart.

The checksums catch corrupted, truncated and half-copied files. They are not a signature: whoever
can write a version folder can rewrite a file and its checksum together. Guard the root with
permissions (or bucket policies), and sign versions if writers are not trusted.
"""

import builtins
import contextlib
import errno
import fcntl
import hashlib
import json
import os
import re
import shutil
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import numpy as np
import xgboost as xgb
from pydantic import ValidationError

from contracts.schemas.features import FEATURE_SETS
from model_registry.card import NAME_PATTERN, VERSION_PATTERN, ChampionPointer, ModelCard, TrainingWindow
from model_registry.errors import (
    ChecksumMismatchError,
    CorruptModelError,
    FeatureSetMismatchError,
    InvalidCardError,
    InvalidNameError,
    ModelNotFoundError,
    UnreadableModelError,
    VersionExistsError,
)

MODEL_FILE: Final = "model.ubj"
CARD_FILE: Final = "card.json"
CHECKSUMS_FILE: Final = "checksums.json"
CHAMPION_FILE: Final = "champion.json"
CHECKSUMMED_FILES: Final = (MODEL_FILE, CARD_FILE)
RESERVED_SUFFIX: Final = ".json"
"""Version names may not end like the registry's own files under `<model>/` (`champion.json`)."""

_NAME = re.compile(NAME_PATTERN)
_VERSION = re.compile(VERSION_PATTERN)


@dataclass(frozen=True)
class LoadedModel:
    """A verified booster and the card it was registered with."""

    card: ModelCard
    booster: xgb.Booster
    model_sha256: str


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def dataset_hash(*arrays: np.ndarray) -> str:
    """sha256 over the arrays' shapes, dtypes and bytes: the training set's identity for the card."""
    digest = hashlib.sha256()
    for array in arrays:
        contiguous = np.ascontiguousarray(array)
        digest.update(f"{contiguous.dtype.str}{contiguous.shape}".encode())
        digest.update(contiguous.tobytes())
    return "sha256:" + digest.hexdigest()


def check_feature_set(feature_set_version: str, feature_names: Iterable[str]) -> None:
    """Refuse a feature list that is not, name for name and in order, the contracts feature set."""
    expected = FEATURE_SETS.get(feature_set_version)
    if expected is None:
        known = ", ".join(sorted(FEATURE_SETS))
        raise FeatureSetMismatchError(f"feature set {feature_set_version!r} is not defined in contracts ({known})")
    names = tuple(feature_names)
    if names != expected:
        missing = [name for name in expected if name not in names]
        extra = [name for name in names if name not in expected]
        detail = f"missing {missing}, unexpected {extra}" if missing or extra else "same names in another order"
        raise FeatureSetMismatchError(
            f"feature names do not match contracts feature set {feature_set_version!r}: {detail}"
        )


def _check_booster_shape(booster: xgb.Booster, card: ModelCard) -> None:
    if booster.num_features() != len(card.feature_names):
        raise FeatureSetMismatchError(
            f"booster takes {booster.num_features()} features, "
            f"feature set {card.feature_set_version!r} has {len(card.feature_names)}"
        )
    if booster.feature_names is not None and tuple(booster.feature_names) != card.feature_names:
        raise FeatureSetMismatchError("booster's own feature names differ from the card's")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_file(path: Path, data: bytes) -> None:
    with path.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _atomic_write(path: Path, data: bytes) -> None:
    """Write then `os.replace`: readers see the old content or the new, never a torn file.

    The file is created with the umask's mode, like every other file of the registry (`mkstemp`
    would make it owner-only, and a server running as another user could not read the pointer).
    """
    tmp_name = path.parent / f".{path.name}.{uuid.uuid4().hex}.tmp"
    fd = os.open(tmp_name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


@contextlib.contextmanager
def _promotion_lock(model_dir: Path) -> Iterator[None]:
    """One promoter of a model at a time on this filesystem, so that each pointer's `previous` is
    the version it replaced (object storage would use a conditional write instead)."""
    fd = os.open(model_dir / ".promote.lock", os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _new_version(model_sha256: str, now: datetime) -> str:
    return f"{now.strftime('%Y%m%dT%H%M%S%fZ')}-{model_sha256[:8]}"


class ModelRegistry:
    """Register, promote, list and load versioned models under one root."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    # -- paths -------------------------------------------------------------------------------

    def _model_dir(self, name: str) -> Path:
        if not _NAME.fullmatch(name):
            raise InvalidNameError(f"model name {name!r} must match {NAME_PATTERN}")
        return self.root / name

    def _version_dir(self, name: str, version: str) -> Path:
        if not _VERSION.fullmatch(version):
            raise InvalidNameError(f"model version {version!r} must match {VERSION_PATTERN}")
        if version.endswith(RESERVED_SUFFIX):
            raise InvalidNameError(f"model version {version!r}: names ending in {RESERVED_SUFFIX} are reserved")
        return self._model_dir(name) / version

    def champion_path(self, name: str) -> Path:
        """Where the pointer lives; watchers may stat it to notice promotions cheaply."""
        return self._model_dir(name) / CHAMPION_FILE

    # -- writing -----------------------------------------------------------------------------

    def register(
        self,
        booster: xgb.Booster,
        *,
        name: str,
        feature_set_version: str,
        training_window: TrainingWindow,
        data_hash: str,
        code_version: str,
        metrics: Mapping[str, float] | None = None,
        version: str | None = None,
        created_at: datetime | None = None,
    ) -> ModelCard:
        """Store a new immutable version. Refuses a model whose features are not the contracts set."""
        feature_names = FEATURE_SETS.get(feature_set_version, ())
        check_feature_set(feature_set_version, feature_names)
        model_dir = self._model_dir(name)
        raw = bytes(booster.save_raw(raw_format="ubj"))
        model_sha = sha256_hex(raw)
        if created_at is not None and created_at.tzinfo is None:
            raise InvalidCardError(f"created_at {created_at.isoformat()} has no timezone: its instant is a guess")
        now = (created_at or datetime.now(UTC)).astimezone(UTC)
        version = version or _new_version(model_sha, now)
        final_dir = self._version_dir(name, version)
        try:
            card = ModelCard(
                name=name,
                version=version,
                feature_set_version=feature_set_version,
                feature_names=feature_names,
                training_window=training_window,
                metrics=dict(metrics or {}),
                data_hash=data_hash,
                code_version=code_version,
                created_at=now,
            )
        except ValidationError as error:
            raise InvalidCardError(f"invalid model card for {name}/{version}: {error}") from error
        _check_booster_shape(booster, card)
        if booster.feature_names is None:
            # Without names only the width could be checked, and the card would vouch for a column
            # order nobody compared: train on `xgb.DMatrix(x, feature_names=...)`.
            raise FeatureSetMismatchError(
                f"booster does not name its features; train it with feature_names={list(feature_names)!r}"
            )
        if final_dir.exists():
            raise VersionExistsError(name, version)

        card_bytes = card.model_dump_json(indent=2).encode()
        checksums = {
            "algorithm": "sha256",
            "files": {MODEL_FILE: model_sha, CARD_FILE: sha256_hex(card_bytes)},
        }
        if not model_dir.is_dir():
            model_dir.mkdir(parents=True, exist_ok=True)
            _fsync_dir(model_dir.parent)  # a new model's folder survives a crash as its versions do
        staging = model_dir / f".staging-{uuid.uuid4().hex}"
        staging.mkdir()
        try:
            _write_file(staging / MODEL_FILE, raw)
            _write_file(staging / CARD_FILE, card_bytes)
            _write_file(staging / CHECKSUMS_FILE, json.dumps(checksums, indent=2).encode())
            _fsync_dir(staging)
            # rename(2) refuses a non-empty target: two writers of one version cannot both win.
            try:
                os.rename(staging, final_dir)
            except OSError as error:
                if error.errno in (errno.ENOTEMPTY, errno.EEXIST):
                    raise VersionExistsError(name, version) from error
                raise
        finally:
            if staging.exists():
                shutil.rmtree(staging)
        _fsync_dir(model_dir)
        return card

    def promote(self, name: str, version: str) -> ChampionPointer:
        """Point the champion at `version`, after proving that it loads and verifies.

        Promoting the current champion again returns its pointer unchanged: a retried promotion
        keeps `previous`, the version to roll back to.
        """
        self.load(name, version)
        with _promotion_lock(self._model_dir(name)):
            current = self.champion_pointer(name)
            if current is not None and current.version == version:
                return current
            previous = current.version if current else None
            pointer = ChampionPointer(name=name, version=version, promoted_at=datetime.now(UTC), previous=previous)
            _atomic_write(self.champion_path(name), pointer.model_dump_json(indent=2).encode())
        return pointer

    # -- reading -----------------------------------------------------------------------------

    def champion_pointer(self, name: str) -> ChampionPointer | None:
        path = self.champion_path(name)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as error:
            raise UnreadableModelError(f"{path}: unreadable champion pointer: {error}") from error
        try:
            pointer = ChampionPointer.model_validate_json(raw)
        except ValidationError as error:
            raise CorruptModelError(f"{path}: unreadable champion pointer: {error}") from error
        if pointer.name != name:
            raise CorruptModelError(f"{path}: the champion pointer of {name!r} names {pointer.name}")
        return pointer

    def champion(self, name: str) -> str | None:
        """The champion version of `name`, or None when none was ever promoted."""
        pointer = self.champion_pointer(name)
        return pointer.version if pointer else None

    def names(self) -> builtins.list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and _NAME.fullmatch(p.name))

    def versions(self, name: str) -> builtins.list[str]:
        model_dir = self._model_dir(name)
        if not model_dir.is_dir():
            return []
        return sorted(
            p.name
            for p in model_dir.iterdir()
            if p.is_dir() and not p.name.startswith(".") and _VERSION.fullmatch(p.name)
        )

    def list(self, name: str | None = None) -> builtins.list[ModelCard]:
        """Cards of every registered version (of one model, or of all), oldest first.

        Cards are checksum-verified; a tampered version makes listing fail loudly rather than
        show a card the registry cannot vouch for.
        """
        names = [name] if name is not None else self.names()
        cards = [self.card(model, version) for model in names for version in self.versions(model)]
        return sorted(cards, key=lambda card: (card.name, card.created_at, card.version))

    def card(self, name: str, version: str) -> ModelCard:
        version_dir = self._version_dir(name, version)
        checksums = self._read_checksums(name, version)
        return self._parse_card(version_dir, self._verified_bytes(version_dir, CARD_FILE, checksums), name, version)

    def load(self, name: str, version: str, *, expected_feature_set: str | None = None) -> LoadedModel:
        """Verified booster of one version; refuses tampered files and foreign feature sets."""
        version_dir = self._version_dir(name, version)
        checksums = self._read_checksums(name, version)
        card = self._parse_card(version_dir, self._verified_bytes(version_dir, CARD_FILE, checksums), name, version)
        check_feature_set(card.feature_set_version, card.feature_names)
        if expected_feature_set is not None and card.feature_set_version != expected_feature_set:
            raise FeatureSetMismatchError(
                f"{name}/{version} was trained on {card.feature_set_version!r}, the caller serves {expected_feature_set!r}"
            )
        raw = self._verified_bytes(version_dir, MODEL_FILE, checksums)
        booster = xgb.Booster()
        try:
            booster.load_model(bytearray(raw))
        except xgb.core.XGBoostError as error:
            raise CorruptModelError(f"{version_dir / MODEL_FILE}: not a loadable booster: {error}") from error
        _check_booster_shape(booster, card)
        return LoadedModel(card=card, booster=booster, model_sha256=checksums[MODEL_FILE])

    def load_champion(self, name: str, *, expected_feature_set: str | None = None) -> LoadedModel | None:
        version = self.champion(name)
        if version is None:
            return None
        return self.load(name, version, expected_feature_set=expected_feature_set)

    # -- internals ---------------------------------------------------------------------------

    def _read_checksums(self, name: str, version: str) -> dict[str, str]:
        version_dir = self._version_dir(name, version)
        if not version_dir.is_dir():
            raise ModelNotFoundError(name, version)
        path = version_dir / CHECKSUMS_FILE
        try:
            raw = path.read_bytes()
        except OSError as error:
            raise UnreadableModelError(f"{path}: unreadable checksums: {error}") from error
        try:
            document = json.loads(raw)
        except ValueError as error:
            raise CorruptModelError(f"{path}: unreadable checksums: {error}") from error
        if not isinstance(document, dict):
            raise CorruptModelError(f"{path}: expected an object of sha256 checksums, got {type(document).__name__}")
        files = document.get("files")
        if document.get("algorithm") != "sha256" or not isinstance(files, dict):
            raise CorruptModelError(f"{path}: expected sha256 checksums of {list(CHECKSUMMED_FILES)}")
        missing = [f for f in CHECKSUMMED_FILES if not isinstance(files.get(f), str)]
        if missing:
            raise CorruptModelError(f"{path}: no checksum for {missing}")
        return {f: str(files[f]) for f in CHECKSUMMED_FILES}

    @staticmethod
    def _verified_bytes(version_dir: Path, filename: str, checksums: Mapping[str, str]) -> bytes:
        path = version_dir / filename
        try:
            data = path.read_bytes()
        except OSError as error:
            raise UnreadableModelError(f"{path}: unreadable: {error}") from error
        actual = sha256_hex(data)
        if actual != checksums[filename]:
            raise ChecksumMismatchError(str(path), checksums[filename], actual)
        return data

    @staticmethod
    def _parse_card(version_dir: Path, data: bytes, name: str, version: str) -> ModelCard:
        try:
            card = ModelCard.model_validate_json(data)
        except ValidationError as error:
            raise CorruptModelError(f"{version_dir / CARD_FILE}: invalid model card: {error}") from error
        if (card.name, card.version) != (name, version):
            raise CorruptModelError(
                f"{version_dir / CARD_FILE}: card names {card.name}/{card.version}, stored as {name}/{version}"
            )
        return card
