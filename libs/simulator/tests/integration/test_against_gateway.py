"""Simulator traffic sent to the real gateway and read back from its topics.

Every genuine request and every re-delivery must be answered 200 and land on its provider's topic
(a re-delivery lands again: dedupe is downstream); a correctly signed body the contract refuses
must be answered 200 and kept whole on the quarantine topic, and nowhere else; every other faulty
request must be refused with the status and reason the gateway's error taxonomy gives for that
defect, and nothing of it may reach a topic.
"""

from __future__ import annotations

import asyncio
import json
import urllib.parse
from collections import Counter
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, TopicPartition  # type: ignore[import-untyped]  # no py.typed
from integration.conftest import RunningGateway

from contracts.reference.providers import Provider
from contracts.schemas.quarantine import QuarantinedWebhook
from contracts.topics import QUARANTINE, WEBHOOK_TOPICS
from simulator.checks import provider_models
from simulator.config import SimulationConfig
from simulator.engine import simulate
from simulator.providers.base import ACCEPTABLE_FAULTS, QUARANTINABLE_FAULTS, Fault
from simulator.secrets import WebhookSecrets
from simulator.sender import Outcome, SendOptions, send
from simulator.traffic import finish, render_all

CONFIG = SimulationConfig(
    seed=23,
    customers=80,
    merchants=24,
    days=5,
    start=datetime(2025, 5, 5, tzinfo=UTC),
    fraud_rate=0.05,
    invalid_signature_share=0.08,
    malformed_share=0.08,
    duplicate_share=0.08,
)

REFUSAL: dict[Fault, tuple[int, str]] = {
    # Worked out from gateway.errors (one status per class) and the order of the checks in
    # gateway.intake: signature first (on the raw bytes), then parsing, then the contract.
    Fault.WRONG_SECRET: (401, "signature_mismatch"),
    Fault.TAMPERED_BODY: (401, "signature_mismatch"),
    Fault.MISSING_SIGNATURE: (401, "signature_missing"),
    Fault.UNPARSABLE_BODY: (400, "malformed_body"),
}


def _answer(outcome: Outcome) -> tuple[int, str]:
    """The answer a request must get. A signed body the contract refuses is authentic: the
    gateway quarantines it and answers 200 `{"status": "quarantined"}` (Adyen: `[accepted]`)."""
    fault, provider = outcome.rendered.fault, outcome.rendered.provider
    if fault in QUARANTINABLE_FAULTS:
        return (200, "http_200" if provider is Provider.ADYEN else "quarantined")
    return REFUSAL.get(fault, (200, "http_200"))


async def _end_offsets(bootstrap_servers: str) -> dict[TopicPartition, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False, group_id=None)
    await consumer.start()
    try:
        # The fixture created the topics with the contract's partition counts.
        partitions = [
            TopicPartition(topic.name, partition)
            for topic in (*WEBHOOK_TOPICS.values(), QUARANTINE)
            for partition in range(topic.partitions)
        ]
        return dict(await consumer.end_offsets(partitions))
    finally:
        await consumer.stop()


