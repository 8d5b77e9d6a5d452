"""Dead-letter excerpts never carry a card number or an e-mail address, however they are written, nor
the personal data the providers put under known keys."""

import pytest

from contracts.reference.personal_data import is_personal_data_key
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
        "card 6011000990139424124 (19 digits)",
    ],
)
def test_card_numbers_are_masked(text: str) -> None:
    redacted = redact_excerpt(text)
    assert "<pan>" in redacted
    assert not any(run in redacted for run in ("4242", "3782", "6011000990139424124"))


@pytest.mark.parametrize(
    "text", ["mail jane.doe+x@example.com now", "abé@exämple.com", '{"email":"ops@pay.example.co.uk"}']
)
def test_email_addresses_are_masked(text: str) -> None:
    redacted = redact_excerpt(text)
    assert "<email>" in redacted and "@" not in redacted


@pytest.mark.parametrize("text", ["amount 2599 currency usd", "id evt_1NX 2024-05-01T10:00:00Z", "phone 555-0100"])
def test_ordinary_numbers_are_kept(text: str) -> None:
    assert redact_excerpt(text) == text


@pytest.mark.parametrize(
    "text",
    [
        '{"pspReference":"7914073381342284"}',  # Adyen's numeric 16-digit reference (fails Luhn)
        '{"created_ms":1714830000000}',  # a millisecond timestamp, 13 digits
        "card 4242424242424241 (one digit off: no card number)",
    ],
)
def test_digit_runs_that_fail_the_luhn_check_are_kept(text: str) -> None:
    assert redact_excerpt(text) == text


def test_a_megabyte_without_spaces_is_redacted_within_the_window() -> None:
    """A dead letter may be one long run (base64, padding): the redactor, which runs on a stage's
    event loop, looks at a bounded window (this took minutes with an unbounded e-mail pattern)."""
    run = "a" * 40 + "@example.com" + "=" * (1 << 20)
    redacted = redact_excerpt(run.encode())
    assert redacted == ("<email>" + "=" * (1 << 20))[:MAX_EXCERPT_CHARS]


def test_excerpts_are_bounded_after_redaction() -> None:
    redacted = redact_excerpt(("x" * 3000 + " 4242424242424242").encode())
    assert len(redacted) == MAX_EXCERPT_CHARS
    assert redact_excerpt(b"\xff\xfe bad bytes") == "\ufffd\ufffd bad bytes"


# -- personal data under provider keys (contracts.reference.personal_data) -----------------------
# Excerpts of real-shaped payloads (the providers' documented fields), each with the excerpt
# written out by hand: the value under every personal-data key is masked, ids, amounts, card
# brand/BIN/last four, countries and states stay for triage.

