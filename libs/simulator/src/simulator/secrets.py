"""The webhook secrets the simulator signs with, read from `SIMULATOR_*` variables or CLI options.

The gateway must be configured with the same secrets (its `GATEWAY_*` variables):
`gateway_environment()` prints the matching settings. A missing secret is an error that names the
variable, never a silent default: the system this platform replaces skipped signature checks when
a secret was empty.

`TEST_SECRETS` are fixed, public values for tests and local development ONLY. They are not
secret (they are in this file) and must never configure anything reachable from outside.
"""

from __future__ import annotations

import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Final

ENV_PREFIX: Final = "SIMULATOR_"


class MissingSecretError(ValueError):
    """Raised when a secret is not configured; the message names the variables."""


@dataclass(frozen=True, slots=True)
class WebhookSecrets:
    stripe_webhook_secrets: tuple[str, ...] = field(repr=False)
    """Stripe endpoint secrets (`whsec_...`), newest first; every one signs (rotation)."""
    square_signature_key: str = field(repr=False)
    square_notification_url: str = field(repr=True)
    """Square signs the subscription's notification URL together with the body."""
    adyen_hmac_key: str = field(repr=False)
    """Adyen HMAC key as hex (Adyen's Customer Area shows it so)."""
    braintree_public_key: str = field(repr=True)
    braintree_private_key: str = field(repr=False)

    def __post_init__(self) -> None:
        if not self.stripe_webhook_secrets or not all(self.stripe_webhook_secrets):
            raise MissingSecretError(f"{ENV_PREFIX}STRIPE_WEBHOOK_SECRET is empty")
        try:
            binascii.a2b_hex(self.adyen_hmac_key)
        except (binascii.Error, ValueError):
            raise MissingSecretError(f"{ENV_PREFIX}ADYEN_HMAC_KEY must be hex") from None

    def wrong(self) -> WebhookSecrets:
        """Secrets the receiver does not know: for deliberately bad signatures."""
        return replace(
            self,
            stripe_webhook_secrets=tuple("whsec_not" + s for s in self.stripe_webhook_secrets),
            square_signature_key="not-" + self.square_signature_key,
            adyen_hmac_key=self.adyen_hmac_key[::-1],
            braintree_private_key="not-" + self.braintree_private_key,
        )


VARIABLES: Final[dict[str, str]] = {
    "stripe_webhook_secrets": f"{ENV_PREFIX}STRIPE_WEBHOOK_SECRET",
    "square_signature_key": f"{ENV_PREFIX}SQUARE_SIGNATURE_KEY",
    "square_notification_url": f"{ENV_PREFIX}SQUARE_NOTIFICATION_URL",
    "adyen_hmac_key": f"{ENV_PREFIX}ADYEN_HMAC_KEY",
    "braintree_public_key": f"{ENV_PREFIX}BRAINTREE_PUBLIC_KEY",
    "braintree_private_key": f"{ENV_PREFIX}BRAINTREE_PRIVATE_KEY",
}
"""Field -> environment variable. `SIMULATOR_STRIPE_WEBHOOK_SECRET` may list several, comma-separated."""


def from_mapping(values: Mapping[str, str | None], environ: Mapping[str, str]) -> WebhookSecrets:
    """Secrets from explicit `values` (CLI options, by field name), else from `environ`."""
    found: dict[str, str] = {}
    missing: list[str] = []
    for name, variable in VARIABLES.items():
        value = values.get(name) or environ.get(variable) or ""
        if value.strip():
            found[name] = value.strip()
        else:
            missing.append(variable)
    if missing:
        raise MissingSecretError("missing webhook secrets: set " + ", ".join(missing) + " (or the matching options)")
    return WebhookSecrets(
        stripe_webhook_secrets=tuple(s.strip() for s in found["stripe_webhook_secrets"].split(",") if s.strip()),
        square_signature_key=found["square_signature_key"],
        square_notification_url=found["square_notification_url"],
        adyen_hmac_key=found["adyen_hmac_key"],
        braintree_public_key=found["braintree_public_key"],
        braintree_private_key=found["braintree_private_key"],
    )


TEST_SECRETS: Final = WebhookSecrets(
    stripe_webhook_secrets=("whsec_simulatorTestSecretDoNotUseInProduction",),  # (test-only value)
    square_signature_key="simulator-test-square-signature-key",  # (test-only value)
    square_notification_url="http://127.0.0.1:8000/webhooks/square",
    adyen_hmac_key="44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056",
    braintree_public_key="simulatorpublic1",
    braintree_private_key="simulatortestprivatekey000000000",  # (test-only value)
)
"""Fixed secrets for tests and local development ONLY (see the module docstring)."""


def gateway_environment(secrets: WebhookSecrets) -> dict[str, str]:
    """The gateway's `GATEWAY_*` settings that accept what these secrets sign."""
    return {
        "GATEWAY_STRIPE_WEBHOOK_SECRETS": ",".join(secrets.stripe_webhook_secrets),
        "GATEWAY_SQUARE_WEBHOOK_SECRETS": secrets.square_signature_key,
        "GATEWAY_SQUARE_NOTIFICATION_URL": secrets.square_notification_url,
        "GATEWAY_ADYEN_WEBHOOK_SECRETS": secrets.adyen_hmac_key,
        "GATEWAY_BRAINTREE_WEBHOOK_SECRETS": f"{secrets.braintree_public_key}:{secrets.braintree_private_key}",
    }
