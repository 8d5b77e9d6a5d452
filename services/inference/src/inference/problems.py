"""Errors as problem details (RFC 9457) with a machine-readable `reason`, from one handler.

Every exception, ours or Litestar's, goes through `problem_response`: validation failures become
422 with one entry per offending field, unknown routes 404, and anything unexpected 500 with
nothing internal in the body (the traceback goes to the log).
"""

import json
import logging
from typing import Any

from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    MethodNotAllowedException,
    NotFoundException,
    SerializationException,
    ValidationException,
)
from litestar.status_codes import HTTP_413_REQUEST_ENTITY_TOO_LARGE

from inference.errors import FieldError, InferenceError, MalformedBodyError, Reason
from inference.metrics import Metrics

logger = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_PREFIX = "urn:payments-mlops:inference:problem:"
BODY_ARGUMENT = "data"
"""Litestar's name for a handler's request body; every body-taking handler here uses it."""


class InferenceRequest(Request[Any, Any, Any]):
    """A request whose JSON body may spell non-finite numbers.

    msgspec refuses `NaN`, `Infinity` and out-of-range numbers (`1e999`) as malformed JSON, which
    would answer 400 without naming the field. Python's parser reads them as floats, so the
    contract model can refuse them field by field (422, `Input should be a finite number`).
    """

    async def json(self) -> Any:
        try:
            return await super().json()
        except SerializationException:
            body = await self.body()
            try:
                return json.loads(body)
            except (ValueError, RecursionError):
                raise MalformedBodyError("request body is not valid JSON") from None


def _validation_errors(extra: Any) -> list[FieldError]:
    errors: list[FieldError] = []
    if isinstance(extra, list):
        for item in extra:
            if isinstance(item, dict):
                key = item.get("key")
                errors.append({"field": str(key) if key else "body", "message": str(item.get("message", ""))})
    return errors


def _problem(
    status: int,
    reason: Reason,
    detail: str,
    path: str,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_PREFIX + reason.value,
        "title": reason.value.replace("_", " "),
        "status": status,
        "detail": detail,
        "reason": reason.value,
        "instance": path,
    }
    if errors:
        body["errors"] = errors
    return Response(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def problem_response(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    """The one exception handler of the app (registered for `Exception`)."""
    path = request.url.path
    if isinstance(exc, InferenceError):
        response = _problem(exc.status_code, exc.reason, exc.detail, path, exc.errors, exc.headers())
    elif isinstance(exc, ValidationException):
        errors = _validation_errors(exc.extra)
        if [error["field"] for error in errors] == [BODY_ARGUMENT]:
            # Litestar reads an empty body as no `data` argument at all.
            response = _problem(400, Reason.MALFORMED_BODY, "request body is empty: a JSON document is required", path)
        else:
            response = _problem(422, Reason.INVALID_REQUEST, "the request does not match the contract", path, errors)
    elif isinstance(exc, NotFoundException):
        response = _problem(404, Reason.NOT_FOUND, "no such resource", path)
    elif isinstance(exc, MethodNotAllowedException):
        response = _problem(405, Reason.METHOD_NOT_ALLOWED, "method not allowed", path, headers=exc.headers)
    elif isinstance(exc, HTTPException) and exc.status_code == HTTP_413_REQUEST_ENTITY_TOO_LARGE:
        response = _problem(413, Reason.BODY_TOO_LARGE, "request body too large", path)
    elif isinstance(exc, HTTPException) and exc.status_code < 500:
        response = _problem(exc.status_code, Reason.CLIENT_ERROR, str(exc.detail), path)
    else:
        logger.error("unhandled error on %s %s", request.method, path, exc_info=exc)
        response = _problem(500, Reason.INTERNAL_ERROR, "internal error", path)
    metrics: Metrics | None = getattr(request.app.state, "metrics", None)
    if metrics is not None:
        body = response.content
        metrics.errors.labels(str(response.status_code), str(body.get("reason", ""))).inc()
    return response
