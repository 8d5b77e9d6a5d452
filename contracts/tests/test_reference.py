"""Reference data: currencies with their exponents, providers and the decline taxonomy."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.reference import countries
from contracts.reference.currencies import (
    CURRENCIES,
    MINOR_UNIT_EXPONENTS,
    PROVIDER_EXPONENTS,
    UnknownCurrencyError,
    exponent,
    minor_units_for_provider,
    provider_exponent,
    provider_to_minor_units,
    to_major_units,
    to_minor_units,
)
from contracts.reference.decline_codes import (
    DECLINE_CODES,
    RETRY_ADVICE,
    DeclineCategory,
    RetryAction,
    advice_for,
    categorize,
)
from contracts.reference.providers import PROVIDERS, Provider


@pytest.mark.parametrize(("code", "expected"), [("USD", 2), ("EUR", 2), ("JPY", 0), ("KRW", 0), ("KWD", 3), ("CLF", 4)])
def test_exponents(code: str, expected: int) -> None:
    assert exponent(code) == expected


@pytest.mark.parametrize("code", ["HRK", "BGN", "ANG", "SLL", "XAU", "XXX", "usd", ""])
def test_withdrawn_and_non_currency_codes_are_refused(code: str) -> None:
    with pytest.raises(UnknownCurrencyError, match=repr(code)):
        exponent(code)


def test_table_is_complete_enough_and_well_formed() -> None:
    assert len(CURRENCIES) >= 150
    assert all(len(code) == 3 and code.isupper() for code in CURRENCIES)
    assert set(MINOR_UNIT_EXPONENTS.values()) == {0, 2, 3, 4}


def test_refuses_amounts_more_precise_than_the_currency() -> None:
    with pytest.raises(ValueError, match="more decimals than JPY"):
        to_minor_units("10.5", "JPY")
    with pytest.raises(ValueError, match="more decimals than USD"):
        to_minor_units("10000000000000.00000000000000001", "USD")  # was rounded away at 28 digits
    with pytest.raises(ValueError, match="not a finite"):
        to_minor_units(Decimal("NaN"), "USD")
    with pytest.raises(ValueError, match="out of range"):
        to_minor_units(Decimal("1e999999"), "USD")


@pytest.mark.parametrize("amount", ["NaN", "-5.00", "1_000", " 10.00", "1e3", "+1", "", "10.", ".5"])
def test_refuses_anything_but_a_plain_decimal(amount: str) -> None:
    with pytest.raises(ValueError, match="not a plain decimal"):
        to_minor_units(amount, "USD")


@given(st.sampled_from(sorted(CURRENCIES)), st.integers(min_value=0, max_value=10**15))
def test_minor_major_round_trip(code: str, minor: int) -> None:
    major = to_major_units(minor, code)
    assert isinstance(major, Decimal)
    assert to_minor_units(major, code) == minor
    assert to_minor_units(str(major), code) == minor


@pytest.mark.parametrize(
    ("provider", "amount", "code", "minor"),
    [
        (Provider.STRIPE, 50000, "ISK", 500),  # 500 krónur: Stripe keeps ISK two-decimal
        (Provider.STRIPE, 5000, "MGA", 500000),  # 5,000 ariary: zero-decimal at Stripe, ISO has 2
        (Provider.STRIPE, 2599, "USD", 2599),
        (Provider.STRIPE, 1000, "JPY", 1000),
        (Provider.ADYEN, 100000, "CLP", 1000),  # 1,000 pesos: Adyen gives CLP two decimals
        (Provider.ADYEN, 1000, "CVE", 100000),
        (Provider.ADYEN, 15000, "IDR", 1500000),
        (Provider.ADYEN, 27900, "ISK", 279),
        (Provider.SQUARE, 50000, "ISK", 50000),  # Square sends ISO minor units
    ],
)
def test_provider_amounts_convert_to_iso_minor_units(provider: Provider, amount: int, code: str, minor: int) -> None:
    assert provider_to_minor_units(provider, amount, code) == minor
    assert minor_units_for_provider(provider, minor, code) == amount


def test_a_provider_amount_that_is_not_whole_iso_minor_units_is_refused() -> None:
    with pytest.raises(ValueError, match="stripe amount 50050 ISK"):
        provider_to_minor_units(Provider.STRIPE, 50050, "ISK")


def test_provider_deviations_are_real_deviations() -> None:
    for provider, exponents in PROVIDER_EXPONENTS.items():
        for code, wire in exponents.items():
            assert wire != exponent(code), (provider, code)
            assert provider_exponent(provider, code) == wire


def test_every_provider_has_a_decline_table() -> None:
    assert set(DECLINE_CODES) == set(PROVIDERS) == set(Provider)


def test_no_two_codes_of_a_provider_differ_only_in_case() -> None:
    for codes in DECLINE_CODES.values():
        assert len({code.casefold() for code in codes}) == len(codes)


def test_every_category_has_advice_and_unknown_codes_are_conservative() -> None:
    assert set(RETRY_ADVICE) == set(DeclineCategory)
    assert categorize(Provider.STRIPE, "no_such_code") is DeclineCategory.UNKNOWN
    assert categorize(Provider.STRIPE, None) is DeclineCategory.UNKNOWN
    assert advice_for(DeclineCategory.UNKNOWN).action is RetryAction.RETRY_LATER


@pytest.mark.parametrize(
    ("provider", "code", "action"),
    [
        (Provider.STRIPE, "insufficient_funds", RetryAction.RETRY_LATER),
        (Provider.SQUARE, "CVV_FAILURE", RetryAction.ASK_CUSTOMER),
        (Provider.ADYEN, "Issuer Unavailable", RetryAction.RETRY_NOW),
        (Provider.BRAINTREE, "2012", RetryAction.DO_NOT_RETRY),
        # Declines the networks forbid retrying must never fall back to UNKNOWN's retry.
        (Provider.STRIPE, "stop_payment_order", RetryAction.DO_NOT_RETRY),
        (Provider.STRIPE, "revocation_of_authorization", RetryAction.DO_NOT_RETRY),
        (Provider.STRIPE, "revocation_of_all_authorizations", RetryAction.DO_NOT_RETRY),
        (Provider.STRIPE, "restricted_card", RetryAction.DO_NOT_RETRY),
        (Provider.STRIPE, "security_violation", RetryAction.DO_NOT_RETRY),
        (Provider.STRIPE, "invalid_account", RetryAction.ASK_CUSTOMER),
        (Provider.ADYEN, "Restricted Card", RetryAction.DO_NOT_RETRY),
        (Provider.ADYEN, "Revocation Of Auth", RetryAction.DO_NOT_RETRY),
        (Provider.ADYEN, "Issuer Suspected Fraud", RetryAction.DO_NOT_RETRY),
        (Provider.BRAINTREE, "2048", RetryAction.DO_NOT_RETRY),  # Invalid Amount
        (Provider.BRAINTREE, "2057", RetryAction.ASK_CUSTOMER),
        (Provider.SQUARE, "INVALID_ACCOUNT", RetryAction.ASK_CUSTOMER),
        # "Call the issuer" is the cardholder's job, not a fraud verdict.
        (Provider.SQUARE, "CARD_DECLINED_CALL_ISSUER", RetryAction.ASK_CUSTOMER),
        (Provider.STRIPE, "call_issuer", RetryAction.ASK_CUSTOMER),
        # Codes arrive in other cases than the provider documents.
        (Provider.STRIPE, "Insufficient_Funds", RetryAction.RETRY_LATER),
        (Provider.ADYEN, "not enough balance", RetryAction.RETRY_LATER),
    ],
)
def test_provider_codes_map_to_one_taxonomy(provider: Provider, code: str, action: RetryAction) -> None:
    assert advice_for(categorize(provider, code)).action is action


def test_do_not_retry_categories_allow_no_attempts() -> None:
    for advice in RETRY_ADVICE.values():
        if advice.action in (RetryAction.DO_NOT_RETRY, RetryAction.ASK_CUSTOMER):
            assert advice.max_attempts == 0 and advice.delay_seconds == 0
        else:
            assert advice.max_attempts >= 1


# -- countries ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("alpha3", "alpha2"), [("USA", "US"), ("GBR", "GB"), ("DEU", "DE"), ("JPN", "JP"), ("bra", "BR"), ("CIV", "CI")]
)
def test_alpha3_maps_to_alpha2(alpha3: str, alpha2: str) -> None:
    assert countries.alpha2_from_alpha3(alpha3) == alpha2


@pytest.mark.parametrize("code", ["", "US", "XXX", "UK", "EU "])
def test_unknown_alpha3_is_refused(code: str) -> None:
    with pytest.raises(countries.UnknownCountryError):
        countries.alpha2_from_alpha3(code)


def test_country_table_is_one_to_one() -> None:
    assert len(countries.ALPHA2_CODES) == len(countries.ALPHA3_TO_ALPHA2) == 249
