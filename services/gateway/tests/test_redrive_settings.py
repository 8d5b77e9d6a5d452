"""The redrive command must be told which broker to use: without `GATEWAY_KAFKA_BOOTSTRAP_SERVERS`
(or `--bootstrap-servers`) it exits 2 naming the variable, before it connects anywhere."""

from __future__ import annotations

import os

import pytest

from gateway.redrive import main
from gateway.settings import load_redrive_settings

VARIABLE = "GATEWAY_KAFKA_BOOTSTRAP_SERVERS"


@pytest.fixture(autouse=True)
def _no_gateway_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("GATEWAY_"):
            monkeypatch.delenv(name)


def test_missing_bootstrap_servers_exits_2_naming_the_variable(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--dry-run"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert VARIABLE in err and "required" in err.lower(), err


@pytest.mark.parametrize("argv", [["--bootstrap-servers", "kafka"], ["--bootstrap-servers", "kafka:99999"]])
def test_malformed_bootstrap_servers_exit_2_naming_the_variable(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    assert VARIABLE in capsys.readouterr().err


def test_malformed_variable_exits_2(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv(VARIABLE, "not a server list")
    with pytest.raises(SystemExit) as exited:
        main([])
    assert exited.value.code == 2
    assert VARIABLE in capsys.readouterr().err


def test_reads_the_variable_and_needs_no_provider_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(VARIABLE, "kafka-1:9092,kafka-2:9093")
    assert load_redrive_settings().kafka_bootstrap_servers == "kafka-1:9092,kafka-2:9093"
    assert load_redrive_settings(kafka_bootstrap_servers="other:9092").kafka_bootstrap_servers == "other:9092"
