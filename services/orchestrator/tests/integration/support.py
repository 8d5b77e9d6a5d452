"""What the integration tests share: a real Feast feature server with three customers, the real
inference service (its pex, started as a process) reading it, Kafka topics per test, and helpers
to read what the orchestrator published."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from aiokafka import (  # type: ignore[import-untyped]  # no py.typed
    AIOKafkaConsumer,
    AIOKafkaProducer,
    ConsumerRecord,
    TopicPartition,
)
from pydantic import BaseModel
from temporalio.api.enums.v1 import EventType as HistoryEventType
from temporalio.client import WorkflowHandle, WorkflowHistory

from contracts.schemas.normalized_event import NormalizedEvent
from local_stack.executables import find_temporal
from testing.feast_server import OnlineTable, build_feature_repo, start_feature_server
from testing.kafka import KafkaServer
from testing.processes import ServerProcess, free_port, start_server

ModelT = TypeVar("ModelT", bound=BaseModel)

INFERENCE_PEX = Path("services.inference/inference.pex")
"""Built by Pants from `services/inference:inference` (runtime_package_dependencies)."""

# Feature rows per customer. The scores below are worked by hand from rules-v1
# (libs/baselines/src/baselines/rules.py: bias -4, capped weights) for a 25.00 USD payment
# whose card and IP are both US, so is_foreign_card = 0 and amount_to_customer_avg_ratio = 1.
BASE_CUSTOMER = {
    "customer_txn_count_1h": 0.0,
    "customer_txn_count_24h": 0.0,
    "customer_amount_usd_24h": 0.0,
    "customer_avg_amount_usd_30d": 25.0,
    "customer_distinct_cards_7d": 0.0,
    "customer_tenure_days": 0.0,
    "customer_dispute_count_90d": 0.0,
    "is_new_country_for_customer": 0.0,
}
BASE_CARD = {"card_txn_count_1h": 0.0, "card_distinct_merchants_24h": 0.0, "card_decline_count_24h": 0.0}
CUSTOMERS: dict[str, tuple[dict[str, float], dict[str, float], float]] = {
    # z = -4 + 0.35*1 - 0.5/365*730 = -4.65 -> 1/(1+e^4.65)
    "cus_safe": ({"customer_tenure_days": 730.0}, {}, 0.0),
    # z = -4 + 0.35 + 0.6*5 (disputes) + 0.3*3 (declines) + 0.8 (new card) = 1.05
    "cus_medium": ({"customer_dispute_count_90d": 5.0}, {"card_decline_count_24h": 3.0}, 1.0),
    # z = -4 + 0.35 + 0.15*10 + 0.25*10 + 0.2*10 + 0.3*10 + 0.25*10 + 0.6*5 + 0.8 + 0.9 = 12.55
    "cus_risky": (
        {
            "customer_txn_count_1h": 10.0,
            "customer_distinct_cards_7d": 10.0,
            "customer_dispute_count_90d": 5.0,
            "is_new_country_for_customer": 1.0,
        },
        {"card_txn_count_1h": 10.0, "card_distinct_merchants_24h": 10.0, "card_decline_count_24h": 10.0},
        1.0,
    ),
}
EXPECTED_FRAUD = {"cus_safe": 0.009471, "cus_medium": 0.740775, "cus_risky": 0.999996}
# Churn, the same row for every customer: z = -2.5 + 0.04*12 - 0.3*3 - 0.05*9 - 0.3/365*730 = -3.97
CHURN = {
    "days_since_last_payment": 12.0,
    "payments_30d": 3.0,
    "payments_90d": 9.0,
    "failed_payments_30d": 0.0,
    "refunds_90d": 0.0,
    "disputes_90d": 0.0,
    "avg_amount_usd_90d": 25.0,
    "tenure_days": 730.0,
}
EXPECTED_CHURN = 0.018524


def card_of(customer: str) -> str:
    return "fp_" + customer.removeprefix("cus_")


def start_feature_store(root: Path) -> ServerProcess:
    written_at = datetime.now(UTC) - timedelta(minutes=10)
    customer_rows = [{"customer_id": c, **BASE_CUSTOMER, **cust} for c, (cust, _, _) in CUSTOMERS.items()]
    card_rows = [{"card_fingerprint": card_of(c), **BASE_CARD, **card} for c, (_, card, _) in CUSTOMERS.items()]
    new_card_rows = [
        {"customer_id": c, "card_fingerprint": card_of(c), "is_new_card_for_customer": new}
        for c, (_, _, new) in CUSTOMERS.items()
    ]
    tables = [
        OnlineTable("customer_fraud", ("customer_id",), tuple(BASE_CUSTOMER), customer_rows, written_at),
        OnlineTable("card_fraud", ("card_fingerprint",), tuple(BASE_CARD), card_rows, written_at),
        OnlineTable(
            "customer_card",
            ("customer_id", "card_fingerprint"),
            ("is_new_card_for_customer",),
            new_card_rows,
            written_at,
        ),
        OnlineTable(
            "merchant_risk",
            ("merchant_id",),
            ("merchant_risk_score",),
            [{"merchant_id": "mer_1", "merchant_risk_score": 0.0}],
            written_at,
        ),
        OnlineTable(
            "customer_churn",
            ("customer_id",),
            tuple(CHURN),
            [{"customer_id": c, **CHURN} for c in CUSTOMERS],
            written_at,
        ),
    ]
    services = {
        "fraud_v1": ["customer_fraud", "card_fraud", "customer_card", "merchant_risk"],
        "churn_v1": ["customer_churn"],
    }
    repo = build_feature_repo(root, tables, services)
    return start_feature_server(repo.path)


def python311() -> str:
    return shutil.which("python3.11") or sys.executable


def start_inference(feast_url: str, root: Path, pex: Path = INFERENCE_PEX) -> ServerProcess:
    """The inference pex on a free port, with an empty registry: it serves its rules-v1 baseline."""
    port = free_port()
    registry = root / "registry"
    registry.mkdir(parents=True, exist_ok=True)
    return start_server(
        [python311(), str(pex.resolve())],
        base_url=f"http://127.0.0.1:{port}",
        ready_path="/readyz",
        log_path=root / f"inference-{port}.log",
        # The pex brings its own dependencies: none of this test's import path.
        env={
            "PYTHONPATH": "",
            "INFERENCE_PORT": str(port),
            "INFERENCE_REGISTRY_ROOT": str(registry),
            "INFERENCE_FEAST_URL": feast_url,
            "INFERENCE_LOG_LEVEL": "WARNING",
        },
    )


@dataclass(frozen=True)
class Topics:
    normalized: str
    dlq: str
    decisions: str
    retries: str

    @classmethod
    def create(cls, kafka: KafkaServer, label: str) -> Topics:
        return cls(
            normalized=kafka.create_topic(f"{label}-normalized", partitions=3),
            dlq=kafka.create_topic(f"{label}-dlq"),
            decisions=kafka.create_topic(f"{label}-decisions"),
            retries=kafka.create_topic(f"{label}-retries"),
        )

    def env(self) -> dict[str, str]:
        return {
            "ORCHESTRATOR_NORMALIZED_TOPIC": self.normalized,
            "ORCHESTRATOR_DLQ_TOPIC": self.dlq,
            "ORCHESTRATOR_DECISIONS_TOPIC": self.decisions,
            "ORCHESTRATOR_RETRIES_TOPIC": self.retries,
        }


async def read_records(
    bootstrap: str,
    topic: str,
    until: Callable[[list[ConsumerRecord[bytes, bytes]]], bool],
    timeout: float = 60.0,
) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record of `topic` from the start (value, key, headers), once `until(records)` holds."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    records: list[ConsumerRecord[bytes, bytes]] = []
    deadline = time.monotonic() + timeout
    try:
        while not until(records):
            if time.monotonic() > deadline:
                raise AssertionError(f"{topic}: condition not met after {timeout} s; got {records}")
            batch = await consumer.getmany(timeout_ms=200)
            for got in batch.values():
                records.extend(got)
    finally:
        await consumer.stop()
    return records


async def read_topic(
    bootstrap: str, topic: str, model: type[ModelT], until: Callable[[list[ModelT]], bool], timeout: float = 60.0
) -> list[ModelT]:
    """Every message of `topic` from the start, decoded, once `until(messages)` holds."""

    def decode(records: list[ConsumerRecord[bytes, bytes]]) -> list[ModelT]:
        return [model.model_validate_json(record.value or b"") for record in records]

    return decode(await read_records(bootstrap, topic, lambda records: until(decode(records)), timeout))


async def produce(bootstrap: str, topic: str, events: list[NormalizedEvent]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for event in events:
            await producer.send_and_wait(topic, event.model_dump_json().encode(), key=event.payment_id.encode())
    finally:
        await producer.stop()


async def eventually(check: Callable[[], Any], timeout: float = 60.0, what: str = "condition") -> Any:
    """Poll an async or sync `check` until it returns a truthy value (readiness, not a sleep)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached after {timeout} s")
        await asyncio.sleep(0.1)


