"""Retry strategy: the contracts decline taxonomy, with the retry budget applied."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from inference_support import Client

from contracts.reference.decline_codes import DeclineCategory, RetryAction, advice_for
from contracts.reference.providers import Provider
from contracts.schemas.scoring import RetryStrategyRequest
from inference.retry import retry_strategy
from testing.strategies import instances

FAILED_AT = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def _request(provider: Provider, code: str | None, attempt: int = 1) -> RetryStrategyRequest:
    return RetryStrategyRequest(
        payment_id="pay_1",
        provider=provider,
        decline_code=code,
        attempt=attempt,
        amount_minor=1999,
        currency="USD",
        failed_at=FAILED_AT,
    )


@pytest.mark.parametrize(
    ("provider", "code", "category", "action", "delay"),
    [
        (Provider.STRIPE, "insufficient_funds", DeclineCategory.INSUFFICIENT_FUNDS, RetryAction.RETRY_LATER, 3 * 86400),
        (Provider.SQUARE, "TEMPORARY_ERROR", DeclineCategory.ISSUER_UNAVAILABLE, RetryAction.RETRY_NOW, 60),
        (Provider.ADYEN, "FRAUD", DeclineCategory.SUSPECTED_FRAUD, RetryAction.DO_NOT_RETRY, 0),
        (Provider.BRAINTREE, "2004", DeclineCategory.EXPIRED_CARD, RetryAction.ASK_CUSTOMER, 0),
        (Provider.STRIPE, "never_heard_of_it", DeclineCategory.UNKNOWN, RetryAction.RETRY_LATER, 86400),
        (Provider.STRIPE, None, DeclineCategory.UNKNOWN, RetryAction.RETRY_LATER, 86400),
    ],
)
def test_first_failure_follows_the_taxonomy(
    provider: Provider, code: str | None, category: DeclineCategory, action: RetryAction, delay: int
) -> None:
    advice = retry_strategy(_request(provider, code))
    assert (advice.category, advice.action, advice.delay_seconds) == (category, action, delay)
    if action in (RetryAction.RETRY_NOW, RetryAction.RETRY_LATER):
        assert advice.retry_at == FAILED_AT + timedelta(seconds=delay)
    else:
        assert advice.retry_at is None and advice.attempts_remaining == 0


def test_retries_stop_when_the_budget_is_used() -> None:
    budget = advice_for(DeclineCategory.INSUFFICIENT_FUNDS).max_attempts
    remaining = [retry_strategy(_request(Provider.STRIPE, "insufficient_funds", attempt)) for attempt in range(1, 7)]
    assert [a.action for a in remaining[:budget]] == [RetryAction.RETRY_LATER] * budget
    assert [a.attempts_remaining for a in remaining[:budget]] == list(range(budget - 1, -1, -1))
    assert all(a.action == RetryAction.DO_NOT_RETRY and a.retry_at is None for a in remaining[budget:])


@given(request=instances(RetryStrategyRequest))
def test_advice_is_consistent_for_any_request(request: RetryStrategyRequest) -> None:
    advice = retry_strategy(request)
    assert advice.payment_id == request.payment_id
    assert (advice.retry_at is None) == (advice.action not in (RetryAction.RETRY_NOW, RetryAction.RETRY_LATER))
    if advice.retry_at is not None:
        assert advice.retry_at == request.failed_at + timedelta(seconds=advice.delay_seconds)
    assert advice.category in DeclineCategory


@pytest.mark.parametrize(
    ("provider", "code", "category"),
    [
        # Written by hand from the providers' documentation, spelled as they send them, and in
        # the other case too: the lookup ignores case, as production must.
        (Provider.STRIPE, "insufficient_funds", DeclineCategory.INSUFFICIENT_FUNDS),
        (Provider.STRIPE, "Insufficient_Funds", DeclineCategory.INSUFFICIENT_FUNDS),
        (Provider.STRIPE, "generic_decline", DeclineCategory.DO_NOT_HONOR),
        (Provider.STRIPE, "expired_card", DeclineCategory.EXPIRED_CARD),
        (Provider.STRIPE, "incorrect_cvc", DeclineCategory.INVALID_CARD_DATA),
        (Provider.STRIPE, "STOLEN_CARD", DeclineCategory.LOST_OR_STOLEN),
        (Provider.STRIPE, "stop_payment_order", DeclineCategory.REVOKED),
        (Provider.STRIPE, "authentication_required", DeclineCategory.AUTHENTICATION_REQUIRED),
        (Provider.SQUARE, "INSUFFICIENT_FUNDS", DeclineCategory.INSUFFICIENT_FUNDS),
        (Provider.SQUARE, "card_expired", DeclineCategory.EXPIRED_CARD),
        (Provider.SQUARE, "CVV_FAILURE", DeclineCategory.INVALID_CARD_DATA),
        (Provider.SQUARE, "CARD_DECLINED_CALL_ISSUER", DeclineCategory.CALL_ISSUER),
        (Provider.ADYEN, "Not enough balance", DeclineCategory.INSUFFICIENT_FUNDS),
        (Provider.ADYEN, "NOT ENOUGH BALANCE", DeclineCategory.INSUFFICIENT_FUNDS),
        (Provider.ADYEN, "Expired Card", DeclineCategory.EXPIRED_CARD),
        (Provider.ADYEN, "CVC Declined", DeclineCategory.INVALID_CARD_DATA),
        (Provider.ADYEN, "fraud", DeclineCategory.SUSPECTED_FRAUD),
        (Provider.ADYEN, "Issuer Unavailable", DeclineCategory.ISSUER_UNAVAILABLE),
        (Provider.BRAINTREE, "2001", DeclineCategory.INSUFFICIENT_FUNDS),
        (Provider.BRAINTREE, "2004", DeclineCategory.EXPIRED_CARD),
        (Provider.BRAINTREE, "2012", DeclineCategory.LOST_OR_STOLEN),
        (Provider.BRAINTREE, "2014", DeclineCategory.SUSPECTED_FRAUD),
        (Provider.BRAINTREE, "3000", DeclineCategory.ISSUER_UNAVAILABLE),
        # A code of one provider means nothing to another; unknown codes are UNKNOWN.
        (Provider.BRAINTREE, "insufficient_funds", DeclineCategory.UNKNOWN),
        (Provider.STRIPE, "2001", DeclineCategory.UNKNOWN),
        (Provider.SQUARE, "not_a_square_code", DeclineCategory.UNKNOWN),
    ],
)
def test_real_provider_codes_map_to_their_category(provider: Provider, code: str, category: DeclineCategory) -> None:
    assert retry_strategy(_request(provider, code)).category == category


@pytest.mark.anyio()
async def test_endpoint_names_the_taxonomy_version(client: Client) -> None:
    body: dict[str, Any] = _request(Provider.STRIPE, "stolen_card").model_dump(mode="json")
    response = await client.post("/v1/retry/strategy", json=body)
    assert response.status_code == 200
    assert response.json()["action"] == "do_not_retry"
    assert response.json()["category"] == "lost_or_stolen"
    assert response.headers["x-model-name"] == "decline-taxonomy"
    assert response.headers["x-model-version"].startswith("contracts-")
