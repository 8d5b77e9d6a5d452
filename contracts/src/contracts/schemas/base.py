"""Base classes and field types that every contract shares.

Two kinds of model live in contracts:
* `ContractModel`: messages we define (normalized events, decisions, DLQ records). Frozen and
  closed (`extra="forbid"`): an unknown field is a bug in the sender.
* `ProviderModel`: what a payment provider sends us. Open (`extra="allow"`): providers add fields
  without notice, and we must neither reject their webhooks nor drop what we did not model.
"""

from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from contracts.reference.currencies import CURRENCIES


def _known_currency(code: str) -> str:
    if code not in CURRENCIES:
        raise ValueError(f"unknown currency {code!r}: not an active ISO 4217 code with a minor unit")
    return code


def _upper_known_currency(code: str) -> str:
    return _known_currency(code.upper())


def _as_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("timestamp must carry a UTC offset")
    try:
        return value.astimezone(UTC)
    except OverflowError:  # 9999-12-31T20:00-05:00 is in year 10000 in UTC
        raise ValueError("timestamp is out of range once converted to UTC") from None


CurrencyCode = Annotated[
    str,
    Field(min_length=3, max_length=3, json_schema_extra={"enum": sorted(CURRENCIES)}, examples=["USD"]),
    AfterValidator(_known_currency),
]
"""Upper-case ISO 4217 code, as in every message we define."""

ProviderCurrencyCode = Annotated[
    str,
    Field(
        min_length=3,
        max_length=3,
        json_schema_extra={"enum": sorted(CURRENCIES) + sorted(code.lower() for code in CURRENCIES)},
    ),
    AfterValidator(_upper_known_currency),
]
"""ISO 4217 code as a provider spells it (Stripe sends lower case); normalized to upper case."""

UtcDatetime = Annotated[datetime, AfterValidator(_as_utc)]
"""Timezone-aware timestamp, converted to UTC. Naive timestamps are refused: their zone is a guess."""

MinorAmount = Annotated[int, Field(ge=0, le=10**15, strict=True)]
"""Amount in the currency's minor units (cents for USD, yen for JPY). Never a float."""

Identifier = Annotated[str, Field(min_length=1, max_length=255)]

Probability = Annotated[float, Field(ge=0, le=1)]
"""A model score or any other probability: a finite float in [0, 1]."""


class ContractModel(BaseModel):
    """A message or table row we define: frozen, closed, and strict about numbers."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False, use_enum_values=False)

    contract_name: ClassVar[str] = ""


class ProviderModel(BaseModel):
    """A provider's payload: open to fields we did not model, which are kept as they came."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, allow_inf_nan=False)

    def raw(self) -> dict[str, Any]:
        """The payload as the provider sent it (aliases, unknown fields and all)."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)
