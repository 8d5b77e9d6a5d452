"""The FX reference table: one set of rates to USD with an as-of date."""

from datetime import date
from decimal import Decimal

import pytest

from contracts.reference.currencies import CURRENCIES
from contracts.reference.fx import FX_RATES_AS_OF, USD_PER_UNIT, NoFxRateError, amount_usd, fx_rows, usd_per_unit


def test_every_code_is_an_iso_currency_with_a_positive_rate() -> None:
    assert set(USD_PER_UNIT) <= CURRENCIES
    assert all(rate > 0 for rate in USD_PER_UNIT.values())
    assert USD_PER_UNIT["USD"] == Decimal(1)


@pytest.mark.parametrize(
    ("amount_minor", "currency", "expected"),
    [
        (1250, "USD", Decimal("12.50")),
        (2000, "JPY", Decimal("13.2")),  # exponent 0: 2,000 yen x 0.0066
        (1000, "EUR", Decimal("10.80")),
        (1000, "KWD", Decimal("3.25")),  # exponent 3: 1.000 dinar
    ],
)
def test_amount_usd_uses_the_iso_exponent_and_the_rate(amount_minor: int, currency: str, expected: Decimal) -> None:
    assert amount_usd(amount_minor, currency) == expected


def test_a_currency_without_a_rate_is_refused_by_name() -> None:
    assert "XOF" in CURRENCIES and "XOF" not in USD_PER_UNIT
    with pytest.raises(NoFxRateError, match="'XOF'"):
        usd_per_unit("XOF")


def test_rows_are_sorted_and_share_the_as_of_date() -> None:
    rows = fx_rows()
    assert [code for code, _, _ in rows] == sorted(USD_PER_UNIT)
    assert {as_of for _, _, as_of in rows} == {FX_RATES_AS_OF}
    assert isinstance(FX_RATES_AS_OF, date)


def test_the_table_cannot_be_changed_at_run_time() -> None:
    with pytest.raises(TypeError):
        USD_PER_UNIT["USD"] = Decimal(2)  # type: ignore[index]
