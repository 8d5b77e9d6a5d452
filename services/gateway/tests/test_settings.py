"""Settings come from `GATEWAY_*` variables and refuse to start without every provider's secret."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from webhook_samples import settings_env

from contracts.reference.providers import Provider
from gateway.settings import ConfigurationError, GatewaySettings, labelled_secrets, load_settings


@pytest.fixture()
def env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name in list(os.environ):
        if name.startswith("GATEWAY_"):
            monkeypatch.delenv(name)
    values = settings_env()
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


def test_reads_every_setting_from_the_environment(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_STRIPE_TOLERANCE_SECONDS", "120")
    monkeypatch.setenv("GATEWAY_KAFKA_BOOTSTRAP_SERVERS", "kafka-1:9092,kafka-2:9092")
    settings = load_settings()
    assert settings.stripe_tolerance_seconds == 120
    assert settings.kafka_bootstrap_servers == "kafka-1:9092,kafka-2:9092"
    assert [label for label, _ in labelled_secrets(settings.stripe_webhook_secrets)] == ["current", "previous"]
    assert [label for label, _ in labelled_secrets(settings.square_webhook_secrets)] == ["0", "1"]
    assert [label for label, _ in labelled_secrets(settings.adyen_webhook_secrets)] == ["0", "previous"]
    assert [label for label, _ in labelled_secrets(settings.braintree_webhook_secrets)] == [
        "bt_public_current",
        "bt_public_previous",
    ]


@pytest.mark.parametrize("provider", list(Provider))
@pytest.mark.parametrize("value", [None, "", " , "])
def test_missing_secret_refuses_to_start_naming_the_variable(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, provider: Provider, value: str | None
) -> None:
    variable = f"GATEWAY_{provider.value.upper()}_WEBHOOK_SECRETS"
    if value is None:
        monkeypatch.delenv(variable)
    else:
        monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError, match=variable):
        load_settings()


@pytest.mark.parametrize("value", [None, "", "kafka-1", "kafka-1:notaport"])
def test_missing_or_malformed_kafka_bootstrap_refuses_to_start_naming_the_variable(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, value: str | None
) -> None:
    if value is None:
        monkeypatch.delenv("GATEWAY_KAFKA_BOOTSTRAP_SERVERS")
    else:
        monkeypatch.setenv("GATEWAY_KAFKA_BOOTSTRAP_SERVERS", value)
    with pytest.raises(ConfigurationError, match="GATEWAY_KAFKA_BOOTSTRAP_SERVERS"):
        load_settings()


def test_square_needs_its_notification_url(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GATEWAY_SQUARE_NOTIFICATION_URL")
    with pytest.raises(ConfigurationError, match="GATEWAY_SQUARE_NOTIFICATION_URL"):
        load_settings()


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("GATEWAY_ADYEN_WEBHOOK_SECRETS", "not-hex"),
        ("GATEWAY_BRAINTREE_WEBHOOK_SECRETS", "private-key-without-public-key"),
        ("GATEWAY_STRIPE_WEBHOOK_SECRETS", "a" * 65 + ":whsec_x"),
        ("GATEWAY_STRIPE_TOLERANCE_SECONDS", "0"),
        ("GATEWAY_MAX_BODY_BYTES", "ten"),
        ("GATEWAY_PORT", "70000"),
        ("GATEWAY_LOG_LEVEL", "verbose"),
        ("GATEWAY_KAFKA_BOOTSTRAP_SERVERS", "kafka:abc"),
        ("GATEWAY_KAFKA_BOOTSTRAP_SERVERS", ""),
        ("GATEWAY_KAFKA_BOOTSTRAP_SERVERS", "a:9092;b:9092"),
        # A body the HTTP side accepts but the producer could never send.
        ("GATEWAY_MAX_BODY_BYTES", str(4 * 1024 * 1024)),
    ],
)
def test_invalid_values_name_the_variable(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError, match=variable):
        load_settings()


def test_secrets_never_appear_in_errors_or_repr(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings()
    for secret in env.values():
        if "whsec" in secret or "private" in secret:
            assert secret not in repr(settings)
    monkeypatch.setenv("GATEWAY_PORT", "nope")
    with pytest.raises(ConfigurationError) as exc:
        load_settings()
    assert "whsec_" not in str(exc.value)


def test_every_field_is_documented() -> None:
    for name, field in GatewaySettings.model_fields.items():
        assert field.description, f"GATEWAY_{name.upper()} has no description"


def test_process_exits_with_the_variable_name_when_a_secret_is_missing() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env.update(settings_env())
    del env["GATEWAY_ADYEN_WEBHOOK_SECRETS"]
    result = subprocess.run(
        [sys.executable, "-c", "from gateway.__main__ import main; main()"],  # noqa: S603
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "GATEWAY_ADYEN_WEBHOOK_SECRETS" in result.stderr
