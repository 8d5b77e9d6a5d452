"""Streaming velocity features: one entity's short-window counts and dollar sums as of one event.

The normalizer computes them from the normalized payment events as they stream by and publishes
one `VelocityFeatures` record per entity per payment event (`features.velocity.v1`); the feature
repo's push consumer writes them into the online store (the `*_velocity_fresh` views), so the
online values move with every payment instead of waiting for the next batch materialization.

Same meaning as the warehouse's (dbt) `FraudFeatures` columns of the same names:
* what is counted is a payment attempt: a payment, once (its first `payment.*` event, at that
  event's time and with its amount), declined ones included;
* a window `w` as of time `t` holds the attempts in `[t - w, t)`: one exactly `w` before `t` is
  in, anything at `t` or later (the attempt of the event itself) is out;
* dollar sums use the contracts FX table (`contracts.reference.fx.amount_usd`).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Annotated, Final, Literal
from uuid import UUID

from pydantic import Field, model_validator

from contracts.schemas.base import ContractModel, Identifier, UtcDatetime
from contracts.schemas.no_history import FRAUD_STORED_FEATURES

VelocityEntity = Literal["customer", "card"]
VELOCITY_ENTITIES: Final[tuple[VelocityEntity, ...]] = ("customer", "card")
Measure = Literal["txn_count", "amount_usd"]


@dataclass(frozen=True)
class VelocityFeature:
    """One streaming feature: what it measures over which window, for which entity."""

    entity: VelocityEntity
    measure: Measure
    window: timedelta
    window_name: str

    @property
    def name(self) -> str:
        """The `FraudFeatures` name it feeds, e.g. `customer_txn_count_1h`."""
        return f"{self.entity}_{self.measure}_{self.window_name}"


_HOUR = timedelta(hours=1)
_DAY = timedelta(hours=24)

VELOCITY_FEATURES: Final[tuple[VelocityFeature, ...]] = (
    VelocityFeature("customer", "txn_count", _HOUR, "1h"),
    VelocityFeature("customer", "txn_count", _DAY, "24h"),
    VelocityFeature("customer", "amount_usd", _DAY, "24h"),
    VelocityFeature("card", "txn_count", _HOUR, "1h"),
)
"""Every streaming feature, in `FraudFeatures` order per entity."""

VELOCITY_FEATURE_NAMES: Final[Mapping[VelocityEntity, tuple[str, ...]]] = MappingProxyType(
    {entity: tuple(f.name for f in VELOCITY_FEATURES if f.entity == entity) for entity in VELOCITY_ENTITIES}
)
"""Feature names per entity: exactly the feature repo's `<entity>_velocity_fresh` view."""

LONGEST_VELOCITY_WINDOW: Final[timedelta] = max(f.window for f in VELOCITY_FEATURES)


NonNegative = Annotated[float, Field(ge=0)]


class CustomerVelocity(ContractModel):
    """A customer's streaming features (the `customer_velocity_fresh` view)."""

    customer_txn_count_1h: NonNegative
    customer_txn_count_24h: NonNegative
    customer_amount_usd_24h: NonNegative


class CardVelocity(ContractModel):
    """A card's streaming features (the `card_velocity_fresh` view)."""

    card_txn_count_1h: NonNegative


VELOCITY_MODELS: Final[Mapping[VelocityEntity, type[CustomerVelocity | CardVelocity]]] = MappingProxyType(
    {"customer": CustomerVelocity, "card": CardVelocity}
)


def _check_names() -> None:
    unknown = [f.name for f in VELOCITY_FEATURES if f.name not in FRAUD_STORED_FEATURES]
    if unknown:
        raise ValueError(f"velocity features that are not stored fraud features: {unknown}")
    for entity, model in VELOCITY_MODELS.items():
        if tuple(model.model_fields) != VELOCITY_FEATURE_NAMES[entity]:
            raise ValueError(f"{model.__name__} must have the fields {VELOCITY_FEATURE_NAMES[entity]}")


_check_names()


class VelocityFeatures(ContractModel):
    """An entity's streaming features as of one payment event (`features.velocity.v1`)."""

    contract_name = "velocity_features"

    entity: VelocityEntity
    """Which entity: `customer` (`entity_id` is the customer id) or `card` (the card fingerprint)."""
    entity_id: Identifier
    as_of: UtcDatetime
    """Event time of the payment event; every window ends (exclusive) here."""
    event_id: UUID
    """The normalized event the record was computed for."""
    payment_id: Identifier
    features: CustomerVelocity | CardVelocity
    """The entity's features: exactly `VELOCITY_FEATURE_NAMES[entity]`."""

    @model_validator(mode="after")
    def _features_of_the_entity(self) -> "VelocityFeatures":
        if not isinstance(self.features, VELOCITY_MODELS[self.entity]):
            raise ValueError(
                f"a {self.entity} record carries exactly the features {VELOCITY_FEATURE_NAMES[self.entity]}"
            )
        return self

    def values(self) -> dict[str, float]:
        """Feature name -> value."""
        return self.features.model_dump()

    def key(self) -> str:
        """The topic key: the entity, qualified (`customer:cus_1`)."""
        return velocity_key(self.entity, self.entity_id)


def velocity_features(
    entity: VelocityEntity,
    entity_id: str,
    as_of: datetime,
    event_id: UUID,
    payment_id: str,
    values: Mapping[str, float],
) -> VelocityFeatures:
    """A record from feature name -> value (the names of `entity`, all of them)."""
    return VelocityFeatures(
        entity=entity,
        entity_id=entity_id,
        as_of=as_of,
        event_id=event_id,
        payment_id=payment_id,
        features=VELOCITY_MODELS[entity].model_validate(dict(values)),
    )


def velocity_key(entity: VelocityEntity, entity_id: str) -> str:
    return f"{entity}:{entity_id}"
