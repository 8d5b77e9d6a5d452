"""Reads a simulated request back into the contracts' provider models, as a receiver would.

Used by the tests (every genuine body must validate, every malformed one must not) and handy for
anyone who wants to check a requests file against the contracts. The Braintree XML reader here is
meant for the simulator's own output only: a service reading XML from the network must use a
hardened parser (the gateway uses defusedxml).
"""

from __future__ import annotations

import base64
from typing import Any
from xml.etree import ElementTree  # (reads only XML this package generated)

from pydantic import BaseModel

from contracts.reference.providers import Provider
from contracts.schemas.providers.adyen import AdyenNotification
from contracts.schemas.providers.braintree import BraintreeNotification
from contracts.schemas.providers.square import SquareEvent
from contracts.schemas.providers.stripe import StripeEvent
from simulator.providers.base import WebhookRequest
from simulator.providers.braintree import decode_form


def _node(element: ElementTree.Element) -> Any:
    """Braintree's XML conventions: dashed tags, `nil="true"`, `type="array"`."""
    if element.get("nil") == "true":
        return None
    children = list(element)
    if element.get("type") == "array":
        return [_node(child) for child in children]
    if not children:
        return element.text or ""
    return {child.tag.replace("-", "_"): _node(child) for child in children}


def braintree_xml_to_dict(xml: bytes) -> dict[str, Any]:
    """The notification XML as the SDK's parser shapes it; `ValueError` if it is not XML."""
    try:
        root = ElementTree.fromstring(xml)  # noqa: S314 (the simulator's own output, see module docstring)
    except ElementTree.ParseError as error:
        raise ValueError(f"not XML: {error}") from error
    return {root.tag.replace("-", "_"): _node(root)}


def provider_models(provider: Provider, body: bytes) -> list[BaseModel]:
    """A request body as contracts models (one per Adyen item); raises if it does not validate."""
    if provider is Provider.STRIPE:
        return [StripeEvent.model_validate_json(body)]
    if provider is Provider.SQUARE:
        return [SquareEvent.model_validate_json(body)]
    if provider is Provider.ADYEN:
        notification = AdyenNotification.model_validate_json(body)
        return [wrapper.item for wrapper in notification.notification_items]
    _, payload = decode_form(body)
    tree = braintree_xml_to_dict(base64.decodebytes(payload))
    return [BraintreeNotification.model_validate(tree["notification"])]


def provider_event_ids(request: WebhookRequest) -> list[str]:
    """What the contracts models say identifies each event of the request."""
    ids: list[str] = []
    for model in provider_models(request.provider, request.body):
        ids.append(model.provider_event_id())  # type: ignore[attr-defined]
    return ids
