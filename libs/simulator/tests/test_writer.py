"""File mode: reproducible folders, the event stream, and ground truth kept apart."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pyarrow.parquet as pq  # type: ignore[import-untyped]
import pytest

from simulator.config import SimulationConfig
from simulator.engine import simulate
from simulator.secrets import TEST_SECRETS
from simulator.writer import write_run

FILES = (
    "requests.jsonl",
    "events.parquet",
    "ground_truth/payments.parquet",
    "ground_truth/customers.parquet",
    "manifest.json",
)


@pytest.fixture(scope="module")
def config() -> SimulationConfig:
    return SimulationConfig(seed=5, customers=150, days=10, invalid_signature_share=0.05, malformed_share=0.05)


def test_same_seed_writes_byte_identical_files(tmp_path: Path, config: SimulationConfig) -> None:
    for name in ("a", "b"):
        write_run(simulate(config), TEST_SECRETS, tmp_path / name)
    for file in FILES:
        assert (tmp_path / "a" / file).read_bytes() == (tmp_path / "b" / file).read_bytes(), file


def test_outputs_agree_with_each_other(tmp_path: Path, config: SimulationConfig) -> None:
    simulation = simulate(config)
    summary = write_run(simulation, TEST_SECRETS, tmp_path)
    lines = [json.loads(line) for line in (tmp_path / "requests.jsonl").read_text().splitlines()]
    assert len(lines) == summary.requests
    genuine = [line for line in lines if line["fault"] == "none"]
    events = pq.read_table(tmp_path / "events.parquet").to_pylist()
    assert [e["event_id"] for e in events] == [line["event_id"] for line in genuine]
    assert not {"is_fraud", "fraud_pattern", "churned"} & set(events[0])
    payments = pq.read_table(tmp_path / "ground_truth" / "payments.parquet").to_pylist()
    assert len(payments) == len(simulation.payments)
    assert {p["payment_event_id"] for p in payments} <= {e["event_id"] for e in events}
    fraud = sum(p["is_fraud"] for p in payments) / len(payments)
    assert fraud == pytest.approx(config.fraud_rate, rel=0.25)
    customers = pq.read_table(tmp_path / "ground_truth" / "customers.parquet").to_pylist()
    assert sum(c["churned"] for c in customers) == round(config.churn_rate * config.customers)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["counts"]["requests"] == summary.requests
    assert manifest["config"]["seed"] == config.seed


def test_request_lines_are_the_exact_requests(tmp_path: Path, config: SimulationConfig) -> None:
    write_run(simulate(dataclasses.replace(config, customers=40)), TEST_SECRETS, tmp_path)
    for line in (tmp_path / "requests.jsonl").read_text().splitlines():
        record = json.loads(line)
        assert record["method"] == "POST"
        assert record["path"] == f"/webhooks/{record['provider']}"
        assert record["is_valid_signature"] == (
            record["fault"] not in {"wrong_secret", "tampered_body", "missing_signature"}
        )
        assert "is_fraud" not in record["body"]


def test_jsonl_tables(tmp_path: Path, config: SimulationConfig) -> None:
    summary = write_run(
        simulate(dataclasses.replace(config, customers=40)), TEST_SECRETS, tmp_path, table_format="jsonl"
    )
    assert summary.files["events"] == "events.jsonl"
    first = json.loads((tmp_path / "ground_truth" / "payments.jsonl").read_text().splitlines()[0])
    assert first["created_at"].endswith("+00:00")
    assert isinstance(first["is_fraud"], bool)