LOCAL_ACTIVITY_MARKER = "core_local_activity"
"""The marker a local activity's result is recorded as (Temporal's SDK core)."""


def activities_run(history: WorkflowHistory) -> list[str]:
    """The activity types a history recorded, in order: scheduled regular activities and the
    markers of completed local activities (whose `data` detail is JSON naming the type)."""
    names: list[str] = []
    for e in history.events:
        if e.event_type == HistoryEventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            names.append(e.activity_task_scheduled_event_attributes.activity_type.name)
        elif (
            e.event_type == HistoryEventType.EVENT_TYPE_MARKER_RECORDED
            and e.marker_recorded_event_attributes.marker_name == LOCAL_ACTIVITY_MARKER
        ):
            data = json.loads(e.marker_recorded_event_attributes.details["data"].payloads[0].data)
            names.append(data.get("activity_type") or data["activityType"])
    return names


def patch_markers(history: WorkflowHistory) -> list[str]:
    """The `workflow.patched` ids a history recorded."""
    return [
        json.loads(e.marker_recorded_event_attributes.details["patch-data"].payloads[0].data)["id"]
        for e in history.events
        if e.event_type == HistoryEventType.EVENT_TYPE_MARKER_RECORDED
        and e.marker_recorded_event_attributes.marker_name == "core_patch"
    ]


