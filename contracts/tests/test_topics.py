"""Topics: one definition each, named by convention, decoding into their contract."""

import re

from contracts.reference.providers import Provider
from contracts.schemas.decision import PaymentDecision
from contracts.topics import ALL_TOPICS, DECISIONS, WEBHOOK_TOPICS, webhook_topic


def test_names_follow_domain_entity_version() -> None:
    names = [topic.name for topic in ALL_TOPICS]
    assert len(names) == len(set(names))
    assert all(re.fullmatch(r"[a-z_]+\.[a-z_]+\.v[0-9]+", name) for name in names)


def test_every_provider_has_its_webhook_topic() -> None:
    assert set(WEBHOOK_TOPICS) == set(Provider)
    assert webhook_topic(Provider.ADYEN).name == "webhooks.adyen.v1"
    assert all(topic.partitions >= 1 for topic in ALL_TOPICS)


def test_topic_decodes_its_value_model() -> None:
    decision = PaymentDecision.model_validate(
        {
            "event_id": "0b7f8f52-4e0e-4a53-8a2c-7d1e1e0e9a01",
            "payment_id": "stripe:pi_1",
            "provider": "stripe",
            "amount_minor": 100,
            "currency": "USD",
            "decision": "approve",
            "fraud_score": 0.01,
            "fraud_model_version": "rules-v1",
            "decided_at": "2024-05-01T10:00:00Z",
        }
    )
    assert DECISIONS.decode(decision.model_dump_json()) == decision
