"""Entities, sources, feature views and feature services, built from the settings' absolute paths.

Batch views read the dbt feature tables (exported to parquet by `feature_repo export`); each row
is an entity's features as of one of its events, computed strictly before it, so the online
store holds each entity's values as of its latest event and historical retrieval is
point-in-time (Feast joins the newest row at or before each requested timestamp).

| view | entity | features |
|---|---|---|
| `customer_fraud` | customer | customer windows, tenure, disputes, new country |
| `card_fraud` | card | card windows |
| `customer_card` | customer + card | `is_new_card_for_customer` |
| `merchant_risk` | merchant | `merchant_risk_score` |
| `customer_churn` | customer | every churn feature |
| `customer_velocity_fresh`, `card_velocity_fresh` | customer / card | streaming velocity features, pushed |

The fresh views' features are the contracts' `VELOCITY_FEATURE_NAMES` (what the normalizer
publishes as `VelocityFeatures`); each has its own push source (`VELOCITY_PUSH_SOURCES`), because
Feast writes a pushed frame into every view of the source and a customer record has no card.

`fraud_v1` serves exactly the contracts' stored fraud features (the context features come with
the request), `churn_v1` exactly the churn features (tested).
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
VELOCITY_PUSH_SOURCES: dict[VelocityEntity, str] = {"customer": "customer_velocity_push", "card": "card_velocity_push"}
"""Push source of each entity's fresh view (`feature_repo.push_consumer` pushes through them)."""

CARD_FRAUD = ("card_txn_count_1h", "card_distinct_merchants_24h", "card_decline_count_24h")
CUSTOMER_CARD = ("is_new_card_for_customer",)
MERCHANT_RISK = ("merchant_risk_score",)
CUSTOMER_FRAUD = tuple(name for name in FRAUD_STORED_FEATURES if name not in CARD_FRAUD + CUSTOMER_CARD + MERCHANT_RISK)
CUSTOMER_VELOCITY = VELOCITY_FEATURE_NAMES["customer"]
CARD_VELOCITY = VELOCITY_FEATURE_NAMES["card"]

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
        "customer_fraud": view("customer_fraud", [customer], CUSTOMER_FRAUD, fraud_source),
        "card_fraud": view("card_fraud", [card], CARD_FRAUD, fraud_source),
        "customer_card": view("customer_card", [customer, card], CUSTOMER_CARD, fraud_source),
        "merchant_risk": view("merchant_risk", [merchant], MERCHANT_RISK, fraud_source),
        "customer_churn": view("customer_churn", [customer], CHURN_FEATURE_NAMES, churn_source),
        "customer_velocity_fresh": view(
            "customer_velocity_fresh", [customer], CUSTOMER_VELOCITY, push_sources["customer"]
        ),
        "card_velocity_fresh": view("card_velocity_fresh", [card], CARD_VELOCITY, push_sources["card"]),
    }
    services = {
        "fraud_v1": FeatureService(
            name="fraud_v1",
            features=[views[name] for name in ("customer_fraud", "card_fraud", "customer_card", "merchant_risk")],
        ),
        "churn_v1": FeatureService(name="churn_v1", features=[views["customer_churn"]]),
    }
    return Repo([customer, card, merchant], views, services, push_sources)


def served_features(service: FeatureService) -> list[str]:
    """Feature names a service serves, in its projection order."""
    return [feature.name for projection in service.feature_view_projections for feature in projection.features]


TTL_FOREVER = timedelta(0)
