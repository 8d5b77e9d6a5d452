"""Why a request was refused: a small exception hierarchy, one status and one reason per class.

Service modules raise these; the shared problem handler (`service_kit`, registered in
`inference.app`) turns them, and Litestar's own exceptions, into problem-details JSON with a
machine-readable `reason`.
"""

from enum import StrEnum
from typing import TypedDict

from service_kit import ServiceError


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


class InferenceError(ServiceError, status=400, reason=Reason.CLIENT_ERROR):
    """Base of every refusal; `status_code`, `reason` and `errors` are what the caller sees."""

    def __init__(
        self,
        detail: str,
        *,
        errors: list[FieldError] | None = None,
        reason: Reason | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(detail, errors=errors, reason=reason, retry_after=retry_after)


class InvalidRequestError(InferenceError, status=422, reason=Reason.INVALID_REQUEST):
    """Well-formed JSON that is not the contract model; `errors` names each field."""


class FeaturesNotFoundError(InferenceError, status=422, reason=Reason.FEATURES_NOT_FOUND):
    """The feature store has no value for some features of these entities; send the features."""


class NoFxRateError(InferenceError, status=422, reason=Reason.NO_FX_RATE):
    """`amount_usd` cannot be derived: no USD rate is configured for the context's currency."""


class FeatureStoreUnavailableError(InferenceError, status=503, reason=Reason.FEATURE_STORE_UNAVAILABLE):
    """The Feast server cannot be reached (or timed out) and the request carried no features."""


class FeatureStoreError(InferenceError, status=502, reason=Reason.FEATURE_STORE_ERROR):
    """The Feast server answered, but not with usable features (error status, bad values)."""


class ModelOutputError(InferenceError, status=500, reason=Reason.INTERNAL_ERROR):
    """The served model answered with values that are not probabilities (NaN, or outside [0, 1])."""
