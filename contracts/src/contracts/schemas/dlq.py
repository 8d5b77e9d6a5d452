"""Dead letters: events a stage could not process, with field-level reasons, for triage.

A dead letter never carries raw signature headers or secrets, and the payload excerpt is
truncated and redacted by the producer (`redact_excerpt`), best effort: e-mail addresses and
card numbers (Luhn-valid) wherever they stand, and the string or number value under each key
listed in `contracts.reference.personal_data`. Free text (descriptions, notes), string items of
arrays and base64-wrapped payloads are not masked.
"""

import re
from typing import Annotated, Literal
from uuid import UUID

from pydantic import Field

from contracts.reference.personal_data import is_personal_data_key
from contracts.schemas.base import ContractModel, Identifier, UtcDatetime
from contracts.schemas.normalized_event import SourcePosition

MAX_EXCERPT_CHARS = 2048
REDACTION_WINDOW_CHARS = 16 * MAX_EXCERPT_CHARS
"""Only this much of a payload is redacted and then cut: a dead letter is malformed by definition
and may be a megabyte of one run of characters, and the redactor runs on a stage's event loop."""
_EMAIL_PART = r"[^\s@\"'<>()\[\],;:]"
_EMAIL = re.compile(rf"{_EMAIL_PART}{{1,64}}@{_EMAIL_PART}{{1,253}}\.{_EMAIL_PART}{{2,63}}")  # internationalized too
"""Bounded by RFC 5321's lengths, so that a long run without spaces is scanned in linear time (an
unbounded `P+@P+` rescans the run from every start: minutes for 256 KiB)."""
_PAN = re.compile(r"(?<![0-9])[0-9](?:[ -]?[0-9]){12,18}(?![0-9])")
"""13 to 19 digits, grouped by single spaces or dashes or not, whatever stands around them
(`pan_4242...` has no word boundary). Masked only when they pass the Luhn check, as every card
number does: a 16-digit Adyen `pspReference` or a millisecond timestamp is an id triage needs."""
REDACTED = "<redacted>"
_MASKS = frozenset({'"<email>"', '"<pan>"', f'"{REDACTED}"'})
_JSON_MEMBER = re.compile(
    r'"(?P<key>(?:[^"\\\n]|\\.){1,100})"(?P<sep>\s*:\s*)' r'(?P<value>"(?:[^"\\]|\\.)*(?:"|$)|-?[0-9][0-9.eE+-]*)'
)
"""`"key": value` with a string (unterminated too: a payload cut short) or number value; an
object or array value is left to its members' keys."""
_XML_ELEMENT = re.compile(r"<(?P<tag>[A-Za-z_][\w.:-]{0,99})(?P<attrs>\s[^<>]*)?>(?P<value>[^<]+)</(?P=tag)\s*>")
"""`<key attr="...">text</key>`: an element with text only (Braintree's XML)."""


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


def _luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _redact_card_number(match: re.Match[str]) -> str:
    digits = re.sub(r"[ -]", "", match[0])
    return "<pan>" if _luhn_valid(digits) else match[0]


def _redact_json_member(match: re.Match[str]) -> str:
    if not is_personal_data_key(match["key"]) or match["value"] in _MASKS:
        return match[0]
    return f'"{match["key"]}"{match["sep"]}"{REDACTED}"'


def _redact_xml_element(match: re.Match[str]) -> str:
    if not is_personal_data_key(match["tag"]):
        return match[0]
    return f"<{match['tag']}{match['attrs'] or ''}>{REDACTED}</{match['tag']}>"


def redact_excerpt(payload: bytes | str) -> str:
    """A bounded excerpt of a rejected payload, redacted best effort: e-mails and card numbers
    masked wherever they stand, then the values under personal-data keys (names, addresses,
    postal codes, phones, IP addresses, dates of birth, bank accounts, tokens and secrets: the
    list is `contracts.reference.personal_data`) replaced by `"<redacted>"`, in JSON and in XML.
    Redacted before it is cut to `MAX_EXCERPT_CHARS`, so that a value cut short is masked too."""
    text = payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else payload
    text = text[:REDACTION_WINDOW_CHARS]
    text = _EMAIL.sub("<email>", text)
    text = _PAN.sub(_redact_card_number, text)
    text = _JSON_MEMBER.sub(_redact_json_member, text)
    text = _XML_ELEMENT.sub(_redact_xml_element, text)
    return text[:MAX_EXCERPT_CHARS]
