"""Decline-code taxonomy: provider decline codes mapped to one category and one retry advice.

The orchestrator's retry strategy and the inference service's `/v1/retry/strategy` both read this
table, so a code means the same thing everywhere. Codes not listed fall back to `UNKNOWN`, whose
advice is deliberately conservative (one later retry); codes are matched exactly, then ignoring
case. Declines the card networks forbid retrying (stop-payment orders, revoked authorizations,
restricted cards: Visa's category 1, Mastercard's "do not try again") are listed as such.
"""

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from contracts.reference.providers import Provider


class DeclineCategory(StrEnum):
    INSUFFICIENT_FUNDS = "insufficient_funds"
    DO_NOT_HONOR = "do_not_honor"
    ISSUER_UNAVAILABLE = "issuer_unavailable"
    PROCESSING_ERROR = "processing_error"
    VELOCITY_LIMIT = "velocity_limit"
    EXPIRED_CARD = "expired_card"
    INVALID_CARD_DATA = "invalid_card_data"
    AUTHENTICATION_REQUIRED = "authentication_required"
    LOST_OR_STOLEN = "lost_or_stolen"
    SUSPECTED_FRAUD = "suspected_fraud"
    NOT_SUPPORTED = "not_supported"
    CALL_ISSUER = "call_issuer"
    """The issuer wants the cardholder to call it before it approves: the customer must act."""
    REVOKED = "revoked"
    """The cardholder stopped or revoked payments to this merchant: never retry."""
    UNKNOWN = "unknown"


class RetryAction(StrEnum):
    RETRY_NOW = "retry_now"
    RETRY_LATER = "retry_later"
    DO_NOT_RETRY = "do_not_retry"
    ASK_CUSTOMER = "ask_customer"


@dataclass(frozen=True)
class RetryAdvice:
    """What to do after a decline of one category: action, delay before retrying, attempt cap."""

    action: RetryAction
    delay_seconds: int
    max_attempts: int


HOUR: Final = 3600
DAY: Final = 24 * HOUR

RETRY_ADVICE: Final[dict[DeclineCategory, RetryAdvice]] = {
    DeclineCategory.INSUFFICIENT_FUNDS: RetryAdvice(RetryAction.RETRY_LATER, 3 * DAY, 4),
    DeclineCategory.DO_NOT_HONOR: RetryAdvice(RetryAction.RETRY_LATER, 1 * DAY, 2),
    DeclineCategory.ISSUER_UNAVAILABLE: RetryAdvice(RetryAction.RETRY_NOW, 60, 3),
    DeclineCategory.PROCESSING_ERROR: RetryAdvice(RetryAction.RETRY_NOW, 30, 3),
    DeclineCategory.VELOCITY_LIMIT: RetryAdvice(RetryAction.RETRY_LATER, 1 * DAY, 2),
    DeclineCategory.EXPIRED_CARD: RetryAdvice(RetryAction.ASK_CUSTOMER, 0, 0),
    DeclineCategory.INVALID_CARD_DATA: RetryAdvice(RetryAction.ASK_CUSTOMER, 0, 0),
    DeclineCategory.AUTHENTICATION_REQUIRED: RetryAdvice(RetryAction.ASK_CUSTOMER, 0, 0),
    DeclineCategory.LOST_OR_STOLEN: RetryAdvice(RetryAction.DO_NOT_RETRY, 0, 0),
    DeclineCategory.SUSPECTED_FRAUD: RetryAdvice(RetryAction.DO_NOT_RETRY, 0, 0),
    DeclineCategory.NOT_SUPPORTED: RetryAdvice(RetryAction.DO_NOT_RETRY, 0, 0),
    DeclineCategory.CALL_ISSUER: RetryAdvice(RetryAction.ASK_CUSTOMER, 0, 0),
    DeclineCategory.REVOKED: RetryAdvice(RetryAction.DO_NOT_RETRY, 0, 0),
    DeclineCategory.UNKNOWN: RetryAdvice(RetryAction.RETRY_LATER, 1 * DAY, 1),
}

_C = DeclineCategory

# Stripe `decline_code` / `code` values.
_STRIPE: Final[dict[str, DeclineCategory]] = {
    "insufficient_funds": _C.INSUFFICIENT_FUNDS,
    "do_not_honor": _C.DO_NOT_HONOR,
    "generic_decline": _C.DO_NOT_HONOR,
    "card_declined": _C.DO_NOT_HONOR,
    "issuer_not_available": _C.ISSUER_UNAVAILABLE,
    "try_again_later": _C.ISSUER_UNAVAILABLE,
    "processing_error": _C.PROCESSING_ERROR,
    "card_velocity_exceeded": _C.VELOCITY_LIMIT,
    "withdrawal_count_limit_exceeded": _C.VELOCITY_LIMIT,
    "expired_card": _C.EXPIRED_CARD,
    "incorrect_cvc": _C.INVALID_CARD_DATA,
    "incorrect_number": _C.INVALID_CARD_DATA,
    "invalid_expiry_year": _C.INVALID_CARD_DATA,
    "authentication_required": _C.AUTHENTICATION_REQUIRED,
    "lost_card": _C.LOST_OR_STOLEN,
    "stolen_card": _C.LOST_OR_STOLEN,
    "pickup_card": _C.LOST_OR_STOLEN,
    "fraudulent": _C.SUSPECTED_FRAUD,
    "merchant_blacklist": _C.SUSPECTED_FRAUD,
    "card_not_supported": _C.NOT_SUPPORTED,
    "currency_not_supported": _C.NOT_SUPPORTED,
    "transaction_not_allowed": _C.NOT_SUPPORTED,
    "invalid_account": _C.INVALID_CARD_DATA,
    "restricted_card": _C.LOST_OR_STOLEN,
    "security_violation": _C.SUSPECTED_FRAUD,
    "call_issuer": _C.CALL_ISSUER,
    "stop_payment_order": _C.REVOKED,
    "revocation_of_authorization": _C.REVOKED,
    "revocation_of_all_authorizations": _C.REVOKED,
}

