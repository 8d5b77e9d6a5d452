"""Why the registry refuses to store, promote or load a model.

Every refusal is its own class, so that a caller (the inference service's reloader, the training
pipeline's promotion step) can tell a tampered file from a model trained on another feature set,
and each carries a machine-readable `reason`.
"""


class RegistryError(Exception):
    """Base of every registry refusal."""

    reason = "registry_error"


class ModelNotFoundError(RegistryError):
    reason = "model_not_found"

    def __init__(self, name: str, version: str | None = None) -> None:
        what = f"{name}/{version}" if version else name
        super().__init__(f"no model {what} in the registry")
        self.name = name
        self.version = version


class VersionExistsError(RegistryError):
    """Versions are immutable: a second model under one version would make the card lie."""

    reason = "version_exists"

    def __init__(self, name: str, version: str) -> None:
        super().__init__(f"model {name}/{version} is already registered; versions are immutable")
        self.name = name
        self.version = version


class InvalidNameError(RegistryError):
    reason = "invalid_name"


class InvalidCardError(RegistryError):
    """The caller's card does not validate (a naive timestamp, a NaN metric): nothing is stored."""

    reason = "invalid_card"


class CorruptModelError(RegistryError):
    """A file is missing or unreadable, or the card disagrees with where it is stored."""

    reason = "corrupt_model"


class UnreadableModelError(CorruptModelError):
    """A file could not be read (an I/O error): unlike a failed check, it may read fine later."""

    reason = "unreadable_model"


class ChecksumMismatchError(CorruptModelError):
    reason = "checksum_mismatch"

    def __init__(self, path: str, expected: str, actual: str) -> None:
        super().__init__(f"{path}: sha256 is {actual}, the registry recorded {expected}; refusing to load it")
        self.path = path
        self.expected = expected
        self.actual = actual


class FeatureSetMismatchError(RegistryError):
    """The model was trained on features other than the ones contracts defines today."""

    reason = "feature_set_mismatch"
