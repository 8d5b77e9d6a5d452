"""Dead-letter excerpts never carry a card number or an e-mail address, however they are written."""

import pytest

from contracts.schemas.dlq import MAX_EXCERPT_CHARS, redact_excerpt


@pytest.mark.parametrize(
    "text",
    [
        "card 4242424242424242 exp",
        "card 4242 4242 4242 4242 exp",
        "4242-4242-4242-4242",
        '{"pan_4242424242424242":1}',
        "num:4242424242424242x",
        "amex 3782 822463 10005",
        "card 6011000990139424123 (19 digits)",
    ],
)
def test_card_numbers_are_masked(text: str) -> None:
    redacted = redact_excerpt(text)
    assert "<pan>" in redacted
    assert not any(run in redacted for run in ("4242", "3782", "6011000990139424123"))


@pytest.mark.parametrize(
    "text", ["mail jane.doe+x@example.com now", "abé@exämple.com", '{"email":"ops@pay.example.co.uk"}']
)
def test_email_addresses_are_masked(text: str) -> None:
    redacted = redact_excerpt(text)
    assert "<email>" in redacted and "@" not in redacted


@pytest.mark.parametrize("text", ["amount 2599 currency usd", "id evt_1NX 2024-05-01T10:00:00Z", "phone 555-0100"])
def test_ordinary_numbers_are_kept(text: str) -> None:
    assert redact_excerpt(text) == text


def test_excerpts_are_bounded_after_redaction() -> None:
    redacted = redact_excerpt(("x" * 3000 + " 4242424242424242").encode())
    assert len(redacted) == MAX_EXCERPT_CHARS
    assert redact_excerpt(b"\xff\xfe bad bytes") == "\ufffd\ufffd bad bytes"
