"""Issuer declines: which category a decline falls in, and the provider's own code for it.

Codes are never invented here: they come from `contracts.reference.decline_codes`, the table the
orchestrator's retry strategy reads, so every simulated decline is one the platform knows how to
handle. Each situation (an ordinary customer, a card tester's stolen cards, a customer about to
churn) has its own mix of categories, which is part of what a model learns.
"""

from __future__ import annotations

import random
from bisect import bisect
from itertools import accumulate
from typing import Final

from contracts.reference.decline_codes import DECLINE_CODES, DeclineCategory, categorize
from contracts.reference.providers import Provider

_C = DeclineCategory

Mix = tuple[tuple[DeclineCategory, ...], tuple[float, ...]]


def _mix(weights: dict[DeclineCategory, float]) -> Mix:
    categories = tuple(weights)
    return categories, tuple(accumulate(weights.values()))


LEGIT: Final = _mix(
    {
        _C.INSUFFICIENT_FUNDS: 35,
        _C.DO_NOT_HONOR: 25,
        _C.INVALID_CARD_DATA: 10,
        _C.ISSUER_UNAVAILABLE: 8,
        _C.AUTHENTICATION_REQUIRED: 7,
        _C.PROCESSING_ERROR: 5,
        _C.SUSPECTED_FRAUD: 4,
        _C.VELOCITY_LIMIT: 3,
        _C.NOT_SUPPORTED: 3,
    }
)
"""Ordinary declines: mostly money, some issuer caution, a few technical."""

CHURNING: Final = _mix({_C.INSUFFICIENT_FUNDS: 70, _C.DO_NOT_HONOR: 15, _C.EXPIRED_CARD: 10, _C.LOST_OR_STOLEN: 5})
"""A customer running out of money or card before leaving (involuntary churn)."""

CARD_TESTING: Final = _mix(
    {
        _C.INVALID_CARD_DATA: 35,
        _C.DO_NOT_HONOR: 20,
        _C.LOST_OR_STOLEN: 15,
        _C.EXPIRED_CARD: 15,
        _C.SUSPECTED_FRAUD: 10,
        _C.INSUFFICIENT_FUNDS: 5,
    }
)
"""Enumerated and stolen card numbers: wrong CVC, dead cards, blocked cards."""

STOLEN: Final = _mix(
    {
        _C.SUSPECTED_FRAUD: 35,
        _C.DO_NOT_HONOR: 25,
        _C.LOST_OR_STOLEN: 15,
        _C.INSUFFICIENT_FUNDS: 15,
        _C.AUTHENTICATION_REQUIRED: 10,
    }
)
"""Cash-out attempts on stolen cards (takeover, velocity abuse)."""


def _codes_by_category() -> dict[Provider, dict[DeclineCategory, tuple[str, ...]]]:
    table: dict[Provider, dict[DeclineCategory, tuple[str, ...]]] = {}
    for provider, codes in DECLINE_CODES.items():
        grouped: dict[DeclineCategory, list[str]] = {}
        for code, category in codes.items():
            grouped.setdefault(category, []).append(code)
        table[provider] = {category: tuple(sorted(found)) for category, found in grouped.items()}
    return table


CODES: Final = _codes_by_category()


def pick_category(rng: random.Random, mix: Mix) -> DeclineCategory:
    categories, cumulative = mix
    return categories[bisect(cumulative, rng.random() * cumulative[-1])]


def pick_code(rng: random.Random, provider: Provider, category: DeclineCategory) -> str:
    """A code of `provider` in `category`; `DO_NOT_HONOR` stands in if the provider has none."""
    codes = CODES[provider].get(category) or CODES[provider][DeclineCategory.DO_NOT_HONOR]
    return codes[0] if len(codes) == 1 else rng.choice(codes)


def decline(rng: random.Random, provider: Provider, mix: Mix) -> tuple[str, DeclineCategory]:
    """(code, category) of one decline; the category is the contracts' reading of the code."""
    code = pick_code(rng, provider, pick_category(rng, mix))
    return code, categorize(provider, code)
