"""The command line: generate, send, gateway-env, and refusing to run without secrets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import WebhookServer

from simulator.cli import main
from simulator.secrets import TEST_SECRETS, VARIABLES

SMALL = ["--customers", "40", "--days", "5", "--no-progress"]


def _secret_env(monkeypatch: pytest.MonkeyPatch) -> None:
    values = {
        "stripe_webhook_secrets": ",".join(TEST_SECRETS.stripe_webhook_secrets),
        "square_signature_key": TEST_SECRETS.square_signature_key,
        "square_notification_url": TEST_SECRETS.square_notification_url,
        "adyen_hmac_key": TEST_SECRETS.adyen_hmac_key,
        "braintree_public_key": TEST_SECRETS.braintree_public_key,
        "braintree_private_key": TEST_SECRETS.braintree_private_key,
    }
    for field, variable in VARIABLES.items():
        monkeypatch.setenv(variable, values[field])


def test_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    assert "generate" in capsys.readouterr().out


def test_generate_writes_a_run_with_secrets_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _secret_env(monkeypatch)
    assert main(["generate", "--out", str(tmp_path), "--timing", *SMALL]) == 0
    output = capsys.readouterr().out
    assert "timing  total" in output
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["config"]["customers"] == 40
    assert (tmp_path / "ground_truth" / "payments.parquet").exists()


def test_missing_secrets_stop_the_run_and_name_the_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for variable in VARIABLES.values():
        monkeypatch.delenv(variable, raising=False)
    assert main(["generate", "--out", str(tmp_path), *SMALL]) == 2
    error = capsys.readouterr().err
    assert "SIMULATOR_STRIPE_WEBHOOK_SECRET" in error and "SIMULATOR_ADYEN_HMAC_KEY" in error
    assert not (tmp_path / "requests.jsonl").exists()


def test_invalid_configuration_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["generate", "--out", str(tmp_path), "--test-secrets", "--fraud-rate", "1.5", *SMALL]) == 2
    assert "fraud_rate" in capsys.readouterr().err


def test_send_reports_and_exits_zero_when_the_receiver_behaves(
    webhook_server: WebhookServer, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["send", "--base-url", webhook_server.base_url, "--test-secrets", "--invalid-signature-share", "0.1", *SMALL]
    assert main(argv) == 0
    output = capsys.readouterr().out
    assert "genuine refused: 0" in output and "faulty accepted: 0" in output


def test_send_with_test_secrets_signs_square_for_the_gateway_it_sends_to(
    webhook_server: WebhookServer, capsys: pytest.CaptureFixture[str]
) -> None:
    # The stand-in verifies Square against its own URL, as a gateway configured for it would.
    argv = ["send", "--base-url", webhook_server.base_url, "--test-secrets", "--provider-shares", "square=1", *SMALL]
    assert main(argv) == 0
    output = capsys.readouterr().out
    assert "status:    200 x" in output and "genuine refused: 0" in output


def test_send_with_test_secrets_follows_an_explicit_square_notification_url(
    webhook_server: WebhookServer, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong = "https://gateway.example/webhooks/square"
    argv = ["send", "--base-url", webhook_server.base_url, "--test-secrets", "--square-notification-url", wrong]
    assert main([*argv, "--provider-shares", "square=1", "--retries", "0", *SMALL]) == 1
    assert "refused (permanent): square http_401" in capsys.readouterr().out


def test_send_from_several_processes(webhook_server: WebhookServer, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["send", "--base-url", webhook_server.base_url, "--test-secrets", "--processes", "2", *SMALL]
    assert main([*argv, "--duplicate-share", "0.1", "--malformed-share", "0.05"]) == 0
    output = capsys.readouterr().out
    assert f"sent:      {webhook_server.state['received']} requests" in output
    assert "genuine refused: 0   faulty accepted: 0" in output


def test_gateway_env_matches_the_secrets(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gateway-env", "--test-secrets"]) == 0
    lines = dict(line.split("=", 1) for line in capsys.readouterr().out.splitlines())
    assert lines["GATEWAY_ADYEN_WEBHOOK_SECRETS"] == TEST_SECRETS.adyen_hmac_key
    assert lines["GATEWAY_BRAINTREE_WEBHOOK_SECRETS"].startswith(TEST_SECRETS.braintree_public_key + ":")
    assert lines["GATEWAY_SQUARE_NOTIFICATION_URL"] == "http://127.0.0.1:8000/webhooks/square"


def test_gateway_env_square_url_follows_the_base_url(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gateway-env", "--test-secrets", "--base-url", "http://10.1.2.3:9100/"]) == 0
    lines = dict(line.split("=", 1) for line in capsys.readouterr().out.splitlines())
    assert lines["GATEWAY_SQUARE_NOTIFICATION_URL"] == "http://10.1.2.3:9100/webhooks/square"
