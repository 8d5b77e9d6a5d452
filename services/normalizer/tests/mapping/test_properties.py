"""Properties of the mappings, over generated input: exact money, stable ids, reasons not crashes."""

from __future__ import annotations

import json
from decimal import Decimal
from fractions import Fraction
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.reference.currencies import MINOR_UNIT_EXPONENTS, PROVIDER_EXPONENTS
from contracts.reference.providers import Provider
from contracts.schemas.normalized_event import EVENT_ID_NAMESPACE, NormalizedEvent
from contracts.schemas.payment_event import ENVELOPES
from mapping.golden import GOLDEN, LOOKED_UP, Golden
from normalizer.mapping import MappingError, normalize
from testing.strategies import documents

# Pants runs several test processes on two shared cores: no speed health checks.
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

INTEGER_AMOUNT_FIXTURES: dict[Provider, tuple[str, tuple[str, ...]]] = {
    Provider.STRIPE: ("stripe.charge.succeeded.payment.succeeded", ("payload", "data", "object")),
    Provider.SQUARE: (
        "square.payment.updated.payment.succeeded",
        ("payload", "data", "object", "payment", "amount_money"),
    ),
    Provider.ADYEN: ("adyen.AUTHORISATION.payment.succeeded", ("payload", "amount")),
}
AMOUNT_FIELD = {Provider.STRIPE: "amount", Provider.SQUARE: "amount", Provider.ADYEN: "value"}
CURRENCIES = sorted(MINOR_UNIT_EXPONENTS)


