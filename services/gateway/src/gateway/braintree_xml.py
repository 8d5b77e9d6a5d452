"""Braintree's webhook XML into plain data, the way the Braintree SDK reads it, but safely.

The SDK parses with `xml.dom.minidom`; we use defusedxml (no DTDs, entities or external
references: the payload is attacker-reachable until its signature is checked, and even signed
XML should not be able to expand itself). The conversion follows the SDK's rules:

* tag names have dashes turned into underscores (`currency-iso-code` -> `currency_iso_code`);
* `type="array"` gives a list of the children; repeated child elements become a list;
* `type="integer"`, `"boolean"` (`true`/`1`), `"datetime"` are converted; `nil="true"` is None;
* everything else is the element's text (empty string when empty).

Two deliberate differences: datetimes come out timezone-aware in UTC (the SDK returns naive UTC
datetimes, which our contracts refuse because their zone would be a guess), and `type="date"`
stays an ISO string (the contract models dates as strings).
"""

from __future__ import annotations

import binascii
from datetime import UTC, datetime
from typing import Any
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from gateway.errors import MalformedRequestError, SchemaMismatchError

MAX_DEPTH = 32
"""Deeper nesting than any Braintree notification: refused instead of recursing without bound."""


def decode_payload(payload: bytes) -> bytes:
    """base64 (with the newlines Braintree's encoder inserts) -> XML bytes."""
    try:
        return binascii.a2b_base64(payload, strict_mode=False)
    except (binascii.Error, ValueError) as exc:
        raise MalformedRequestError("bt_payload is not valid base64") from exc


def parse_notification(xml: bytes) -> dict[str, Any]:
    """`<notification>...</notification>` -> `{"kind": ..., "timestamp": ..., "subject": {...}}`
    (the children of the root element, as the SDK's `attributes["notification"]`)."""
    try:
        root = fromstring(xml, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (ParseError, DefusedXmlException, ValueError, LookupError) as exc:  # LookupError: unknown encoding
        raise MalformedRequestError(f"bt_payload is not well-formed XML ({type(exc).__name__})") from exc
    if _name(root) != "notification":
        raise SchemaMismatchError([{"loc": [_name(root)], "type": "root_element", "msg": "expected <notification>"}])
    parsed = _node(root, (), 0)
    if not isinstance(parsed, dict):
        raise SchemaMismatchError([{"loc": ["notification"], "type": "dict_type", "msg": "expected child elements"}])
    return parsed


def _name(element: Element) -> str:
    return element.tag.replace("-", "_") if isinstance(element.tag, str) else ""


def _node(element: Element, loc: tuple[str | int, ...], depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise MalformedRequestError(f"XML nested deeper than {MAX_DEPTH} levels")
    children = list(element)
    if element.get("type") == "array":
        return [_node(child, (*loc, index), depth + 1) for index, child in enumerate(children)]
    if not children:
        return _leaf(element, loc)
    result: dict[str, Any] = {}
    for child in children:
        name = _name(child)
        value = _node(child, (*loc, name), depth + 1)
        leaf_like = child.get("type") == "array" or not list(child)
        if leaf_like or name not in result or not result[name]:
            # The SDK overwrites repeated text elements and turns repeated structures into lists.
            result[name] = value
        elif isinstance(result[name], list):
            result[name].append(value)
        else:
            result[name] = [result[name], value]
    return result


def _leaf(element: Element, loc: tuple[str | int, ...]) -> Any:
    text = element.text
    kind = element.get("type")
    try:
        if kind == "integer":
            return int(text or "")
        if kind == "boolean":
            return text in ("true", "1")
        if kind == "datetime":
            return _datetime(text or "")
    except (ValueError, OverflowError):  # OverflowError: an instant that UTC cannot hold
        raise SchemaMismatchError(
            [{"loc": list(loc), "type": f"{kind}_parsing", "msg": f"not a valid XML {kind}"}]
        ) from None
    if element.get("nil") == "true":
        return None
    return text or ""


def _datetime(text: str) -> datetime:
    value = datetime.fromisoformat(text.strip())
    # Braintree writes UTC with `Z`; a timestamp without a zone is UTC as the SDK assumes.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