RECORD_ENV_VAR = "RECORD_HISTORIES_TO"


async def keep_history(handle: WorkflowHandle[Any, Any], name: str) -> None:
    """With RECORD_HISTORIES_TO set, write the workflow's history there as `<name>.json`: the
    fixtures `tests/test_replay.py` replays (`--test-extra-env-vars=RECORD_HISTORIES_TO=...`)."""
    target = os.environ.get(RECORD_ENV_VAR)
    if target:
        history = await handle.fetch_history()
        Path(target, f"{name}.json").write_text(history.to_json())


def child_settings_env(base: dict[str, str]) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("ORCHESTRATOR_")}
    env.update(base)
    return env


def dump(value: Any) -> str:
    return json.dumps(value, default=str)


async def committed_offsets(bootstrap: str, group_id: str, topic: str) -> dict[int, int | None]:
    """The group's committed offset per partition of `topic` (None: nothing committed)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group_id)
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        if not partitions:
            await consumer._client.force_metadata_update()  # (no public metadata refresh)
            partitions = consumer.partitions_for_topic(topic) or set()
        return {p: await consumer.committed(TopicPartition(topic, p)) for p in sorted(partitions)}
    finally:
        await consumer.stop()


@dataclass
class KillableTemporal:
    """A Temporal dev server of one test, which it may SIGKILL and start again (same ports, same
    database file: the workflows survive). `max_id_length` is Temporal's `limit.maxIDLength`
    (default 1000), lowered so that a real refusal (INVALID_ARGUMENT) can be provoked."""

    root: Path
    max_id_length: int = 1000
    ports: tuple[int, int, int, int] = (0, 0, 0, 0)
    server: ServerProcess | None = None
    starts: int = 0

    def __post_init__(self) -> None:
        self.ports = (free_port(), free_port(), free_port(), free_port())

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.ports[0]}"

    def start(self) -> None:
        grpc, http, ui, metrics = self.ports
        self.starts += 1
        command = [
            str(find_temporal(os.environ)),
            "server",
            "start-dev",
            "--headless",
            "--ip",
            "127.0.0.1",
            "--port",
            str(grpc),
            "--http-port",
            str(http),
            "--ui-port",
            str(ui),
            "--metrics-port",
            str(metrics),
            "--db-filename",
            str(self.root / "temporal.db"),
            "--log-level",
            "warn",
            "--dynamic-config-value",
            f"limit.maxIDLength={self.max_id_length}",
        ]
        self.server = start_server(
            command,
            base_url=f"http://127.0.0.1:{http}",
            ready_path="/api/v1/namespaces/default",
            log_path=self.root / f"temporal-{self.starts}.log",
        )

    def kill(self) -> None:
        assert self.server is not None
        self.server.process.send_signal(signal.SIGKILL)
        self.server.process.wait(timeout=30)
        self.server = None

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None
