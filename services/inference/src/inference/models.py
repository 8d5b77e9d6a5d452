"""What serves: one reference per model slot, swapped atomically when the champion changes.

Handlers read `manager.served(slot)` once per request and use that object to the end, so a swap
never changes the model under an in-flight request, and a request never sees half a model: the
new booster is loaded and verified (checksums, feature set, objective) off the event loop first,
and only then does one dict assignment make it visible. A champion that fails verification is
refused, logged and counted; the previous model keeps serving. At start the rule is stricter: a
registered champion that does not verify stops the service (serving the baseline instead would
hide a broken deployment).
"""

import asyncio
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import anyio.to_thread
import numpy as np
import numpy.typing as npt
import xgboost as xgb

from baselines.rules import CHURN_RULES_V1, FRAUD_RULES_V1, LinearRules
from contracts.schemas.features import CHURN_FEATURE_SET_VERSION, FRAUD_FEATURE_SET_VERSION
from contracts.schemas.scoring import ModelInfo
from inference.metrics import Metrics
from model_registry import (
    ChampionPointer,
    LoadedModel,
    ModelCard,
    ModelNotFoundError,
    ModelRegistry,
    RegistryError,
    UnreadableModelError,
)

logger = logging.getLogger(__name__)

SlotKey = Literal["fraud", "churn"]
Rows = npt.NDArray[np.float32]
PROBABILITY_OBJECTIVES = frozenset({"binary:logistic"})


class UnservableModelError(RegistryError):
    """A verified model whose output is not a probability (a regression objective, say)."""

    reason = "unservable_model"


class RefusedChampionError(Exception):
    """A promoted champion this process will not serve; carries the pointer that was tried.

    The reloader remembers that pointer, not whatever the pointer file says by the time the
    refusal is handled: a fix promoted meanwhile is a different pointer and is still picked up.
    """

    def __init__(self, pointer: ChampionPointer | None) -> None:
        super().__init__(f"refused champion {pointer.version if pointer else None}")
        self.pointer = pointer


@dataclass(frozen=True)
class Slot:
    """One model the service serves: its registry name, feature set and rules baseline."""

    key: SlotKey
    registry_name: str
    feature_set_version: str
    baseline: LinearRules


def default_slots(fraud_model: str, churn_model: str) -> tuple[Slot, Slot]:
    return (
        Slot("fraud", fraud_model, FRAUD_FEATURE_SET_VERSION, FRAUD_RULES_V1),
        Slot("churn", churn_model, CHURN_FEATURE_SET_VERSION, CHURN_RULES_V1),
    )


@dataclass(frozen=True)
class ServedModel:
    name: str
    version: str
    kind: Literal["xgboost", "rules"]
    feature_set_version: str
    feature_names: tuple[str, ...]
    predict: Callable[[Rows], Rows]
    card: ModelCard | None = None

    def info(self, *, champion: bool) -> ModelInfo:
        return ModelInfo(
            name=self.name,
            version=self.version,
            kind=self.kind,
            feature_set_version=self.feature_set_version,
            champion=champion,
            created_at=self.card.created_at if self.card else None,
            metrics=dict(self.card.metrics) if self.card else {},
        )


def booster_objective(booster: xgb.Booster) -> str:
    config = json.loads(booster.save_config())
    return str(config["learner"]["objective"]["name"])


def _booster_predict(booster: xgb.Booster) -> Callable[[Rows], Rows]:
    def predict(rows: Rows) -> Rows:
        # Feature order is guaranteed by the contracts feature set the card was checked against.
        result: Rows = booster.inplace_predict(rows, validate_features=False)
        return result

    return predict


def served_from_registry(name: str, loaded: LoadedModel) -> ServedModel:
    objective = booster_objective(loaded.booster)
    if objective not in PROBABILITY_OBJECTIVES:
        raise UnservableModelError(
            f"{name}/{loaded.card.version} has objective {objective!r}; scores must be probabilities "
            f"({sorted(PROBABILITY_OBJECTIVES)})"
        )
    # One thread per call: single-row requests dominate, and OpenMP start-up would cost more
    # than the prediction itself; the server runs one process per core instead.
    loaded.booster.set_param({"nthread": 1})
    return ServedModel(
        name=name,
        version=loaded.card.version,
        kind="xgboost",
        feature_set_version=loaded.card.feature_set_version,
        feature_names=loaded.card.feature_names,
        predict=_booster_predict(loaded.booster),
        card=loaded.card,
    )


def served_baseline(name: str, rules: LinearRules) -> ServedModel:
    return ServedModel(
        name=name,
        version=rules.version,
        kind="rules",
        feature_set_version=rules.feature_set_version,
        feature_names=rules.feature_names,
        predict=rules.predict,
    )


