"""Errors as problem details (RFC 9457) with a machine-readable `reason`, from one handler.

A service raises `ServiceError` subclasses (one status and one default reason per class) and
registers `problem_handler(...)` for `Exception`. Litestar's own exceptions (unknown route, wrong
method, body too large, body validation) get the same shape; anything unexpected is a 500
`internal_error` whose body says nothing internal, while the log gets the traceback (without local
variables: see `service_kit.logs`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, InternalServerException, ValidationException

__all__ = [
    "PROBLEM_MEDIA_TYPE",
    "BodyTooLargeError",
    "CommonReason",
    "MalformedBodyError",
    "NotReadyError",
    "Problem",
    "ProblemDetails",
    "ServiceError",
    "problem_for",
    "problem_handler",
]

log = structlog.get_logger("service_kit.problems")

PROBLEM_MEDIA_TYPE = "application/problem+json"
BODY_ARGUMENT = "data"
"""Litestar's name for a handler's request body."""
CLIENT_DISCONNECTED_DETAIL = "client disconnected prematurely"
"""What Litestar's `Request.stream()` raises (as a 500) when the client goes away mid-body: also
what a malformed chunked body becomes, since the server drops such a connection."""


class CommonReason:
    """Reasons every service answers with for the framework's own refusals."""

    MALFORMED_BODY = "malformed_body"
    INVALID_REQUEST = "invalid_request"
    BODY_TOO_LARGE = "body_too_large"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    CLIENT_ERROR = "client_error"
    CLIENT_DISCONNECTED = "client_disconnected"
    NOT_READY = "not_ready"
    INTERNAL_ERROR = "internal_error"