STRIPE_CHARGE = (
    '{"id":"ch_3PAbc2eZvKYlo2C01x2YQz7T","object":"charge","amount":2599,"billing_details":{"address":'
    '{"city":"San Francisco","country":"US","line1":"510 Townsend St","line2":null,"postal_code":"94107",'
    '"state":"CA"},"email":"jenny.rosen@example.com","name":"Jenny Rosen","phone":"+1 415 555 0100"},'
    '"customer":"cus_PZx7eHdgBnQ1Lc","payment_method_details":{"card":{"brand":"visa","country":"US",'
    '"fingerprint":"Xt5EWLLDS7FJjR1c","last4":"4242"}},"receipt_email":"jenny.rosen@example.com",'
    '"shipping":{"address":{"city":"Oakland","line1":"1 Broadway","postal_code":"94607"},"name":"J. Rosen",'
    '"phone":"5105550100","tracking_number":null}}'
)
STRIPE_CHARGE_REDACTED = (
    '{"id":"ch_3PAbc2eZvKYlo2C01x2YQz7T","object":"charge","amount":2599,"billing_details":{"address":'
    '{"city":"<redacted>","country":"US","line1":"<redacted>","line2":null,"postal_code":"<redacted>",'
    '"state":"CA"},"email":"<email>","name":"<redacted>","phone":"<redacted>"},'
    '"customer":"cus_PZx7eHdgBnQ1Lc","payment_method_details":{"card":{"brand":"visa","country":"US",'
    '"fingerprint":"Xt5EWLLDS7FJjR1c","last4":"4242"}},"receipt_email":"<email>",'
    '"shipping":{"address":{"city":"<redacted>","line1":"<redacted>","postal_code":"<redacted>"},"name":"<redacted>",'
    '"phone":"<redacted>","tracking_number":null}}'
)
STRIPE_INTENT_AND_DISPUTE = (
    '{"id":"pi_3PAbc2","client_secret":"pi_3PAbc2_secret_9JqLk2","mandate_data":{"customer_acceptance":'
    '{"online":{"ip_address":"203.0.113.7","user_agent":"Mozilla/5.0"}}},"evidence":{"billing_address":'
    '"510 Townsend St, San Francisco, CA 94107","customer_email_address":"jenny@example.com",'
    '"customer_name":"Jenny Rosen","customer_purchase_ip":"203.0.113.7","product_description":"Mug"}}'
)
STRIPE_INTENT_AND_DISPUTE_REDACTED = (
    '{"id":"pi_3PAbc2","client_secret":"<redacted>","mandate_data":{"customer_acceptance":'
    '{"online":{"ip_address":"<redacted>","user_agent":"Mozilla/5.0"}}},"evidence":{"billing_address":'
    '"<redacted>","customer_email_address":"<email>",'
    '"customer_name":"<redacted>","customer_purchase_ip":"<redacted>","product_description":"Mug"}}'
)
SQUARE_PAYMENT = (
    '{"payment":{"id":"R2B3Z8WMVt3EAmzYWLZvz7Y69EbZY","amount_money":{"amount":1000,"currency":"USD"},'
    '"billing_address":{"address_line_1":"500 Electric Ave","address_line_2":"Suite 600","locality":"New York",'
    '"administrative_district_level_1":"NY","postal_code":"10003","country":"US","first_name":"Amelia",'
    '"last_name":"Earhart"},"buyer_email_address":"amelia.earhart@example.com","card_details":{"card":'
    '{"card_brand":"VISA","last_4":"1111","cardholder_name":"Amelia Earhart","fingerprint":"sq-1-Hxim77tb"}},'
    '"customer_id":"W92WH6P11H4Z77CTET0RNTGFW8"}}'
)
SQUARE_PAYMENT_REDACTED = (
    '{"payment":{"id":"R2B3Z8WMVt3EAmzYWLZvz7Y69EbZY","amount_money":{"amount":1000,"currency":"USD"},'
    '"billing_address":{"address_line_1":"<redacted>","address_line_2":"<redacted>","locality":"<redacted>",'
    '"administrative_district_level_1":"NY","postal_code":"<redacted>","country":"US","first_name":"<redacted>",'
    '"last_name":"<redacted>"},"buyer_email_address":"<email>","card_details":{"card":'
    '{"card_brand":"VISA","last_4":"1111","cardholder_name":"<redacted>","fingerprint":"sq-1-Hxim77tb"}},'
    '"customer_id":"W92WH6P11H4Z77CTET0RNTGFW8"}}'
)
ADYEN_ITEM = (
    '{"additionalData":{"cardHolderName":"John Smith","shopperIP":"198.51.100.24",'
    '"shopperTelephone":"+31 20 123 4567","billingAddress.street":"Simon Carmiggeltstraat",'
    '"billingAddress.houseNumberOrName":"6-50","billingAddress.postalCode":"1011 DJ",'
    '"billingAddress.city":"Amsterdam","billingAddress.country":"NL","dateOfBirth":"1970-07-10",'
    '"bankAccount.iban":"NL13TEST0123456789","bankAccount.ownerName":"J. Smith",'
    '"hmacSignature":"coqCmt/IZ4E3CzPvMY8zTjQVL5hYJUiBRg8UU+iCWo0=","cardBin":"411111","cardSummary":"1111",'
    '"metadata.customer_id":"cus_PF5bwpOQQo0jlF","shopperName":{"firstName":"John","lastName":"Smith"}},'
    '"amount":{"currency":"EUR","value":1000},"eventCode":"AUTHORISATION","pspReference":"QFQTPCQ8HXSKGK82"}'
)
ADYEN_ITEM_REDACTED = (
    '{"additionalData":{"cardHolderName":"<redacted>","shopperIP":"<redacted>",'
    '"shopperTelephone":"<redacted>","billingAddress.street":"<redacted>",'
    '"billingAddress.houseNumberOrName":"<redacted>","billingAddress.postalCode":"<redacted>",'
    '"billingAddress.city":"<redacted>","billingAddress.country":"NL","dateOfBirth":"<redacted>",'
    '"bankAccount.iban":"<redacted>","bankAccount.ownerName":"<redacted>",'
    '"hmacSignature":"<redacted>","cardBin":"411111","cardSummary":"1111",'
    '"metadata.customer_id":"cus_PF5bwpOQQo0jlF","shopperName":{"firstName":"<redacted>","lastName":"<redacted>"}},'
    '"amount":{"currency":"EUR","value":1000},"eventCode":"AUTHORISATION","pspReference":"QFQTPCQ8HXSKGK82"}'
)
BRAINTREE_TRANSACTION = (
    '{"transaction":{"id":"g149kp54","amount":"19.80","billing":{"first_name":"Jane","last_name":"Doe",'
    '"street_address":"1 E Main St","extended_address":"Suite 3","locality":"Chicago","region":"IL",'
    '"postal_code":"60622","country_name":"United States of America"},"customer":{"id":"cus_IeLAiFgqteF0WV",'
    '"first_name":"Jane","email":"jane.doe@example.com","phone":"312-555-1234"},"credit_card":{"bin":"475252",'
    '"last_4":"2909","cardholder_name":"Jane Doe","token":"kq2x9v","country_of_issuance":"SWE"},'
    '"risk_data":{"customer_ip":"192.0.2.10","decision":"Approve"},"us_bank_account":{"routing_number":"011000015",'
    '"last_4":"1234","account_holder_name":"Dan Schulman"}}}'
)
BRAINTREE_TRANSACTION_REDACTED = (
    '{"transaction":{"id":"g149kp54","amount":"19.80","billing":{"first_name":"<redacted>","last_name":"<redacted>",'
    '"street_address":"<redacted>","extended_address":"<redacted>","locality":"<redacted>","region":"IL",'
    '"postal_code":"<redacted>","country_name":"United States of America"},"customer":{"id":"cus_IeLAiFgqteF0WV",'
    '"first_name":"<redacted>","email":"<email>","phone":"<redacted>"},"credit_card":{"bin":"475252",'
    '"last_4":"2909","cardholder_name":"<redacted>","token":"<redacted>","country_of_issuance":"SWE"},'
    '"risk_data":{"customer_ip":"<redacted>","decision":"Approve"},"us_bank_account":{"routing_number":"<redacted>",'
    '"last_4":"1234","account_holder_name":"<redacted>"}}}'
)
BRAINTREE_XML = (
    "<transaction>\n  <id>g149kp54</id>\n  <billing>\n    <first-name>Jane</first-name>\n"
    "    <postal-code>60622</postal-code>\n    <region>IL</region>\n  </billing>\n  <credit-card>\n"
    "    <cardholder-name>Jane Doe</cardholder-name>\n    <token>kq2x9v</token>\n    <last-4>2909</last-4>\n"
    '  </credit-card>\n  <customer>\n    <phone nil="false">312-555-1234</phone>\n  </customer>\n</transaction>'
)
BRAINTREE_XML_REDACTED = (
    "<transaction>\n  <id>g149kp54</id>\n  <billing>\n    <first-name><redacted></first-name>\n"
    "    <postal-code><redacted></postal-code>\n    <region>IL</region>\n  </billing>\n  <credit-card>\n"
    "    <cardholder-name><redacted></cardholder-name>\n    <token><redacted></token>\n    <last-4>2909</last-4>\n"
    '  </credit-card>\n  <customer>\n    <phone nil="false"><redacted></phone>\n  </customer>\n</transaction>'
)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (STRIPE_CHARGE, STRIPE_CHARGE_REDACTED),
        (STRIPE_INTENT_AND_DISPUTE, STRIPE_INTENT_AND_DISPUTE_REDACTED),
        (SQUARE_PAYMENT, SQUARE_PAYMENT_REDACTED),
        (ADYEN_ITEM, ADYEN_ITEM_REDACTED),
        (BRAINTREE_TRANSACTION, BRAINTREE_TRANSACTION_REDACTED),
        (BRAINTREE_XML, BRAINTREE_XML_REDACTED),
    ],
    ids=[
        "stripe charge",
        "stripe intent and dispute",
        "square payment",
        "adyen item",
        "braintree json",
        "braintree xml",
    ],
)
def test_personal_data_under_provider_keys_is_masked(payload: str, expected: str) -> None:
    assert redact_excerpt(payload) == expected


