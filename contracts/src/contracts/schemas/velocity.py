"""Streaming velocity features: one entity's short-window counts, sums and distinct counts as of one event.

The normalizer computes them from the normalized payment events as they stream by and publishes
one `VelocityFeatures` record per entity per payment event (`features.velocity.v1`); the feature
repo's push consumer writes them into the online store through the push sources of the
`customer_velocity` and `card_velocity` views, the views `fraud_v1` serves these features from
(materialized from the warehouse, overwritten by every push), so the online values move with
every payment instead of waiting for the next batch materialization.

They are all seven short-window `FraudFeatures`, with the warehouse's (dbt `fraud_features`)
meaning, feature for feature:
* an attempt is a payment, once: its earliest `payment.*` event, at that event's time, with its
  amount, merchant and card; declined attempts included;
* a decline is a `payment.failed` event (each event id once), at that event's time, counted for
  the card of its payment;
* a window `w` as of time `t` holds what happened in `[t - w, t)`: an attempt or a decline exactly
  `w` before `t` is in, anything at `t` or later (the event itself) is out;
* `txn_count` counts attempts, `amount_usd` sums their amounts in US dollars (the contracts FX
  table, `contracts.reference.fx.amount_usd`), `distinct_merchants` / `distinct_cards` count the
  distinct merchants / card fingerprints of the attempts, `decline_count` counts declines.
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
Measure = Literal["txn_count", "amount_usd", "distinct_merchants", "decline_count", "distinct_cards"]


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
_WEEK = timedelta(days=7)

VELOCITY_FEATURES: Final[tuple[VelocityFeature, ...]] = (
    VelocityFeature("customer", "txn_count", _HOUR, "1h"),
    VelocityFeature("customer", "txn_count", _DAY, "24h"),
    VelocityFeature("customer", "amount_usd", _DAY, "24h"),
    VelocityFeature("card", "txn_count", _HOUR, "1h"),
    VelocityFeature("card", "distinct_merchants", _DAY, "24h"),
    VelocityFeature("card", "decline_count", _DAY, "24h"),
    VelocityFeature("customer", "distinct_cards", _WEEK, "7d"),
)
"""Every streaming feature: the stored fraud features with a window of 7 days or less, in
`FraudFeatures` order."""

VELOCITY_FEATURE_NAMES: Final[Mapping[VelocityEntity, tuple[str, ...]]] = MappingProxyType(
    {entity: tuple(f.name for f in VELOCITY_FEATURES if f.entity == entity) for entity in VELOCITY_ENTITIES}
)
"""Feature names per entity: exactly the feature repo's `<entity>_velocity` view."""

LONGEST_VELOCITY_WINDOW: Final[timedelta] = max(f.window for f in VELOCITY_FEATURES)
LONGEST_ENTITY_WINDOW: Final[Mapping[VelocityEntity, timedelta]] = MappingProxyType(
    {entity: max(f.window for f in VELOCITY_FEATURES if f.entity == entity) for entity in VELOCITY_ENTITIES}
)
"""How far back each entity's features look (customer 7 days, card 24 hours)."""


NonNegative = Annotated[float, Field(ge=0)]
Since14 = NonNegative | None
"""A feature added in contracts 1.4.0: optional, so that a 1.3 record still reads (it lacks it).
Every 1.4 producer fills it; a record without it is incomplete (`VelocityFeatures.missing`)."""


class CustomerVelocity(ContractModel):
    """A customer's streaming features (the `customer_velocity` view)."""

    customer_txn_count_1h: NonNegative
    customer_txn_count_24h: NonNegative
    customer_amount_usd_24h: NonNegative
    customer_distinct_cards_7d: Since14 = None


class CardVelocity(ContractModel):
    """A card's streaming features (the `card_velocity` view)."""

    card_txn_count_1h: NonNegative
    card_distinct_merchants_24h: Since14 = None
    card_decline_count_24h: Since14 = None


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
        """Feature name -> value, of the features the record carries (all of them, unless `missing`)."""
        return {name: value for name, value in self.features.model_dump().items() if value is not None}

    def missing(self) -> tuple[str, ...]:
        """Features of the entity the record lacks (only a producer older than contracts 1.4.0 omits any)."""
        return tuple(name for name, value in self.features.model_dump().items() if value is None)

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
    """A record from feature name -> value (the names of `entity`, all of them: a producer never
    publishes an incomplete record)."""
    if set(values) != set(VELOCITY_FEATURE_NAMES[entity]):
        raise ValueError(f"a {entity} record needs exactly the features {VELOCITY_FEATURE_NAMES[entity]}")
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
