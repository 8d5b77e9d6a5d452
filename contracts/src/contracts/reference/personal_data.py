"""The payload keys under which the four providers carry personal data: one list, for every stage.

Dead-letter excerpts (`contracts.schemas.dlq.redact_excerpt`) mask the value under any of these
keys, in JSON (`"key": value`) and in XML (`<key>value</key>`, Braintree's notifications). Keys are
compared normalized (`normalize_key`: lower case, without `_`, `-` and spaces), so that Stripe's
`postal_code`, Adyen's `postalCode` and Braintree's `postal-code` are one entry; a dotted key
(Adyen's flattened `additionalData`, `billingAddress.postalCode`) matches by its last segment too.

What the list leaves out on purpose, because triage needs it and it names no person: ids (payment,
customer, merchant, device), amounts, currencies, card brand, BIN, last four digits, card
fingerprint, countries, states. E-mail addresses and card numbers are masked wherever they stand
by the excerpt's own patterns; their keys are listed too, for values the patterns do not catch.
"""

from typing import Final

NAMES: Final = frozenset(
    {
        "name",  # Stripe billing_details.name, shipping.name
        "firstname",  # Braintree first_name, Square billing_address.first_name, Adyen shopperName.firstName
        "lastname",
        "middlename",
        "givenname",  # Square customer given_name
        "familyname",
        "fullname",
        "customername",  # Stripe dispute evidence customer_name
        "shoppername",
        "billingname",
        "shippingname",
        "cardholdername",  # Braintree credit_card.cardholder_name, Square card.cardholder_name, Adyen cardHolderName
        "cardholder",
        "holdername",  # Adyen card.holderName
        "nameoncard",
        "accountholdername",  # Braintree us_bank_account.account_holder_name
        "ownername",  # Adyen bankAccount.ownerName
    }
)
ADDRESSES: Final = frozenset(
    {
        "line1",  # Stripe address.line1
        "line2",
        "addressline1",  # Square address_line_1
        "addressline2",
        "addressline3",
        "streetaddress",  # Braintree billing.street_address
        "extendedaddress",
        "street",  # Adyen billingAddress.street
        "housenumberorname",
        "address",  # a container in Stripe and Square (its members are listed); a string elsewhere
        "billingaddress",  # Stripe dispute evidence: the address as one string
        "shippingaddress",
        "deliveryaddress",
        "city",
        "locality",  # Braintree and Square: the city
        "postalcode",  # Stripe, Braintree, Square; Adyen postalCode
        "postcode",
        "zip",
        "zipcode",
    }
)
CONTACTS: Final = frozenset(
    {
        "email",
        "emailaddress",
        "receiptemail",  # Stripe
        "buyeremailaddress",  # Square
        "customeremailaddress",  # Stripe dispute evidence
        "shopperemail",  # Adyen
        "phone",  # Stripe billing_details.phone, Braintree customer.phone
        "phonenumber",  # Square
        "telephone",
        "telephonenumber",  # Adyen
        "shoppertelephone",
        "mobile",
        "mobilephone",
        "fax",
        "ip",
        "ipaddress",  # Stripe customer_acceptance.online.ip_address, Square
        "shopperip",  # Adyen
        "customerip",  # Braintree risk_data.customer_ip
        "customerpurchaseip",  # Stripe dispute evidence
        "clientip",
        "dateofbirth",  # Adyen
        "shopperdateofbirth",
        "birthdate",
        "birthday",
        "dob",
        "ssn",
        "taxid",
        "nationalid",
    }
)
ACCOUNTS: Final = frozenset(
    {
        "iban",  # Adyen bankAccount.iban, Stripe sepa_debit
        "bankaccountnumber",  # Adyen bankAccount.bankAccountNumber
        "accountnumber",
        "routingnumber",  # Braintree us_bank_account.routing_number (with the holder name, it identifies)
        "cvv",
        "cvc",
        "securitycode",
        "token",  # Braintree credit_card.token (a vaulted card)
        "paymentmethodtoken",
        "paymentmethodnonce",
        "nonce",
        "recurringdetailreference",  # Adyen's stored card
        "storedpaymentmethodid",
        "clientsecret",  # Stripe PaymentIntent client_secret
        "secret",
        "password",
        "apikey",
        "accesstoken",
        "refreshtoken",
        "hmacsignature",  # Adyen additionalData.hmacSignature
        "signature",
    }
)
PERSONAL_DATA_KEYS: Final[frozenset[str]] = NAMES | ADDRESSES | CONTACTS | ACCOUNTS
"""Normalized keys (`normalize_key`) whose values an excerpt never shows."""


def normalize_key(key: str) -> str:
    return key.lower().replace("_", "").replace("-", "").replace(" ", "")


def is_personal_data_key(key: str) -> bool:
    """True for a key whose value is personal data or a secret: the key itself, or its last
    dotted segment, is listed once normalized. A listed key whose value is an object (Stripe's
    `address`) masks nothing itself: its members' keys are listed."""
    normalized = normalize_key(key)
    return normalized in PERSONAL_DATA_KEYS or normalize_key(key.rsplit(".", 1)[-1]) in PERSONAL_DATA_KEYS