def test_an_address_string_is_masked_and_an_address_object_by_its_members() -> None:
    text = '{"address":"12 Rue de Rivoli, Paris","billing":{"address":{"line1":"1 Main St","country":"FR"}}}'
    assert redact_excerpt(text) == (
        '{"address":"<redacted>","billing":{"address":{"line1":"<redacted>","country":"FR"}}}'
    )


def test_pretty_printed_numbers_and_cut_values_are_masked() -> None:
    """Whitespace around the colon (Stripe pretty-prints), a number value, and a value the payload
    was cut inside (a truncated message) are masked as well."""
    text = '{\n  "postal_code" : 94107,\n  "phone": "+1 415 555 01'
    assert redact_excerpt(text) == '{\n  "postal_code" : "<redacted>",\n  "phone": "<redacted>"'


def test_personal_data_is_masked_before_the_excerpt_is_cut() -> None:
    text = "x" * (MAX_EXCERPT_CHARS - 12) + '"name":"Jenny Rosen"'  # 12 = len('"name":"') + len("<red")
    redacted = redact_excerpt(text)
    assert len(redacted) == MAX_EXCERPT_CHARS and redacted.endswith('"name":"<red') and "Jenny" not in redacted


@pytest.mark.parametrize(
    "key",
    ["postal_code", "postalCode", "postal-code", "billingAddress.postalCode", "CardHolderName", "bankAccount.iban"],
)
def test_keys_match_whatever_their_spelling(key: str) -> None:
    assert is_personal_data_key(key)


@pytest.mark.parametrize(
    "key", ["customer_id", "ip_country", "signature_key_id", "fingerprint", "last4", "country", "state", "billing"]
)
def test_keys_triage_needs_are_kept(key: str) -> None:
    assert not is_personal_data_key(key)
