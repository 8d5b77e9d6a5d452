"""Why a webhook was refused: a small exception hierarchy, one HTTP status per class.

Verifiers and the intake raise these; the shared problem handler (`service_kit`, registered in
`gateway.asgi`) answers them as problem details with a `reason`. Details never contain secrets,
signature header values or payload values (a payload may carry card data): only field locations
and messages.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import ValidationError
from service_kit import BodyTooLargeError, MalformedBodyError, ServiceError

__all__ = [
    "BodyTooLargeError",
    "BrokerUnavailableError",
    "GatewayError",
    "MalformedRequestError",
    "Reason",
    "SchemaMismatchError",
    "SignatureRejectedError",
    "UnsupportedMediaTypeError",
    "field_errors",
]


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
    CLIENT_DISCONNECTED = "client_disconnected"
    INTERNAL_ERROR = "internal_error"


MalformedRequestError = MalformedBodyError
"""Not UTF-8, not JSON, not a form, not base64, not XML (`service_kit`'s 400 `malformed_body`)."""


class GatewayError(ServiceError, status=400, reason=Reason.CLIENT_ERROR):
    """Base of every refusal; `status_code` and `reason` are what the caller sees."""


class SignatureRejectedError(GatewayError, status=401, reason=Reason.SIGNATURE_MISMATCH):
    """Missing, unparsable, wrong or expired signature: nothing about the body is trusted."""


class SchemaMismatchError(GatewayError, status=422, reason=Reason.SCHEMA_MISMATCH):
    """Well-formed, but not the provider's contract model (`errors` lists `{loc, type, msg}`)."""

    DETAIL = "the body does not match the provider's contract model"

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(self.DETAIL, errors=errors)

    @classmethod
    def from_validation_error(cls, exc: ValidationError, prefix: tuple[str | int, ...] = ()) -> SchemaMismatchError:
        return cls(field_errors(exc, prefix))


class UnsupportedMediaTypeError(GatewayError, status=415, reason=Reason.UNSUPPORTED_MEDIA_TYPE):
    """Not the content type the provider sends."""


class BrokerUnavailableError(GatewayError, status=503, reason=Reason.BROKER_UNAVAILABLE):
    """Kafka did not acknowledge in time: the provider must retry later (`retry_after`)."""


MAX_FIELD_ERRORS = 20


def field_errors(exc: ValidationError, prefix: tuple[str | int, ...] = ()) -> list[dict[str, Any]]:
    """Pydantic errors as `{loc, type, msg}`: never the offending input, which may be card data."""
    errors = exc.errors(include_url=False, include_input=False, include_context=False)
    return [
        {"loc": [*prefix, *error["loc"]], "type": error["type"], "msg": error["msg"]}
        for error in errors[:MAX_FIELD_ERRORS]
    ]