class ServiceError(Exception):
    """Base of a service's refusals: `status_code`, `reason`, `detail` and `errors` are answered.

    A subclass names its status and default reason (a service's `StrEnum` member or a string) in
    its class line: `class TooLateError(ServiceError, status=409, reason="too_late"): ...`.
    `retry_after` (seconds) is sent as `Retry-After`. `detail` and `errors` must never hold
    secrets or payload values.
    """

    status_code: ClassVar[int] = 400
    default_reason: ClassVar[str] = CommonReason.CLIENT_ERROR

    def __init_subclass__(cls, *, status: int | None = None, reason: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if status is not None:
            cls.status_code = status
        if reason is not None:
            cls.default_reason = reason

    def __init__(
        self,
        detail: Any = None,
        *,
        reason: str | None = None,
        errors: Sequence[Any] | None = None,
        retry_after: int | None = None,
    ) -> None:
        self.reason = reason or self.default_reason
        self.detail = detail
        self.errors = list(errors or [])
        self.retry_after = retry_after
        super().__init__(detail if isinstance(detail, str) else f"{self.reason}: {detail}")

    def headers(self) -> dict[str, str]:
        return {} if self.retry_after is None else {"Retry-After": str(self.retry_after)}


class MalformedBodyError(ServiceError, status=400, reason=CommonReason.MALFORMED_BODY):
    """The body cannot be read at all (not the format the route takes): no field can be blamed."""


class BodyTooLargeError(ServiceError, status=413, reason=CommonReason.BODY_TOO_LARGE):
    """Larger than the service, or what it writes to, accepts: retrying cannot help."""


class NotReadyError(ServiceError, status=503, reason=CommonReason.NOT_READY):
    """Something the service needs is not there yet (readiness); give `retry_after`."""


@dataclass(frozen=True, slots=True)
class Problem:
    """What one refusal answers, before rendering."""

    status: int
    reason: str
    detail: Any = None
    errors: Sequence[Any] = ()
    headers: Mapping[str, str] = field(default_factory=dict)
    expected: bool = True
    """False for a bug (an exception nobody raised on purpose): logged with its traceback."""


@dataclass(frozen=True, slots=True)
class ProblemDetails:
    """The body of every refusal, for OpenAPI (`ResponseSpec(data_container=ProblemDetails)`)."""

    type: str
    title: str
    status: int
    reason: str
    """Machine-readable reason, e.g. `not_found`, `body_too_large`, or a service's own."""
    instance: str
    detail: Any = None
    """Human-readable detail; never input values."""
    errors: list[Any] | None = None
    """One entry per offending field, where fields can be blamed."""


def _field_errors(extra: Any) -> list[dict[str, str]]:
    errors: list[dict[str, str]] = []
    if isinstance(extra, list):
        for item in extra:
            if isinstance(item, dict):
                key = item.get("key")
                errors.append({"field": str(key) if key else "body", "message": str(item.get("message", ""))})
    return errors


def problem_for(exc: Exception) -> Problem:
    """Any exception as a `Problem`: ours, Litestar's, or a bug."""
    if isinstance(exc, ServiceError):
        return Problem(exc.status_code, str(exc.reason), exc.detail, exc.errors, exc.headers())
    if isinstance(exc, ValidationException):
        errors = _field_errors(exc.extra)
        if [error["field"] for error in errors] == [BODY_ARGUMENT]:
            # Litestar reads an empty body as no `data` argument at all.
            return Problem(400, CommonReason.MALFORMED_BODY, "request body is empty: a JSON document is required")
        return Problem(422, CommonReason.INVALID_REQUEST, "the request does not match the contract", errors)
    if isinstance(exc, InternalServerException) and exc.detail == CLIENT_DISCONNECTED_DETAIL:
        # The client's doing, not a bug: no traceback, and the answer (if it still listens) is 400.
        return Problem(400, CommonReason.CLIENT_DISCONNECTED, "the client disconnected before the body was complete")
    if isinstance(exc, HTTPException):
        status = exc.status_code
        headers = dict(exc.headers or {})
        if status == 404:
            return Problem(404, CommonReason.NOT_FOUND, "no such resource")
        if status == 405:
            return Problem(405, CommonReason.METHOD_NOT_ALLOWED, "method not allowed", headers=headers)
        if status == 413:
            return Problem(413, CommonReason.BODY_TOO_LARGE, "request body larger than the configured limit")
        if status < 500:
            return Problem(status, CommonReason.CLIENT_ERROR, str(exc.detail), headers=headers)
    return Problem(500, CommonReason.INTERNAL_ERROR, "internal error", expected=False)


def render(problem: Problem, *, service: str, instance: str, media_type: str = PROBLEM_MEDIA_TYPE) -> Response[Any]:
    body: dict[str, Any] = {
        "type": f"urn:payments-mlops:{service}:problem:{problem.reason}",
        "title": problem.reason.replace("_", " "),
        "status": problem.status,
        "detail": problem.detail,
        "reason": problem.reason,
        "instance": instance,
    }
    if problem.errors:
        body["errors"] = list(problem.errors)
    return Response(body, status_code=problem.status, media_type=media_type, headers=dict(problem.headers))


Observer = Callable[[Request[Any, Any, Any], Problem], None]


def problem_handler(
    service: str,
    *,
    observe: Observer | None = None,
    media_type: str = PROBLEM_MEDIA_TYPE,
    classify: Callable[[Exception], Problem | None] | None = None,
) -> Callable[[Request[Any, Any, Any], Exception], Response[Any]]:
    """The one exception handler of a service: `exception_handlers={Exception: problem_handler(...)}`.

    `observe` sees every problem (count it in metrics); `classify` may turn an exception the kit
    does not know into a `Problem` (return None to leave it to the kit); `media_type` is
    `application/problem+json` unless a service's callers expect plain JSON.
    """

    def handle(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
        problem = (classify(exc) if classify is not None else None) or problem_for(exc)
        path = request.url.path
        fields = {"method": request.method, "path": path, "status": problem.status, "reason": problem.reason}
        if not problem.expected:
            # A bug, not a refusal: the traceback is rendered without local variables.
            log.error("unhandled_error", **fields, exc_info=exc)
        elif problem.status >= 500:
            log.warning("deferred", **fields, detail=problem.detail)
        else:
            log.info("refused", **fields, detail=problem.detail)
        if observe is not None:
            observe(request, problem)
        return render(problem, service=service, instance=path, media_type=media_type)

    return handle
