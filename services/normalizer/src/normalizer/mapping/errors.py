"""The one error a mapping raises: what could not be mapped, field by field."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pydantic import ValidationError

from contracts.schemas.dlq import RejectReason

__all__ = ["Ignored", "MappingError", "MerchantUnknown", "reason", "reasons_from_validation"]

MAX_REASONS = 20
"""A payload can break many rules at once; a dead letter keeps the first ones, enough to triage."""


class MappingError(Exception):
    """An envelope that does not map to a `NormalizedEvent`; `reasons` name the fields."""

    def __init__(self, reasons: Sequence[RejectReason]) -> None:
        if not reasons:
            raise ValueError("a MappingError needs at least one reason")
        self.reasons: tuple[RejectReason, ...] = tuple(reasons[:MAX_REASONS])
        super().__init__("; ".join(f"{r.field}: {r.code}: {r.message}" for r in self.reasons))

    @classmethod
    def one(cls, field: str, code: str, message: str) -> MappingError:
        return cls([reason(field, code, message)])


class MerchantUnknown(MappingError):  # noqa: N818 (named for what it says, like Ignored)
    """A Stripe refund or dispute without the platform's `metadata.merchant_id`: real Stripe copies
    nothing from the charge into a dispute, and a refund carries only what its creator set. The
    merchant is the one of its payment, `payment` (the Stripe PaymentIntent id, or the charge id when
    there is none): the worker looks it up (`normalizer.stripe_merchants`). A caller that does not
    know it still gets a `MappingError` with a machine-readable reason (`merchant_unknown`)."""

    FIELD = "payload.data.object.metadata.merchant_id"
    CODE = "merchant_unknown"

    def __init__(self, payment: str) -> None:
        self.payment = payment
        super().__init__(
            [
                reason(
                    self.FIELD,
                    self.CODE,
                    f"no platform merchant id, and the merchant of Stripe payment {payment} is not known",
                )
            ]
        )


class Ignored(Exception):  # noqa: N818 (not an error: an outcome the worker counts)
    """A well-formed event that is deliberately not an outcome of its own: another event of the
    provider carries the same fact, or it is a step before an outcome (a pending refund).

    Not an error: the worker counts it (`outcome="ignored"`) and acknowledges it, with no output
    and no dead letter, so a redrive never sees it again. `code` is machine-readable."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(f"{code}: {message}")


def reason(field: str, code: str, message: str) -> RejectReason:
    return RejectReason(field=field, code=code, message=message[:500])


def _path(prefix: str, loc: Iterable[int | str]) -> str:
    parts = [prefix] if prefix else []
    parts.extend(str(part) for part in loc)
    return ".".join(parts) or "<root>"


def reasons_from_validation(exc: ValidationError, prefix: str = "") -> list[RejectReason]:
    """One reason per pydantic error: the field path, pydantic's error type, its message.

    The input value is left out on purpose: it may be a card number or an e-mail address."""
    return [
        reason(_path(prefix, error["loc"]), error["type"], error["msg"])
        for error in exc.errors(include_input=False, include_url=False, include_context=False)
    ]
