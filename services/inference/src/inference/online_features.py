"""Feature vectors for requests that carry entity ids instead of features.

The fraud feature service (`fraud_v1` in Feast) serves the customer, card and merchant
aggregates. Four features describe the payment itself and are derived from the request's
transaction context, never read from the store:

| feature | derivation |
|---|---|
| `amount_usd` | `amount_minor` in major units x the USD rate of `currency` in the contracts FX table |
| `hour_of_day` | UTC hour of `occurred_at` |
| `is_foreign_card` | 1 when `card_country` and `ip_country` are both known and differ, else 0 |
| `amount_to_customer_avg_ratio` | `amount_usd / customer_avg_amount_usd_30d`; 1 when the customer has no 30-day average |

A stored feature must come back with status PRESENT, or NOT_FOUND: an entity the store has never
seen (a first-seen card, a new customer) gets the contracts' no-history value of that feature,
the value the warehouse gives first events, and the response lists it in `features_defaulted`.
Anything else (OUTSIDE_MAX_AGE, a null) is reported as a missing feature: no value is made up.
"""

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Final, NamedTuple

from pydantic import ValidationError

from contracts.reference import fx
from contracts.schemas.features import ChurnFeatures, FraudFeatures
from contracts.schemas.no_history import (
    CHURN_NO_HISTORY,
    FRAUD_CONTEXT_FEATURES,
    FRAUD_NO_HISTORY,
    FRAUD_STORED_FEATURES,
    RATIO_WITHOUT_AVERAGE,
)
from contracts.schemas.scoring import TransactionContext
from inference.errors import FeaturesNotFoundError, FeatureStoreError, FieldError, NoFxRateError
from inference.feast_client import FeatureRow

logger = logging.getLogger(__name__)

CONTEXT_FEATURES: Final = FRAUD_CONTEXT_FEATURES
STORED_FRAUD_FEATURES: Final = FRAUD_STORED_FEATURES
STORED_CHURN_FEATURES: Final = tuple(CHURN_NO_HISTORY)
NOT_FOUND: Final = "NOT_FOUND"
_EPOCH_CUTOFF: Final = datetime(1971, 1, 1, tzinfo=UTC)
MAX_CLOCK_SKEW_SECONDS: Final = 1.0
"""How far in the future a feature timestamp may lie before the clocks are taken to disagree."""


class LookedUp(NamedTuple):
    """Stored values (found or defaulted), the age in seconds of the oldest found one, and the
    names that were defaulted because the store has never seen the entity."""

    values: dict[str, float]
    freshness: float | None
    defaulted: list[str]


def amount_usd(context: TransactionContext, field_prefix: str = "") -> float:
    try:
        return float(fx.amount_usd(context.amount_minor, context.currency))
    except fx.NoFxRateError:
        raise NoFxRateError(
            f"the contracts FX table ({fx.FX_RATES_AS_OF}) has no USD rate for {context.currency}; send `features`",
            errors=[{"field": f"{field_prefix}context.currency", "message": f"no USD rate for {context.currency}"}],
        ) from None


def context_features(
    context: TransactionContext,
    customer_avg_amount_usd_30d: float,
    field_prefix: str = "",
) -> dict[str, float]:
    usd = amount_usd(context, field_prefix)
    foreign = context.card_country is not None and context.ip_country is not None
    return {
        "amount_usd": usd,
        "hour_of_day": float(context.occurred_at.astimezone(UTC).hour),
        "is_foreign_card": 1.0 if foreign and context.card_country != context.ip_country else 0.0,
        "amount_to_customer_avg_ratio": (
            usd / customer_avg_amount_usd_30d if customer_avg_amount_usd_30d > 0 else RATIO_WITHOUT_AVERAGE
        ),
    }