def _node(document: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    node = document
    for part in path:
        node = node[part]
    return node


def _exact_minor(provider: Provider, amount: int, currency: str) -> int | None:
    """The amount in ISO minor units, worked out from the exponent tables with fractions."""
    wire = PROVIDER_EXPONENTS.get(provider, {}).get(currency, MINOR_UNIT_EXPONENTS[currency])
    value = Fraction(amount, 10**wire) * 10 ** MINOR_UNIT_EXPONENTS[currency]
    return int(value) if value.denominator == 1 else None


def _currency_on_wire(provider: Provider, currency: str) -> str:
    return currency.lower() if provider is Provider.STRIPE else currency


@st.composite
def provider_amounts(draw: st.DrawFn) -> tuple[Provider, str, int]:
    provider = draw(st.sampled_from(sorted(INTEGER_AMOUNT_FIXTURES)))
    # The currencies a provider writes with another exponent come up often, not by luck.
    odd = sorted(PROVIDER_EXPONENTS.get(provider, {}))
    currency = draw(st.sampled_from(odd) | st.sampled_from(CURRENCIES) if odd else st.sampled_from(CURRENCIES))
    amount = draw(st.integers(min_value=0, max_value=10**12) | st.integers(0, 1000).map(lambda n: n * 100))
    return provider, currency, amount


@PROPERTY
@given(provider_amounts())
def test_integer_amounts_are_exact_or_refused(case: tuple[Provider, str, int]) -> None:
    provider, currency, amount = case
    name, path = INTEGER_AMOUNT_FIXTURES[provider]
    document = GOLDEN[name].document()
    node = _node(document, path)
    node["currency"] = _currency_on_wire(provider, currency)
    node[AMOUNT_FIELD[provider]] = amount
    expected = _exact_minor(provider, amount, currency)
    outcome = _outcome(provider, json.dumps(document).encode())
    if isinstance(outcome, MappingError):
        assert expected is None, outcome.reasons
        assert [reason.code for reason in outcome.reasons] == ["inexact_amount"]
    else:
        assert expected is not None
        assert (outcome.amount_minor, outcome.currency) == (expected, currency)


@st.composite
def major_amounts(draw: st.DrawFn) -> tuple[str, str, int | None]:
    """A Braintree amount string, its currency, and its minor units if it has no excess decimals."""
    currency = draw(st.sampled_from(CURRENCIES))
    whole = draw(st.integers(min_value=0, max_value=10**9))
    decimals = draw(st.integers(min_value=0, max_value=5))
    fraction = draw(st.integers(min_value=0, max_value=10**decimals - 1)) if decimals else 0
    text = f"{whole}.{fraction:0{decimals}d}" if decimals else str(whole)
    value = Fraction(whole) + Fraction(fraction, 10**decimals)
    minor = value * 10 ** MINOR_UNIT_EXPONENTS[currency]
    return text, currency, int(minor) if minor.denominator == 1 else None


@PROPERTY
@given(major_amounts())
def test_braintree_major_amounts_are_exact_or_refused(case: tuple[str, str, int | None]) -> None:
    text, currency, expected = case
    document = GOLDEN["braintree.transaction_settled.payment.succeeded"].document()
    transaction = document["payload"]["subject"]["transaction"]
    transaction["amount"], transaction["currency_iso_code"] = text, currency
    outcome = _outcome(Provider.BRAINTREE, json.dumps(document).encode())
    if isinstance(outcome, MappingError):
        assert expected is None, outcome.reasons
        assert [reason.field for reason in outcome.reasons] == ["payload.subject.transaction.amount"]
    else:
        assert (outcome.amount_minor, outcome.currency) == (expected, currency)
        assert Decimal(text) * 10 ** MINOR_UNIT_EXPONENTS[currency] == outcome.amount_minor


@PROPERTY
@given(st.sampled_from(sorted(GOLDEN)), st.text(st.characters(codec="utf-8"), min_size=1, max_size=80))
def test_event_ids_are_deterministic_per_provider_event(name: str, provider_event_id: str) -> None:
    golden = GOLDEN[name]
    document = golden.document()
    document["provider_event_id"] = provider_event_id
    value = json.dumps(document).encode()
    party = LOOKED_UP.get(name)  # a Stripe dispute's merchant is its payment's, looked up
    first, again = (normalize(golden.provider, value, party=party) for _ in range(2))
    assert first == again
    assert first.event_id == uuid5(EVENT_ID_NAMESPACE, f"{golden.provider.value}:{provider_event_id}")
    assert first.event_id != uuid5(NAMESPACE_URL, provider_event_id)
    other = normalize(golden.provider, golden.value, party=party)
    assert (first.event_id == other.event_id) == (provider_event_id == golden.provider_event_id)


def _outcome(provider: Provider, value: bytes | None) -> NormalizedEvent | MappingError:
    """Mapped or refused with reasons: anything else propagates and fails the test."""
    try:
        return normalize(provider, value)
    except MappingError as exc:
        refused = exc
    assert refused.reasons
    assert all(reason.field and reason.code and reason.message for reason in refused.reasons)
    return refused


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


@st.composite
def mutated(draw: st.DrawFn) -> tuple[Golden, bytes]:
    """A golden envelope with one field somewhere replaced by arbitrary JSON, or deleted."""
    golden = GOLDEN[draw(st.sampled_from(sorted(GOLDEN)))]
    document = golden.document()
    node: Any = document
    while True:
        keys = list(node) if isinstance(node, dict) else list(range(len(node))) if isinstance(node, list) else []
        if not keys:
            break
        key = draw(st.sampled_from(keys))
        child = node[key]
        if isinstance(child, dict | list) and child and draw(st.booleans()):
            node = child
            continue
        if isinstance(node, dict) and draw(st.booleans()):
            del node[key]
        else:
            node[key] = draw(JSON)
        break
    return golden, json.dumps(document).encode()


@PROPERTY
@given(mutated())
def test_mutated_envelopes_map_or_are_refused_with_reasons(case: tuple[Golden, bytes]) -> None:
    golden, value = case
    _outcome(golden.provider, value)


@PROPERTY
@given(st.sampled_from(sorted(ENVELOPES)).flatmap(lambda p: st.tuples(st.just(p), documents(ENVELOPES[p]))))
def test_schema_shaped_documents_map_or_are_refused_with_reasons(case: tuple[Provider, Any]) -> None:
    provider, document = case
    _outcome(provider, json.dumps(document).encode())


@PROPERTY
@given(st.sampled_from(sorted(ENVELOPES)), st.binary(max_size=200) | st.none())
def test_arbitrary_bytes_are_refused_with_reasons(provider: Provider, value: bytes | None) -> None:
    assert isinstance(_outcome(provider, value), MappingError)


def test_event_id_namespace_is_the_contracts_one() -> None:
    assert UUID("6f1c0c8e-8a51-4c55-9a43-3b7f0f6d2a10") == EVENT_ID_NAMESPACE
