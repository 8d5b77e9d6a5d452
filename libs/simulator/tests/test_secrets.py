"""Secrets come from options or SIMULATOR_* variables, never from a silent default."""

from __future__ import annotations

import pytest

from simulator.secrets import TEST_SECRETS, VARIABLES, MissingSecretError, from_mapping

ENV = {
    "SIMULATOR_STRIPE_WEBHOOK_SECRET": "whsec_new, whsec_old",
    "SIMULATOR_SQUARE_SIGNATURE_KEY": "square-key",
    "SIMULATOR_SQUARE_NOTIFICATION_URL": "https://example.test/webhooks/square",
    "SIMULATOR_ADYEN_HMAC_KEY": "00ff",
    "SIMULATOR_BRAINTREE_PUBLIC_KEY": "public",
    "SIMULATOR_BRAINTREE_PRIVATE_KEY": "private",
}


def test_reads_every_secret_from_the_environment() -> None:
    secrets = from_mapping({}, ENV)
    assert secrets.stripe_webhook_secrets == ("whsec_new", "whsec_old")
    assert secrets.square_notification_url == "https://example.test/webhooks/square"


def test_options_win_over_the_environment() -> None:
    secrets = from_mapping({"square_signature_key": "from-option"}, ENV)
    assert secrets.square_signature_key == "from-option"


def test_missing_secrets_are_named() -> None:
    with pytest.raises(MissingSecretError) as error:
        from_mapping({}, {k: v for k, v in ENV.items() if "BRAINTREE" not in k})
    assert "SIMULATOR_BRAINTREE_PUBLIC_KEY" in str(error.value)
    assert "SIMULATOR_STRIPE" not in str(error.value)


def test_adyen_key_must_be_hex() -> None:
    with pytest.raises(MissingSecretError, match="hex"):
        from_mapping({}, {**ENV, "SIMULATOR_ADYEN_HMAC_KEY": "not-hex"})


def test_repr_does_not_show_secrets() -> None:
    text = repr(TEST_SECRETS)
    assert TEST_SECRETS.square_signature_key not in text
    assert TEST_SECRETS.braintree_private_key not in text


def test_wrong_secrets_differ_from_the_real_ones() -> None:
    wrong = TEST_SECRETS.wrong()
    for field in VARIABLES:
        if field not in ("square_notification_url", "braintree_public_key"):
            assert getattr(wrong, field) != getattr(TEST_SECRETS, field)