async def _records_between(
    bootstrap_servers: str, start: dict[TopicPartition, int], end: dict[TopicPartition, int]
) -> list[tuple[str, bytes]]:
    """(topic, value) of every record appended between two sets of end offsets."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False, group_id=None)
    await consumer.start()
    records: list[tuple[str, bytes]] = []
    try:
        wanted = [tp for tp in end if end[tp] > start.get(tp, 0)]
        consumer.assign(wanted)
        for tp in wanted:
            consumer.seek(tp, start.get(tp, 0))
        while any([await consumer.position(tp) < end[tp] for tp in wanted]):
            batches = await consumer.getmany(timeout_ms=1000)
            for tp, messages in batches.items():
                records.extend((tp.topic, m.value) for m in messages if m.offset < end[tp])
    finally:
        await consumer.stop()
    return records


def _content(provider: str, body: bytes) -> str:
    """A body's content without its signature, worked out here and not by the gateway: Adyen's
    per-item `hmacSignature` and Braintree's `bt_signature` field are never stored; Stripe and
    Square sign in headers, so their bodies are kept byte for byte."""
    if provider == Provider.ADYEN.value:
        document = json.loads(body)
        for item in document.get("notificationItems", []):
            item.get("NotificationRequestItem", {}).get("additionalData", {}).pop("hmacSignature", None)
        return json.dumps(document, sort_keys=True)
    if provider == Provider.BRAINTREE.value:
        form = urllib.parse.parse_qs(body.decode(), keep_blank_values=True)
        form.pop("bt_signature", None)
        return json.dumps(form, sort_keys=True)
    return body.decode()


def _event_keys(outcome: Outcome, secrets: WebhookSecrets) -> list[tuple[str, str]]:
    """(provider, event id as the contract model derives it) for each event the request carries."""
    provider = outcome.rendered.provider
    body = finish(outcome.rendered, secrets).body  # the body does not depend on when it is signed
    return [(provider.value, model.provider_event_id()) for model in provider_models(provider, body)]  # type: ignore[attr-defined]


def test_genuine_traffic_is_accepted_and_published_and_faulty_traffic_refused(gateway: RunningGateway) -> None:
    rendered = list(render_all(simulate(CONFIG), gateway.secrets))
    faults = Counter(item.fault for item in rendered)
    assert set(faults) == set(Fault)  # every defect and re-deliveries are exercised
    options = SendOptions(gateway.base_url, concurrency=8, progress=False, keep_outcomes=True, retry_deadline=60)

    before = asyncio.run(_end_offsets(gateway.bootstrap_servers))
    summary = asyncio.run(send(rendered, gateway.secrets, options))
    after = asyncio.run(_end_offsets(gateway.bootstrap_servers))
    log = gateway.server.log_tail()

    assert summary.sent == len(rendered) == len(summary.outcomes)
    wrong = [
        (o.rendered.provider.value, o.rendered.fault.value, o.status, o.reason)
        for o in summary.outcomes
        if (o.status, o.reason) != _answer(o)
    ]
    assert not wrong, f"{len(wrong)} unexpected answers, e.g. {wrong[:10]}\ngateway log:\n{log}"
    assert summary.genuine_refused == 0 and summary.faulty_accepted == 0 and summary.redeliveries == 0
    quarantinable = [o for o in summary.outcomes if o.rendered.fault in QUARANTINABLE_FAULTS]
    assert summary.quarantined == len(quarantinable) > 0

    # What reached the topics: exactly the accepted events, each on its provider's topic, a
    # re-delivered event once more per re-delivery.
    accepted = [o for o in summary.outcomes if o.status == 200 and o.rendered.fault in ACCEPTABLE_FAULTS]
    expected: Counter[tuple[str, str, str]] = Counter(
        (WEBHOOK_TOPICS[Provider(provider)].name, provider, event_id)
        for outcome in accepted
        for provider, event_id in _event_keys(outcome, gateway.secrets)
    )
    published: Counter[tuple[str, str, str]] = Counter()
    quarantined: Counter[tuple[str, bytes]] = Counter()
    for topic, value in asyncio.run(_records_between(gateway.bootstrap_servers, before, after)):
        if topic == QUARANTINE.name:
            kept = QuarantinedWebhook.model_validate_json(value)
            quarantined[(kept.provider.value, kept.body())] += 1
            continue
        envelope = json.loads(value)
        published[(topic, envelope["provider"], envelope["provider_event_id"])] += 1
    assert published == expected
    # Each quarantined request is kept once, with its content and without its signature.
    stored = Counter(
        (provider, _content(provider, body)) for (provider, body), count in quarantined.items() for _ in range(count)
    )
    assert stored == Counter(
        (o.rendered.provider.value, _content(o.rendered.provider.value, finish(o.rendered, gateway.secrets).body))
        for o in quarantinable
    )
    assert not any(b"hmacSignature" in body or b"bt_signature" in body for _, body in quarantined)
    redelivered = [key for key, count in expected.items() if count > 1]
    assert len(accepted) == faults[Fault.NONE] + faults[Fault.DUPLICATE] == sum(expected.values())
    assert len(redelivered) > 0
