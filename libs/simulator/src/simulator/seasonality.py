"""When people pay: daily and weekly rhythm, paydays, and the night shift of fraudsters.

Customers pay in their own local time (lunch and evening peaks, quiet nights), more on Fridays
and Saturdays and around paydays. Card testers and account takers prefer the victims' night,
when nobody watches their phone: a signal a model can learn from the hour of the payment.
"""

from __future__ import annotations

import random
from bisect import bisect
from datetime import UTC, datetime
from itertools import accumulate
from typing import Final

DAY: Final = 86_400
HOUR: Final = 3_600

_HOURLY: Final = (
    0.6, 0.35, 0.2, 0.15, 0.15, 0.25, 0.6, 1.2, 2.0, 2.6, 3.0, 3.6,
    4.2, 3.9, 3.2, 3.0, 3.2, 3.8, 4.4, 4.8, 4.6, 3.8, 2.6, 1.4,
)  # fmt: skip
"""Relative purchase intensity per local hour (0 = midnight)."""

_NIGHT: Final = (
    3.0, 3.4, 3.6, 3.4, 3.0, 2.2, 1.2, 0.8, 0.6, 0.6, 0.6, 0.6,
    0.6, 0.6, 0.6, 0.6, 0.7, 0.8, 0.9, 1.0, 1.2, 1.6, 2.2, 2.6,
)  # fmt: skip
"""Relative fraud intensity per local hour of the victim or target."""

_WEEKDAY: Final = (0.92, 0.95, 0.98, 1.0, 1.12, 1.18, 0.85)
"""Monday .. Sunday."""

DAY_CUMULATIVE: Final[tuple[float, ...]] = tuple(accumulate(_HOURLY))
NIGHT_CUMULATIVE: Final[tuple[float, ...]] = tuple(accumulate(_NIGHT))


def second_of_day(rng: random.Random, cumulative: tuple[float, ...] = DAY_CUMULATIVE) -> int:
    """A local second of the day, drawn from an hourly profile."""
    hour = bisect(cumulative, rng.random() * cumulative[-1])
    return min(hour, 23) * HOUR + int(rng.random() * HOUR)


def local_time(rng: random.Random, day_start: int, utc_offset_hours: float, cumulative: tuple[float, ...]) -> int:
    """A UTC instant on the local day that starts (in UTC) at `day_start`, following a profile."""
    return day_start + second_of_day(rng, cumulative) - int(utc_offset_hours * HOUR)


def day_factor(day_start: int) -> float:
    """Weekly rhythm times a payday bump on the 1st and the 15th (and the day after)."""
    date = datetime.fromtimestamp(day_start, UTC)
    factor = _WEEKDAY[date.weekday()]
    if date.day in (1, 2, 15, 16):
        factor *= 1.15
    return factor


def instant_in_period(
    rng: random.Random, start: int, days: int, utc_offset_hours: float, cumulative: tuple[float, ...]
) -> int:
    """A UTC instant on a random day of the period, at a local hour drawn from `cumulative`."""
    day_start = start + rng.randrange(days) * DAY
    at = local_time(rng, day_start, utc_offset_hours, cumulative)
    end = start + days * DAY
    if at < start:
        at += DAY
    elif at >= end:
        at -= DAY
    return max(start, min(at, end - 1))
