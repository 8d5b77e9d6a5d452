"""Retry strategy for a failed payment, from the contracts decline-code taxonomy.

`attempt` is the number of the attempt that just failed (1 = the original charge). A category's
`max_attempts` is how many retries it allows in total; once `attempt - 1` retries have been used
up, the answer is `do_not_retry` whatever the category. `attempts_remaining` counts the retries
left after the one being advised.
"""

from datetime import timedelta
from typing import Final

from contracts import version as contracts_version
from contracts.reference.decline_codes import RetryAction, advice_for, categorize
from contracts.schemas.scoring import RetryStrategyRequest, RetryStrategyResponse
from inference.errors import InvalidRequestError

TAXONOMY_NAME: Final = "decline-taxonomy"
TAXONOMY_VERSION: Final = f"contracts-{contracts_version.__version__}"

_REASONS: Final = {
    RetryAction.RETRY_NOW: "transient {category} decline: retry after {delay} s",
    RetryAction.RETRY_LATER: "{category} decline: retry in {delay} s",
    RetryAction.DO_NOT_RETRY: "{category} decline: retrying cannot succeed",
    RetryAction.ASK_CUSTOMER: "{category} decline: the customer must update or confirm the payment method",
}


def retry_strategy(request: RetryStrategyRequest) -> RetryStrategyResponse:
    category = categorize(request.provider, request.decline_code)
    advice = advice_for(category)
    action = advice.action
    delay = advice.delay_seconds
    retries_used = request.attempt - 1
    retrying = action in (RetryAction.RETRY_NOW, RetryAction.RETRY_LATER)
    if retrying and retries_used >= advice.max_attempts:
        return RetryStrategyResponse(
            payment_id=request.payment_id,
            category=category,
            action=RetryAction.DO_NOT_RETRY,
            delay_seconds=0,
            retry_at=None,
            attempts_remaining=0,
            reason=f"{category.value} decline: all {advice.max_attempts} retries used",
        )
    try:
        retry_at = request.failed_at + timedelta(seconds=delay) if retrying else None
    except OverflowError:
        raise InvalidRequestError(
            "failed_at is too late to schedule a retry after it",
            errors=[{"field": "failed_at", "message": f"a retry {delay} s later is past the year 9999"}],
        ) from None
    return RetryStrategyResponse(
        payment_id=request.payment_id,
        category=category,
        action=action,
        delay_seconds=delay if retrying else 0,
        retry_at=retry_at,
        attempts_remaining=max(advice.max_attempts - request.attempt, 0) if retrying else 0,
        reason=_REASONS[action].format(category=category.value, delay=delay),
    )