class ModelManager:
    """Holds the served model of each slot and follows the registry's champion pointers."""

    def __init__(self, registry: ModelRegistry, slots: Sequence[Slot], metrics: Metrics) -> None:
        self.registry = registry
        self.slots = {slot.key: slot for slot in slots}
        self.metrics = metrics
        self._served: dict[SlotKey, ServedModel] = {}
        self._seen: dict[SlotKey, ChampionPointer | None] = {}
        self._lock = asyncio.Lock()
        self.generation = 0
        """Incremented on every swap (a cheap way for callers to notice one)."""
        self.last_checked_at: datetime | None = None

    @property
    def ready(self) -> bool:
        return len(self._served) == len(self.slots)

    def served(self, key: SlotKey) -> ServedModel:
        return self._served[key]

    def load_initial(self) -> None:
        """Load every slot's champion (or its baseline); a broken champion raises."""
        for slot in self.slots.values():
            pointer = self.registry.champion_pointer(slot.registry_name)
            self._install(slot, self._build(slot, pointer), pointer)
        self.last_checked_at = datetime.now(UTC)

    def _build(self, slot: Slot, pointer: ChampionPointer | None) -> ServedModel:
        if pointer is None:
            return served_baseline(slot.registry_name, slot.baseline)
        loaded = self.registry.load(slot.registry_name, pointer.version, expected_feature_set=slot.feature_set_version)
        return served_from_registry(slot.registry_name, loaded)

    def _install(self, slot: Slot, model: ServedModel, pointer: ChampionPointer | None) -> None:
        previous = self._served.get(slot.key)
        if previous is not None:
            self.metrics.model_info.remove(previous.name, previous.version, previous.kind)
        self.metrics.model_info.labels(model.name, model.version, model.kind).set(1)
        # The swap: one reference assignment, seen whole by every later request.
        self._served[slot.key] = model
        self._seen[slot.key] = pointer
        self.generation += 1
        logger.info("serving %s %s (%s)", model.name, model.version, model.kind)

    def _candidate(self, slot: Slot) -> tuple[ServedModel, ChampionPointer | None] | None:
        """Runs in a worker thread: file reads, hashing and booster parsing stay off the loop."""
        pointer = self.registry.champion_pointer(slot.registry_name)
        if pointer == self._seen.get(slot.key):
            return None
        current = self._served.get(slot.key)
        if current is not None and pointer is not None and current.version == pointer.version:
            self._seen[slot.key] = pointer
            return None
        try:
            return self._build(slot, pointer), pointer
        except Exception as error:
            raise RefusedChampionError(pointer) from error

    async def refresh(self) -> int:
        """Check every champion pointer once; returns how many slots changed model."""
        changed = 0
        async with self._lock:
            for slot in self.slots.values():
                # Each slot on its own: one slot's broken champion or unreadable pointer must not
                # keep the other slots from following theirs.
                try:
                    candidate = await anyio.to_thread.run_sync(self._candidate, slot)
                except Exception as error:  # noqa: BLE001 (logged and counted below, per slot)
                    cause = error.__cause__ if isinstance(error, RefusedChampionError) else error
                    # A failed check is remembered, so that it is not loaded and refused again every
                    # interval. I/O trouble, a version not visible yet (a copy still arriving) or an
                    # unreadable pointer is tried again next interval.
                    if isinstance(error, RefusedChampionError) and not isinstance(
                        cause, UnreadableModelError | ModelNotFoundError
                    ):
                        self._seen[slot.key] = error.pointer
                    self.metrics.reloads.labels(slot.registry_name, "rejected").inc()
                    logger.error("new champion of %s refused, still serving the previous model: %s", slot.key, cause)
                    continue
                if candidate is not None:
                    self._install(slot, *candidate)
                    self.metrics.reloads.labels(slot.registry_name, "swapped").inc()
                    changed += 1
            self.last_checked_at = datetime.now(UTC)
        return changed

    async def watch(self, interval_seconds: float) -> None:
        """Poll the champion pointers forever (run as a background task)."""
        while True:
            await asyncio.sleep(interval_seconds)
            try:
                await self.refresh()
            except Exception:
                logger.exception("champion check failed; will retry in %.1f s", interval_seconds)

    def model_infos(self) -> list[ModelInfo]:
        """Served models, every registered version, and the rules baselines, for `GET /v1/models`."""
        infos: list[ModelInfo] = []
        for slot in self.slots.values():
            served = self._served[slot.key]
            infos.append(served.info(champion=True))
            for version in self.registry.versions(slot.registry_name):
                if version == served.version:
                    continue
                try:
                    card = self.registry.card(slot.registry_name, version)
                except RegistryError as error:
                    logger.warning("not listing %s/%s: %s", slot.registry_name, version, error)
                    continue
                infos.append(
                    ModelInfo(
                        name=card.name,
                        version=card.version,
                        kind="xgboost",
                        feature_set_version=card.feature_set_version,
                        champion=False,
                        created_at=card.created_at,
                        metrics=dict(card.metrics),
                    )
                )
            if served.kind != "rules":
                infos.append(served_baseline(slot.registry_name, slot.baseline).info(champion=False))
        return infos
