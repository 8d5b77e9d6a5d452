"""Versioned models with model cards, checksums and an atomic champion pointer (see `registry.py`)."""

from model_registry.card import ChampionPointer, ModelCard, TrainingWindow
from model_registry.errors import (
    ChecksumMismatchError,
    CorruptModelError,
    FeatureSetMismatchError,
    InvalidCardError,
    InvalidNameError,
    ModelNotFoundError,
    RegistryError,
    UnreadableModelError,
    VersionExistsError,
)
from model_registry.registry import LoadedModel, ModelRegistry, check_feature_set, dataset_hash, sha256_hex

__all__ = [
    "ChampionPointer",
    "ChecksumMismatchError",
    "CorruptModelError",
    "FeatureSetMismatchError",
    "InvalidCardError",
    "InvalidNameError",
    "LoadedModel",
    "ModelCard",
    "ModelNotFoundError",
    "ModelRegistry",
    "RegistryError",
    "TrainingWindow",
    "UnreadableModelError",
    "VersionExistsError",
    "check_feature_set",
    "dataset_hash",
    "sha256_hex",
]
