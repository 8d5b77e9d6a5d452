"""The gateway's configuration: `GATEWAY_*` environment variables, validated once at start.

Every provider must have at least one secret. A missing secret stops the service with a message
that names the variable: the system this replaces skipped verification when a secret was empty.
Several secrets per provider are accepted so that a key can be rotated without downtime.
"""

from __future__ import annotations

import binascii
import re
from functools import cache
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

import service_config
from contracts.reference.providers import Provider
from service_config import ConfigurationError, LogLevel

__all__ = [
    "ConfigurationError",
    "GatewaySettings",
    "RedriveSettings",
    "get_settings",
    "labelled_secrets",
    "load_redrive_settings",
    "load_settings",
]

ENV_PREFIX = "GATEWAY_"
MAX_KEY_LABEL = 64
"""Envelopes carry the label of the key that verified them (`signature_key_id`, at most 64)."""

SecretList = Annotated[tuple[SecretStr, ...], NoDecode]
"""Comma-separated secrets; each entry is `secret` or `label:secret`."""


def _split(value: Any) -> Any:
    """`a,b` -> ("a", "b"): secrets are listed in one variable, newest first."""
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",")) if value.strip() else ()
    return value


_HOST_PORT = re.compile(r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):(?P<port>[0-9]{1,5})")
ENVELOPE_ROOM_BYTES = 16 * 1024
"""What an event's envelope may add around the webhook body it carries (ids, times, provider)."""


def _host_port_list(value: str) -> str:
    for server in value.split(","):
        match = _HOST_PORT.fullmatch(server.strip())
        if match is None or not 1 <= int(match["port"]) <= 65535:
            raise ValueError("must be `host:port[,host:port]`, e.g. kafka:9092")
    return value


_SETTINGS_CONFIG = SettingsConfigDict(
    env_prefix=ENV_PREFIX,
    case_sensitive=False,
    frozen=True,
    extra="ignore",
    # The docstring under each field is its description (README table, error messages).
    use_attribute_docstrings=True,
)


