"""Entities, sources, feature views and feature services, built from the settings' absolute paths.

Batch views read the dbt feature tables (exported to parquet by `feature_repo export`); each row
is an entity's features as of one of its events, computed strictly before it, so the online
store holds each entity's values as of its latest event and historical retrieval is
point-in-time (Feast joins the newest row at or before each requested timestamp).

| view | entity | features | source |
|---|---|---|---|
| `customer_velocity` | customer | `customer_txn_count_1h`, `customer_txn_count_24h`, `customer_amount_usd_24h`, `customer_distinct_cards_7d` | push `customer_velocity_push` over `fraud_features` |
| `card_velocity` | card | `card_txn_count_1h`, `card_distinct_merchants_24h`, `card_decline_count_24h` | push `card_velocity_push` over `fraud_features` |
| `customer_fraud` | customer | the other customer features: 30-day average, tenure, disputes, new country | `fraud_features` |
| `customer_card` | customer + card | `is_new_card_for_customer` | `fraud_features` |
| `merchant_risk` | merchant | `merchant_risk_score` | `fraud_features` |
| `customer_churn` | customer | every churn feature | `churn_features` |

The two velocity views hold the contracts' `VELOCITY_FEATURE_NAMES` (what the normalizer streams
as `VelocityFeatures`), and they are the only views of those features: each is backed by a push
source whose batch source is dbt's `fraud_features`, so `materialize` fills it from the warehouse
and training reads it point in time like any batch view, while every record the push consumer
pushes overwrites the entity's online values. Each entity has its own push source because Feast
writes a pushed frame into every view of the source and a customer record has no card.

`fraud_v1` serves exactly the contracts' stored fraud features (the context features come with
the request), velocity views included, `churn_v1` exactly the churn features (tested).
"""

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from feast import Entity, FeatureService, FeatureView, Field, FileSource, PushSource, ValueType
from feast.types import Float64

from contracts.schemas.features import CHURN_FEATURE_NAMES
from contracts.schemas.no_history import FRAUD_STORED_FEATURES
from contracts.schemas.velocity import VELOCITY_FEATURE_NAMES, VelocityEntity
from feature_repo.settings import FeatureRepoSettings

FRAUD_TABLE = "fraud_features"
CHURN_TABLE = "churn_features"
TIMESTAMP = "event_timestamp"
VELOCITY_VIEWS: dict[VelocityEntity, str] = {"customer": "customer_velocity", "card": "card_velocity"}
"""The view of each entity's velocity features (in `fraud_v1`)."""
VELOCITY_PUSH_SOURCES: dict[VelocityEntity, str] = {"customer": "customer_velocity_push", "card": "card_velocity_push"}
"""Push source of each velocity view (`feature_repo.push_consumer` pushes through them)."""

CUSTOMER_VELOCITY = VELOCITY_FEATURE_NAMES["customer"]
CARD_VELOCITY = VELOCITY_FEATURE_NAMES["card"]
CUSTOMER_CARD = ("is_new_card_for_customer",)
MERCHANT_RISK = ("merchant_risk_score",)
CUSTOMER_FRAUD = tuple(
    name
    for name in FRAUD_STORED_FEATURES
    if name not in CUSTOMER_VELOCITY + CARD_VELOCITY + CUSTOMER_CARD + MERCHANT_RISK
)
"""The customer's stored fraud features that are not streamed (windows of 30 days and more, and
`is_new_country_for_customer`)."""
FRAUD_VIEWS = ("customer_velocity", "card_velocity", "customer_fraud", "customer_card", "merchant_risk")
"""The views of `fraud_v1`."""

ENTITY_JOIN_KEYS: dict[VelocityEntity, str] = {"customer": "customer_id", "card": "card_fingerprint"}
"""Join key of each velocity entity (the `customer` and `card` entities below)."""

customer = Entity(name="customer", join_keys=[ENTITY_JOIN_KEYS["customer"]], value_type=ValueType.STRING)
card = Entity(name="card", join_keys=[ENTITY_JOIN_KEYS["card"]], value_type=ValueType.STRING)
merchant = Entity(name="merchant", join_keys=["merchant_id"], value_type=ValueType.STRING)


@dataclass(frozen=True)
class Repo:
    entities: list[Entity]
    views: dict[str, FeatureView]
    services: dict[str, FeatureService]
    push_sources: dict[VelocityEntity, PushSource]

    def objects(self) -> list[object]:
        return [*self.entities, *self.push_sources.values(), *self.views.values(), *self.services.values()]


def table_path(settings: FeatureRepoSettings, table: str) -> Path:
    return settings.offline_dir / f"{table}.parquet"


def _fields(names: tuple[str, ...]) -> list[Field]:
    return [Field(name=name, dtype=Float64) for name in names]


def build_repo(settings: FeatureRepoSettings) -> Repo:
    fraud_source = FileSource(
        name="dbt_fraud_features", path=str(table_path(settings, FRAUD_TABLE)), timestamp_field=TIMESTAMP
    )
    churn_source = FileSource(
        name="dbt_churn_features", path=str(table_path(settings, CHURN_TABLE)), timestamp_field=TIMESTAMP
    )
    push_sources: dict[VelocityEntity, PushSource] = {
        entity: PushSource(name=name, batch_source=fraud_source) for entity, name in VELOCITY_PUSH_SOURCES.items()
    }
    ttl = settings.ttl

    def view(name: str, entities: list[Entity], names: tuple[str, ...], source: FileSource | PushSource) -> FeatureView:
        return FeatureView(name=name, entities=entities, ttl=ttl, schema=_fields(names), source=source, online=True)

    views = {
        VELOCITY_VIEWS["customer"]: view(
            VELOCITY_VIEWS["customer"], [customer], CUSTOMER_VELOCITY, push_sources["customer"]
        ),
        VELOCITY_VIEWS["card"]: view(VELOCITY_VIEWS["card"], [card], CARD_VELOCITY, push_sources["card"]),
        "customer_fraud": view("customer_fraud", [customer], CUSTOMER_FRAUD, fraud_source),
        "customer_card": view("customer_card", [customer, card], CUSTOMER_CARD, fraud_source),
        "merchant_risk": view("merchant_risk", [merchant], MERCHANT_RISK, fraud_source),
        "customer_churn": view("customer_churn", [customer], CHURN_FEATURE_NAMES, churn_source),
    }
    services = {
        "fraud_v1": FeatureService(name="fraud_v1", features=[views[name] for name in FRAUD_VIEWS]),
        "churn_v1": FeatureService(name="churn_v1", features=[views["customer_churn"]]),
    }
    return Repo([customer, card, merchant], views, services, push_sources)


def served_features(service: FeatureService) -> list[str]:
    """Feature names a service serves, in its projection order."""
    return [feature.name for projection in service.feature_view_projections for feature in projection.features]


TTL_FOREVER = timedelta(0)
