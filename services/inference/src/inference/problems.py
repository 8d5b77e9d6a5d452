"""Request bodies for the shared problem handler (`service_kit.problem_handler`, in `inference.app`).

Every exception, ours or Litestar's, goes through that handler: validation failures become 422
with one entry per offending field, unknown routes 404, and anything unexpected 500 with nothing
internal in the body (the traceback goes to the log).
"""

import json
from typing import Any

from litestar import Request
from litestar.exceptions import SerializationException
from service_kit import MalformedBodyError


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
