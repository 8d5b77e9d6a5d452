"""The app's own topics are specified as Faust would create them, so the worker can create them
before it joins its group (a topic Faust created during the join could be left unassigned)."""

from __future__ import annotations

from normalizer import stripe_merchants
from normalizer.app import create_app
from normalizer.settings import load_settings
from normalizer.topics import TopicSpec, faust_topic

TWO_DAYS_MS = 2 * 24 * 3600 * 1000
SEVEN_DAYS_MS = 7 * 24 * 3600 * 1000


def test_internal_topics_are_the_changelogs_and_the_velocity_marks_with_faust_settings() -> None:
    normalizer = create_app(load_settings(kafka_bootstrap_servers="127.0.0.1:1", app_id="n1"))
    specs = {spec.name: spec for spec in map(faust_topic, normalizer.internal_topics())}
    assert set(specs) == {
        "n1-dedupe-changelog",
        "n1-velocity-changelog",
        "n1-velocity-entities",
        "n1-stripe-merchants-changelog",
        "n1-stripe-payments",
    }
    # Table changelogs are compacted (Faust's default for a non-windowed table), with one
    # partition per input partition: the six of the webhook topics and of payments.normalized.v1.
    for name in ("n1-dedupe-changelog", "n1-velocity-changelog"):
        assert specs[name].partitions == 6
    assert dict(specs["n1-velocity-changelog"].configs) == {"cleanup.policy": "compact"}
    # Dedupe marks live for the window (7 days by default) and one hour more, also on the broker.
    assert dict(specs["n1-dedupe-changelog"].configs) == {
        "cleanup.policy": "compact,delete",
        "retention.ms": str((7 * 24 + 1) * 3600 * 1000),
        "segment.ms": str(24 * 3600 * 1000),
    }
    # The marks are a plain topic with the velocity topic's retention (2 days in contracts).
    assert specs["n1-velocity-entities"].partitions == 6
    assert dict(specs["n1-velocity-entities"].configs) == {"retention.ms": str(TWO_DAYS_MS)}
    # The Stripe payments (merchant facts, orphaned refunds and disputes): keyed by Stripe payment
    # id, with the webhook topics' six partitions and seven days; `redrive` creates it the same way.
    assert specs["n1-stripe-payments"] == TopicSpec("n1-stripe-payments", 6, {"retention.ms": str(SEVEN_DAYS_MS)})
    assert stripe_merchants.topic_spec("n1") == specs["n1-stripe-payments"]
    # Its table: the merchants of 180 days of payments (the setting's default), also on the broker.
    assert specs["n1-stripe-merchants-changelog"].partitions == 6
    assert dict(specs["n1-stripe-merchants-changelog"].configs) == {
        "cleanup.policy": "compact,delete",
        "retention.ms": str(180 * 24 * 3600 * 1000),
        "segment.ms": str(24 * 3600 * 1000),
    }