def _stored_values(
    row: FeatureRow, no_history: Mapping[str, float], feature_service: str, field_prefix: str
) -> LookedUp:
    """Values of the features `no_history` names: present ones, or the no-history value of those
    the store answers NOT_FOUND for (an entity it has never seen)."""
    names = tuple(no_history)
    not_served = [name for name in names if name not in row]
    if not_served:
        raise FeatureStoreError(
            f"feature service {feature_service!r} does not serve {not_served}",
            errors=[{"field": f"{field_prefix}features.{name}", "message": "not served"} for name in not_served],
        )
    missing: list[FieldError] = [
        {"field": f"{field_prefix}features.{name}", "message": f"feature store status {row[name].status}"}
        for name in names
        if not row[name].present and row[name].status != NOT_FOUND
    ]
    if missing:
        raise FeaturesNotFoundError(
            f"the feature store has no current value for {len(missing)} feature(s) of these entities; "
            "send `features` in the request",
            errors=missing,
        )
    values: dict[str, float] = {}
    defaulted = [name for name in names if row[name].status == NOT_FOUND]
    for name in defaulted:
        values[name] = no_history[name]
    found = [name for name in names if row[name].status != NOT_FOUND]
    for name in found:
        raw = row[name].value
        if not isinstance(raw, int | float) or isinstance(raw, bool):
            raise FeatureStoreError(f"feature {name!r} from {feature_service!r} is not a number")
        values[name] = float(raw)
    stamps = {name: row[name].event_at for name in found}
    return LookedUp(values, freshness_seconds(stamps, feature_service), defaulted)


def freshness_seconds(
    stamps: Mapping[str, datetime | None], feature_service: str, now: datetime | None = None
) -> float | None:
    """Age of the oldest value, or `None` (unknown) when any timestamp cannot be trusted.

    A missing, unreadable or pre-1971 timestamp (Feast's entity columns carry epoch 0) leaves the
    age of that value unknown, and one lying more than `MAX_CLOCK_SKEW_SECONDS` in the future
    means the clocks disagree: the oldest trusted value would understate the age, so the answer
    is "unknown", with a warning that names the features, never a number that is too low.
    """
    now = now or datetime.now(UTC)
    unknown = sorted(name for name, stamp in stamps.items() if stamp is None or stamp <= _EPOCH_CUTOFF)
    ahead = {
        name: round((stamp - now).total_seconds(), 3)
        for name, stamp in stamps.items()
        if stamp is not None and (stamp - now).total_seconds() > MAX_CLOCK_SKEW_SECONDS
    }
    if unknown or ahead:
        logger.warning(
            "feature freshness unknown for %r: no usable timestamp for %s; in the future (s) %s",
            feature_service,
            unknown or "none",
            ahead or "none",
        )
        return None
    if not stamps:
        return None
    oldest = min(stamp for stamp in stamps.values() if stamp is not None)
    # Within the allowed skew a value stamped "just now" is 0 s old, not negative.
    return max((now - oldest).total_seconds(), 0.0)


def _contract_errors(error: ValidationError, field_prefix: str) -> list[FieldError]:
    return [
        {"field": field_prefix + "features." + ".".join(str(part) for part in item["loc"]), "message": item["msg"]}
        for item in error.errors(include_input=False, include_url=False)
    ]


def fraud_features(
    row: FeatureRow,
    context: TransactionContext,
    feature_service: str,
    field_prefix: str = "",
) -> tuple[FraudFeatures, LookedUp]:
    looked_up = _stored_values(row, FRAUD_NO_HISTORY, feature_service, field_prefix)
    stored = looked_up.values
    derived = context_features(context, stored["customer_avg_amount_usd_30d"], field_prefix)
    try:
        features = FraudFeatures.model_validate(stored | derived)
    except ValidationError as error:
        raise FeatureStoreError(
            f"features from {feature_service!r} break the contract", errors=_contract_errors(error, field_prefix)
        ) from None
    return features, looked_up


def churn_features(row: FeatureRow, feature_service: str, field_prefix: str = "") -> tuple[ChurnFeatures, LookedUp]:
    looked_up = _stored_values(row, CHURN_NO_HISTORY, feature_service, field_prefix)
    try:
        features = ChurnFeatures.model_validate(looked_up.values)
    except ValidationError as error:
        raise FeatureStoreError(
            f"features from {feature_service!r} break the contract", errors=_contract_errors(error, field_prefix)
        ) from None
    return features, looked_up