# Square payment error codes (`card_details.errors[].code`).
_SQUARE: Final[dict[str, DeclineCategory]] = {
    "INSUFFICIENT_FUNDS": _C.INSUFFICIENT_FUNDS,
    "GENERIC_DECLINE": _C.DO_NOT_HONOR,
    "CARD_DECLINED": _C.DO_NOT_HONOR,
    "TEMPORARY_ERROR": _C.ISSUER_UNAVAILABLE,
    "TRANSACTION_LIMIT": _C.VELOCITY_LIMIT,
    "CARD_EXPIRED": _C.EXPIRED_CARD,
    "EXPIRATION_FAILURE": _C.EXPIRED_CARD,
    "CVV_FAILURE": _C.INVALID_CARD_DATA,
    "ADDRESS_VERIFICATION_FAILURE": _C.INVALID_CARD_DATA,
    "INVALID_CARD": _C.INVALID_CARD_DATA,
    "CARD_DECLINED_VERIFICATION_REQUIRED": _C.AUTHENTICATION_REQUIRED,
    "CARD_DECLINED_CALL_ISSUER": _C.CALL_ISSUER,
    "INVALID_ACCOUNT": _C.INVALID_CARD_DATA,
    "CARD_NOT_SUPPORTED": _C.NOT_SUPPORTED,
    "UNSUPPORTED_CARD_BRAND": _C.NOT_SUPPORTED,
}

# Adyen refusal reasons (`reason` of a failed AUTHORISATION).
_ADYEN: Final[dict[str, DeclineCategory]] = {
    "Not enough balance": _C.INSUFFICIENT_FUNDS,
    "Refused": _C.DO_NOT_HONOR,
    "Declined Non Generic": _C.DO_NOT_HONOR,
    "Issuer Unavailable": _C.ISSUER_UNAVAILABLE,
    "Acquirer Error": _C.PROCESSING_ERROR,
    "Withdrawal count exceeded": _C.VELOCITY_LIMIT,
    "Withdrawal amount exceeded": _C.VELOCITY_LIMIT,
    "Expired Card": _C.EXPIRED_CARD,
    "CVC Declined": _C.INVALID_CARD_DATA,
    "Invalid Card Number": _C.INVALID_CARD_DATA,
    "3D Not Authenticated": _C.AUTHENTICATION_REQUIRED,
    "Blocked Card": _C.LOST_OR_STOLEN,
    "FRAUD": _C.SUSPECTED_FRAUD,
    "FRAUD-CANCELLED": _C.SUSPECTED_FRAUD,
    "Not supported": _C.NOT_SUPPORTED,
    "Restricted Card": _C.NOT_SUPPORTED,
    "Issuer Suspected Fraud": _C.SUSPECTED_FRAUD,
    "Revocation Of Auth": _C.REVOKED,
}

# Braintree processor response codes.
_BRAINTREE: Final[dict[str, DeclineCategory]] = {
    "2001": _C.INSUFFICIENT_FUNDS,
    "2000": _C.DO_NOT_HONOR,
    "2046": _C.DO_NOT_HONOR,
    "2038": _C.DO_NOT_HONOR,
    "3000": _C.ISSUER_UNAVAILABLE,
    "2048": _C.NOT_SUPPORTED,  # Invalid Amount: a hard decline, the same amount fails again
    "2002": _C.VELOCITY_LIMIT,
    "2003": _C.VELOCITY_LIMIT,
    "2004": _C.EXPIRED_CARD,
    "2010": _C.INVALID_CARD_DATA,
    "2005": _C.INVALID_CARD_DATA,
    "2099": _C.AUTHENTICATION_REQUIRED,
    "2012": _C.LOST_OR_STOLEN,
    "2013": _C.LOST_OR_STOLEN,
    "2047": _C.LOST_OR_STOLEN,
    "2014": _C.SUSPECTED_FRAUD,
    "2015": _C.NOT_SUPPORTED,
    "2057": _C.CALL_ISSUER,  # Issuer or Cardholder has put a restriction on the card
}

DECLINE_CODES: Final[dict[Provider, dict[str, DeclineCategory]]] = {
    Provider.STRIPE: _STRIPE,
    Provider.SQUARE: _SQUARE,
    Provider.ADYEN: _ADYEN,
    Provider.BRAINTREE: _BRAINTREE,
}


_CASEFOLDED: Final[dict[Provider, dict[str, DeclineCategory]]] = {
    provider: {code.casefold(): category for code, category in codes.items()}
    for provider, codes in DECLINE_CODES.items()
}
"""The tables keyed case-insensitively (no two codes of a provider differ only in case)."""


def categorize(provider: Provider, code: str | None) -> DeclineCategory:
    """Category of a provider's decline code; `UNKNOWN` for a code the table does not list."""
    if code is None:
        return DeclineCategory.UNKNOWN
    return _CASEFOLDED[provider].get(code.casefold(), DeclineCategory.UNKNOWN)


def advice_for(category: DeclineCategory) -> RetryAdvice:
    return RETRY_ADVICE[category]