class GatewaySettings(BaseSettings):
    """Configuration read from `GATEWAY_*` variables (field `x` is `GATEWAY_X`)."""

    model_config = _SETTINGS_CONFIG

    # -- server -------------------------------------------------------------------------------
    host: str = "127.0.0.1"
    """Interface the server binds (the container image sets 0.0.0.0)."""
    port: Annotated[int, Field(ge=1, le=65535)] = 8000
    """TCP port of the HTTP server."""
    max_body_bytes: Annotated[int, Field(ge=1024, le=16 * 1024 * 1024)] = 256 * 1024
    """Largest webhook body accepted; larger bodies get 413 before they are read."""
    log_level: LogLevel = "INFO"
    """Python logging level: CRITICAL, ERROR, WARNING, INFO or DEBUG, any case (DEBUG also logs
    every accepted webhook)."""
    access_log: bool = False
    """Log every request (method, path, status; signature headers obfuscated). Refusals and
    broker trouble are logged regardless."""

    # -- providers ----------------------------------------------------------------------------
    stripe_webhook_secrets: SecretList = ()
    """Stripe endpoint signing secrets (`whsec_...`), comma-separated, newest first. Required."""
    stripe_tolerance_seconds: Annotated[int, Field(ge=1, le=3600)] = 300
    """How far a Stripe signature timestamp may lie in the past or the future."""
    square_webhook_secrets: SecretList = ()
    """Square webhook subscription signature keys, comma-separated. Required."""
    square_notification_url: str = ""
    """The notification URL exactly as configured in the Square subscription (it is signed). Required."""
    adyen_webhook_secrets: SecretList = ()
    """Adyen HMAC keys (hex), comma-separated. Required."""
    braintree_webhook_secrets: SecretList = ()
    """Braintree API key pairs `public_key:private_key`, comma-separated. Required."""

    # -- Kafka --------------------------------------------------------------------------------
    kafka_bootstrap_servers: str
    """Kafka bootstrap servers, `host:port[,host:port]`. Required: with a default, a gateway
    started without it would answer webhooks while publishing to whatever listens on localhost."""
    kafka_max_request_bytes: Annotated[int, Field(ge=64 * 1024, le=64 * 1024 * 1024)] = 1024 * 1024
    """Largest produce request (the producer's `max_request_size`); keep it at or below the
    broker's and the topics' `message.max.bytes`. Must exceed GATEWAY_MAX_BODY_BYTES by 16 KiB,
    the room an event's envelope needs around the webhook body."""
    kafka_client_id: str = "gateway"
    """Client id the producer reports to the broker."""
    kafka_linger_ms: Annotated[int, Field(ge=0, le=100)] = 2
    """How long the producer waits to fill a batch; concurrent webhooks share one request."""
    kafka_max_batch_bytes: Annotated[int, Field(ge=16 * 1024, le=16 * 1024 * 1024)] = 512 * 1024
    """Largest producer batch per partition."""
    kafka_compression: Literal["gzip"] | None = None
    """Producer compression: `gzip`, or none (the default: webhooks are small, CPU is not)."""
    publish_timeout_seconds: Annotated[float, Field(gt=0, le=120)] = 10.0
    """How long a webhook waits for the broker's acknowledgement before answering 503."""
    retry_after_seconds: Annotated[int, Field(ge=1, le=3600)] = 5
    """`Retry-After` sent with 503 when the broker is unavailable."""

    @field_validator(
        "stripe_webhook_secrets",
        "square_webhook_secrets",
        "adyen_webhook_secrets",
        "braintree_webhook_secrets",
        mode="before",
    )
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        return _split(value)

    @field_validator("kafka_bootstrap_servers")
    @classmethod
    def _host_port_list(cls, value: str) -> str:
        return _host_port_list(value)

    @model_validator(mode="after")
    def _every_provider_has_a_secret(self) -> GatewaySettings:
        problems: list[str] = []
        if self.max_body_bytes + ENVELOPE_ROOM_BYTES > self.kafka_max_request_bytes:
            problems.append(
                f"{env_name('max_body_bytes')} plus {ENVELOPE_ROOM_BYTES // 1024} KiB of envelope must fit in "
                f"{env_name('kafka_max_request_bytes')}: a webhook accepted over HTTP could never be published"
            )
        for provider in Provider:
            secrets: tuple[SecretStr, ...] = getattr(self, f"{provider.value}_webhook_secrets")
            variable = env_name(f"{provider.value}_webhook_secrets")
            if not secrets:
                problems.append(f"{variable} is required (no secret configured for {provider.value})")
            elif any(not secret for _, secret in labelled_secrets(secrets)):
                problems.append(f"{variable} has an empty entry")
            elif any(len(label) > MAX_KEY_LABEL for label, _ in labelled_secrets(secrets)):
                problems.append(f"{variable}: key labels are at most {MAX_KEY_LABEL} characters")
        if not self.square_notification_url:
            problems.append(f"{env_name('square_notification_url')} is required (Square signs the notification URL)")
        for entry in self.adyen_webhook_secrets:
            secret = _label_and_secret(entry.get_secret_value(), 0)[1]
            try:
                binascii.a2b_hex(secret)
            except (binascii.Error, ValueError):
                problems.append(f"{env_name('adyen_webhook_secrets')} entries must be hex HMAC keys")
                break
        for entry in self.braintree_webhook_secrets:
            if ":" not in entry.get_secret_value():
                problems.append(f"{env_name('braintree_webhook_secrets')} entries must be `public_key:private_key`")
                break
        if problems:
            raise ValueError("; ".join(problems))
        return self


class RedriveSettings(BaseSettings):
    """What the redrive command reads (`GATEWAY_*`, as the gateway): only the broker, which it
    must be told; it needs none of the providers' secrets (it verifies no signature)."""

    model_config = _SETTINGS_CONFIG

    kafka_bootstrap_servers: str
    """Kafka bootstrap servers, `host:port[,host:port]`. Required: a default could point the
    redrive at the wrong cluster."""

    @field_validator("kafka_bootstrap_servers")
    @classmethod
    def _host_port_list(cls, value: str) -> str:
        return _host_port_list(value)


def load_redrive_settings(**overrides: Any) -> RedriveSettings:
    """Read and validate the environment; raise `ConfigurationError` naming the bad variables."""
    return service_config.load_settings(RedriveSettings, "redrive", **overrides)


def env_name(field: str) -> str:
    return service_config.env_name(GatewaySettings, field)


def _label_and_secret(entry: str, index: int) -> tuple[str, str]:
    """`label:secret` -> (label, secret); a bare secret is labelled by its position.

    No provider's secret alphabet (base64, hex, `whsec_` + base64) contains `:`.
    """
    label, sep, secret = entry.partition(":")
    if sep and label:
        return label.strip(), secret.strip()
    return str(index), entry


def labelled_secrets(entries: tuple[SecretStr, ...]) -> list[tuple[str, str]]:
    """(key id, secret) pairs in configured order; the key id is safe to log and publish."""
    return [_label_and_secret(entry.get_secret_value(), index) for index, entry in enumerate(entries)]


def load_settings(**overrides: Any) -> GatewaySettings:
    """Read and validate the environment; raise `ConfigurationError` naming the bad variables."""
    return service_config.load_settings(GatewaySettings, "gateway", **overrides)


@cache
def get_settings() -> GatewaySettings:
    """The process-wide settings, read once."""
    return load_settings()
