"""Why a request was refused: a small exception hierarchy, one status and one reason per class.

Service modules raise these; one exception handler (`inference.problems`) turns them, and
Litestar's own exceptions, into problem-details JSON with a machine-readable `reason`.
"""

from enum import StrEnum
from typing import ClassVar, TypedDict


class Reason(StrEnum):
    """Machine-readable reasons: callers' retry logic and our dashboards key on them."""

    INVALID_REQUEST = "invalid_request"
    MALFORMED_BODY = "malformed_body"
    BODY_TOO_LARGE = "body_too_large"
    FEATURES_NOT_FOUND = "features_not_found"
    NO_FX_RATE = "no_fx_rate"
    FEATURE_STORE_UNAVAILABLE = "feature_store_unavailable"
    FEATURE_STORE_ERROR = "feature_store_error"
    NOT_READY = "not_ready"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    CLIENT_ERROR = "client_error"
    INTERNAL_ERROR = "internal_error"


class FieldError(TypedDict):
    field: str
    message: str


class InferenceError(Exception):
    """Base of every refusal; `status_code`, `reason` and `errors` are what the caller sees."""

    status_code: ClassVar[int] = 400
    default_reason: ClassVar[Reason] = Reason.CLIENT_ERROR

    def __init__(self, detail: str, *, errors: list[FieldError] | None = None, reason: Reason | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []
        self.reason = reason or self.default_reason

    def headers(self) -> dict[str, str]:
        return {}


class MalformedBodyError(InferenceError):
    """The body is not JSON at all, so no field can be blamed."""

    status_code = 400
    default_reason = Reason.MALFORMED_BODY


class InvalidRequestError(InferenceError):
    """Well-formed JSON that is not the contract model; `errors` names each field."""

    status_code = 422
    default_reason = Reason.INVALID_REQUEST


class FeaturesNotFoundError(InferenceError):
    """The feature store has no value for some features of these entities; send the features."""

    status_code = 422
    default_reason = Reason.FEATURES_NOT_FOUND


class NoFxRateError(InferenceError):
    """`amount_usd` cannot be derived: no USD rate is configured for the context's currency."""

    status_code = 422
    default_reason = Reason.NO_FX_RATE


class FeatureStoreUnavailableError(InferenceError):
    """The Feast server cannot be reached (or timed out) and the request carried no features."""

    status_code = 503
    default_reason = Reason.FEATURE_STORE_UNAVAILABLE

    def __init__(self, detail: str, *, retry_after_seconds: int) -> None:
        super().__init__(detail)
        self.retry_after_seconds = retry_after_seconds

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_seconds)}


class FeatureStoreError(InferenceError):
    """The Feast server answered, but not with usable features (error status, bad values)."""

    status_code = 502
    default_reason = Reason.FEATURE_STORE_ERROR


class ModelOutputError(InferenceError):
    """The served model answered with values that are not probabilities (NaN, or outside [0, 1])."""

    status_code = 500
    default_reason = Reason.INTERNAL_ERROR


class NotReadyError(InferenceError):
    status_code = 503
    default_reason = Reason.NOT_READY
