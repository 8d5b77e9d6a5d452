"""Dead letters: events a stage could not process, with field-level reasons, for triage.

A dead letter never carries raw signature headers or secrets, and the payload excerpt is
truncated and redacted by the producer (`redact_excerpt`).
"""

import re
from typing import Annotated, Literal
from uuid import UUID

from pydantic import Field

from contracts.schemas.base import ContractModel, Identifier, UtcDatetime
from contracts.schemas.normalized_event import SourcePosition

MAX_EXCERPT_CHARS = 2048
_EMAIL_PART = r"[^\s@\"'<>()\[\],;:]"
_EMAIL = re.compile(rf"{_EMAIL_PART}+@{_EMAIL_PART}+\.{_EMAIL_PART}{{2,}}")  # internationalized too
_PAN = re.compile(r"(?<![0-9])[0-9](?:[ -]?[0-9]){12,18}(?![0-9])")
"""13 to 19 digits, grouped by single spaces or dashes or not, whatever stands around them
(`pan_4242...` has no word boundary). Longer digit runs that merely contain one are masked too:
an excerpt loses nothing it needs by that."""


class RejectReason(ContractModel):
    """One machine-readable reason: which field, which rule, and a human message."""

    field: str
    code: Identifier
    message: str


class DeadLetter(ContractModel):
    contract_name = "dead_letter"

    dlq_id: UUID
    stage: Literal["gateway", "normalizer", "orchestrator", "feature_push"]
    source: SourcePosition
    key: str | None = None
    reasons: Annotated[tuple[RejectReason, ...], Field(min_length=1)]
    payload_excerpt: Annotated[str, Field(max_length=MAX_EXCERPT_CHARS)]
    failed_at: UtcDatetime
    attempts: Annotated[int, Field(ge=1)] = 1
    worker: Identifier | None = None


def redact_excerpt(payload: bytes | str) -> str:
    """A bounded, PII-free excerpt of a rejected payload: e-mails and card-number-like digits masked."""
    text = payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else payload
    text = _EMAIL.sub("<email>", text)
    text = _PAN.sub("<pan>", text)
    return text[:MAX_EXCERPT_CHARS]
