"""The push consumer on a real broker and a real Feast store: records in, online values out through
`fraud_v1` (the service inference reads); what is not a complete record is dead-lettered with its
reasons; offsets are committed once pushed."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition  # type: ignore[import-untyped]
from aiokafka.admin import AIOKafkaAdminClient, NewTopic  # type: ignore[import-untyped]
from aiokafka.errors import TopicAlreadyExistsError  # type: ignore[import-untyped]

from contracts.schemas.dlq import DeadLetter
from contracts.schemas.velocity import CardVelocity, CustomerVelocity, VelocityFeatures
from contracts.topics import DLQ, VELOCITY, Topic
from feature_repo import cli
from feature_repo.push_consumer import frames
from feature_repo.settings import FeatureRepoSettings, load_settings
from feature_repo.store import open_store
from testing.kafka import KafkaServer, kafka_server  # noqa: F401  (re-exported fixture)
from testing.processes import ServerProcess, child_env, free_port, start_server

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
EVENT_ID = uuid.UUID("0b7f8f52-4e0e-4a53-8a2c-7d1e1e0e9a01")


async def _ensure(bootstrap: str, topics: list[Topic]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        for topic in topics:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics([NewTopic(topic.name, num_partitions=topic.partitions, replication_factor=1)])
    finally:
        await admin.close()


@pytest.fixture(scope="module")
def broker(kafka_server: KafkaServer) -> KafkaServer:  # noqa: F811
    asyncio.run(_ensure(kafka_server.bootstrap_servers, [VELOCITY, DLQ]))
    return kafka_server


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> FeatureRepoSettings:
    settings = load_settings(root=tmp_path_factory.mktemp("repo"))
    cli.apply(settings)
    return settings


@pytest.fixture()
def consumer(broker: KafkaServer, repo: FeatureRepoSettings, tmp_path: Path) -> Iterator[tuple[ServerProcess, str]]:
    group = f"push-test-{uuid.uuid4().hex[:10]}"
    port = free_port()
    process = start_server(
        [sys.executable, "-m", "feature_repo.push_consumer"],
        base_url=f"http://127.0.0.1:{port}",
        ready_path="/readyz",
        log_path=tmp_path / "push.log",
        env={
            "FEATURE_REPO_ROOT": str(repo.root),
            "FEATURE_REPO_KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
            "FEATURE_REPO_PUSH_GROUP_ID": group,
            "FEATURE_REPO_PUSH_PORT": str(port),
        },
        timeout_seconds=180,
    )
    yield process, group
    process.stop()


def _customer(entity_id: str, at: datetime, n1h: float, n24h: float, usd: float, cards: float) -> VelocityFeatures:
    features = CustomerVelocity(
        customer_txn_count_1h=n1h,
        customer_txn_count_24h=n24h,
        customer_amount_usd_24h=usd,
        customer_distinct_cards_7d=cards,
    )
    return VelocityFeatures(
        entity="customer", entity_id=entity_id, as_of=at, event_id=EVENT_ID, payment_id="p", features=features
    )


def _card(entity_id: str, at: datetime, n1h: float, merchants: float = 1, declines: float = 0) -> VelocityFeatures:
    return VelocityFeatures(
        entity="card",
        entity_id=entity_id,
        as_of=at,
        event_id=EVENT_ID,
        payment_id="p",
        features=CardVelocity(
            card_txn_count_1h=n1h, card_distinct_merchants_24h=merchants, card_decline_count_24h=declines
        ),
    )


async def _produce(bootstrap: str, messages: list[tuple[bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for key, value in messages:  # in order: one entity's records share a partition
            await producer.send_and_wait(VELOCITY.name, value, key=key)
    finally:
        await producer.stop()


async def _committed_to_end(bootstrap: str, group: str, timeout_seconds: float = 120) -> None:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        ends = await consumer.end_offsets([TopicPartition(VELOCITY.name, p) for p in range(VELOCITY.partitions)])
        deadline = time.monotonic() + timeout_seconds
        while True:
            behind = {tp: end for tp, end in ends.items() if end and ((await consumer.committed(tp)) or 0) < end}
            if not behind:
                return
            assert time.monotonic() < deadline, f"{group} has not committed up to {behind}"
            await asyncio.sleep(0.2)  # polling interval of the committed offsets
    finally:
        await consumer.stop()


async def _dead_letters(bootstrap: str) -> list[DeadLetter]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    try:
        partitions = [TopicPartition(DLQ.name, p) for p in range(DLQ.partitions)]
        ends = await consumer.end_offsets(partitions)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        letters: list[DeadLetter] = []
        while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
            for tp, messages in (await consumer.getmany(timeout_ms=1000)).items():
                letters += [DeadLetter.model_validate_json(m.value) for m in messages if m.offset < ends[tp]]
        return letters
    finally:
        await consumer.stop()


def test_records_are_pushed_online_into_fraud_v1_and_bad_ones_dead_lettered(
    broker: KafkaServer, repo: FeatureRepoSettings, consumer: tuple[ServerProcess, str]
) -> None:
    _, group = consumer
    tag = uuid.uuid4().hex[:8]
    older = _customer(f"cus-{tag}", T0, 1, 2, 30.5, 1)
    newer = _customer(f"cus-{tag}", T0 + timedelta(minutes=1), 2, 3, 40.25, 2)
    card = _card(f"fp-{tag}", T0, 4, merchants=3, declines=1)
    wrong_kind = older.model_dump(mode="json") | {"entity": "card", "entity_id": f"fp-bad-{tag}"}
    # A record of a normalizer before contracts 1.4.0: three of the customer's four features.
    legacy = newer.model_dump(mode="json") | {"entity_id": f"cus-old-{tag}"}
    del legacy["features"]["customer_distinct_cards_7d"]
    messages = [
        *[(r.key().encode(), r.model_dump_json().encode()) for r in (older, newer, card)],
        (f"customer:junk-{tag}".encode(), b'{"entity": "customer", "cut'),
        (f"card:fp-bad-{tag}".encode(), json.dumps(wrong_kind).encode()),
        (f"card:other-{tag}".encode(), card.model_dump_json().encode()),  # its key names another card
        (f"customer:cus-old-{tag}".encode(), json.dumps(legacy).encode()),
    ]
    asyncio.run(_produce(broker.bootstrap_servers, messages))
    asyncio.run(_committed_to_end(broker.bootstrap_servers, group))

    # Read as inference reads them: the whole fraud_v1 service, per (customer, card, merchant).
    store = open_store(repo)
    served = store.get_online_features(
        features=store.get_feature_service("fraud_v1"),
        entity_rows=[
            {"customer_id": f"cus-{tag}", "card_fingerprint": f"fp-{tag}", "merchant_id": "mer_1"},
            {"customer_id": f"cus-unknown-{tag}", "card_fingerprint": f"fp-bad-{tag}", "merchant_id": "mer_1"},
            {"customer_id": f"cus-old-{tag}", "card_fingerprint": f"fp-other-{tag}", "merchant_id": "mer_1"},
        ],
    ).to_dict()
    assert {name: served[name] for name in (*newer.values(), *card.values())} == {
        "customer_txn_count_1h": [2.0, None, None],
        "customer_txn_count_24h": [3.0, None, None],
        "customer_amount_usd_24h": [40.25, None, None],
        "customer_distinct_cards_7d": [2.0, None, None],
        "card_txn_count_1h": [4.0, None, None],
        "card_distinct_merchants_24h": [3.0, None, None],
        "card_decline_count_24h": [1.0, None, None],
    }
    assert served["customer_tenure_days"] == [None, None, None]  # a batch feature: nothing materialized

    letters = [
        letter
        for letter in asyncio.run(_dead_letters(broker.bootstrap_servers))
        if letter.worker == group and (letter.key or "").endswith(tag)
    ]
    assert {letter.key: letter.stage for letter in letters} == {
        f"customer:junk-{tag}": "feature_push",
        f"card:fp-bad-{tag}": "feature_push",
        f"card:other-{tag}": "feature_push",
        f"customer:cus-old-{tag}": "feature_push",
    }
    codes = {letter.key: {reason.code for reason in letter.reasons} for letter in letters}
    assert codes[f"customer:junk-{tag}"] == {"json_invalid"}
    assert codes[f"card:other-{tag}"] == {"key_mismatch"}
    assert codes[f"card:fp-bad-{tag}"]  # the customer's features under a card: refused, with reasons
    [old] = [letter for letter in letters if letter.key == f"customer:cus-old-{tag}"]
    assert [(r.field, r.code) for r in old.reasons] == [("features.customer_distinct_cards_7d", "incomplete_features")]
    assert all(letter.source.topic == VELOCITY.name for letter in letters)


def test_frames_keep_each_entitys_newest_record() -> None:
    older = _customer("c1", T0, 1, 1, 1, 1)
    newer = _customer("c1", T0 + timedelta(seconds=1), 2, 2, 2, 2)
    pushed = frames([newer, older, _card("f1", T0, 3, merchants=2, declines=1)])
    assert pushed["customer"].to_dict("records") == [
        {
            "customer_id": "c1",
            "event_timestamp": newer.as_of,
            "customer_txn_count_1h": 2.0,
            "customer_txn_count_24h": 2.0,
            "customer_amount_usd_24h": 2.0,
            "customer_distinct_cards_7d": 2.0,
        }
    ]
    assert pushed["card"].to_dict("records") == [
        {
            "card_fingerprint": "f1",
            "event_timestamp": T0,
            "card_txn_count_1h": 3.0,
            "card_distinct_merchants_24h": 2.0,
            "card_decline_count_24h": 1.0,
        }
    ]


def test_without_bootstrap_servers_it_stops_at_start_naming_the_variable(repo: FeatureRepoSettings) -> None:
    env = {
        k: v
        for k, v in child_env({"FEATURE_REPO_ROOT": str(repo.root)}).items()
        if k != "FEATURE_REPO_KAFKA_BOOTSTRAP_SERVERS"
    }
    command = [sys.executable, "-m", "feature_repo.push_consumer"]
    done = subprocess.run(command, env=env, capture_output=True, timeout=120, check=False)  # noqa: S603 (ours)
    assert done.returncode == 2
    assert b"FEATURE_REPO_KAFKA_BOOTSTRAP_SERVERS" in done.stderr
