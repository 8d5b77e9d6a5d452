"""Why a webhook was refused: a small exception hierarchy, one HTTP status per class.

Verifiers and the intake raise these; one exception handler (`gateway.asgi`) turns them into a
small JSON body `{"reason": ..., "detail": ...}`. Details never contain secrets, signature header
values or payload values (a payload may carry card data): only field locations and messages.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, ClassVar

from pydantic import ValidationError


class Reason(StrEnum):
    """Machine-readable refusal reasons: a provider's retry logic and our dashboards key on them."""

    MALFORMED_BODY = "malformed_body"
    SIGNATURE_MISSING = "signature_missing"
    SIGNATURE_MALFORMED = "signature_malformed"
    SIGNATURE_MISMATCH = "signature_mismatch"
    TIMESTAMP_EXPIRED = "timestamp_expired"
    TIMESTAMP_IN_FUTURE = "timestamp_in_future"
    BODY_TOO_LARGE = "body_too_large"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    SCHEMA_MISMATCH = "schema_mismatch"
    BROKER_UNAVAILABLE = "broker_unavailable"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    CLIENT_ERROR = "client_error"
    INTERNAL_ERROR = "internal_error"


class GatewayError(Exception):
    """Base of every refusal; `status_code` and `reason` are what the caller sees."""

    status_code: ClassVar[int] = 400
    default_reason: ClassVar[Reason] = Reason.CLIENT_ERROR

    def __init__(self, detail: Any = None, *, reason: Reason | None = None) -> None:
        self.reason = reason or self.default_reason
        self.detail = detail
        super().__init__(f"{self.reason}: {detail}" if detail is not None else str(self.reason))

    def headers(self) -> dict[str, str]:
        return {}


class MalformedRequestError(GatewayError):
    """The body cannot be read at all: not UTF-8, not JSON, not a form, not base64, not XML."""

    status_code = 400
    default_reason = Reason.MALFORMED_BODY


class SignatureRejectedError(GatewayError):
    """Missing, unparsable, wrong or expired signature: nothing about the body is trusted."""

    status_code = 401
    default_reason = Reason.SIGNATURE_MISMATCH


class BodyTooLargeError(GatewayError):
    status_code = 413
    default_reason = Reason.BODY_TOO_LARGE


class UnsupportedMediaTypeError(GatewayError):
    status_code = 415
    default_reason = Reason.UNSUPPORTED_MEDIA_TYPE


class SchemaMismatchError(GatewayError):
    """Authentic and well-formed, but not the provider's contract model."""

    status_code = 422
    default_reason = Reason.SCHEMA_MISMATCH

    @classmethod
    def from_validation_error(cls, exc: ValidationError, prefix: tuple[str | int, ...] = ()) -> SchemaMismatchError:
        return cls(field_errors(exc, prefix))


class BrokerUnavailableError(GatewayError):
    """Kafka did not acknowledge in time: the provider must retry later."""

    status_code = 503
    default_reason = Reason.BROKER_UNAVAILABLE

    def __init__(self, detail: Any = None, *, retry_after: int = 5) -> None:
        super().__init__(detail)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


MAX_FIELD_ERRORS = 20


def field_errors(exc: ValidationError, prefix: tuple[str | int, ...] = ()) -> list[dict[str, Any]]:
    """Pydantic errors as `{loc, type, msg}`: never the offending input, which may be card data."""
    errors = exc.errors(include_url=False, include_input=False, include_context=False)
    return [
        {"loc": [*prefix, *error["loc"]], "type": error["type"], "msg": error["msg"]}
        for error in errors[:MAX_FIELD_ERRORS]
    ]
