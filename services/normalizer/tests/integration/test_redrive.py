"""`redrive` on the real broker: a dead letter whose message the current code maps is recovered,
once; one that still fails goes back with one more attempt, for the next run after a fix; dead
letters of other apps and stages on the shared topic are left alone."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaProducer, TopicPartition  # type: ignore[import-untyped]
from aiokafka.admin import AIOKafkaAdminClient, RecordsToDelete  # type: ignore[import-untyped]

from contracts.reference.providers import Provider
from contracts.schemas.dlq import DeadLetter, RejectReason
from contracts.schemas.normalized_event import SourcePosition
from contracts.topics import DLQ
from integration.streams import dead_letters, event_id_of, normalized_events, pending, unmappable, variant
from normalizer.dlq import dead_letter, worker_name
from normalizer.redrive import EXIT_NOT_REDRIVEN, main, redrive
from normalizer.settings import load_settings
from testing.kafka import KafkaServer


async def _produce_and_locate(bootstrap: str, messages: list[tuple[str, bytes, bytes]]) -> list[SourcePosition]:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        positions = []
        for topic, key, value in messages:
            metadata = await producer.send_and_wait(topic, value, key=key)
            positions.append(SourcePosition(topic=topic, partition=metadata.partition, offset=metadata.offset))
        return positions
    finally:
        await producer.stop()


def _publish(bootstrap: str, letters: list[DeadLetter]) -> None:
    asyncio.run(
        _produce_and_locate(
            bootstrap,
            [(DLQ.name, (letter.key or "").encode(), letter.model_dump_json().encode()) for letter in letters],
        )
    )


# What an older normalizer wrote: it could not map the message (say it knew no alpha-3 country).
OLD_REASON = (RejectReason(field="payload.subject.transaction.credit_card", code="unknown_country", message="x"),)


def test_redrive_recovers_a_dead_letter_once_after_a_fix(broker: KafkaServer) -> None:
    bootstrap = broker.bootstrap_servers
    tag = uuid.uuid4().hex[:10]
    fixed = variant("braintree.transaction_settled.payment.succeeded", tag, 0)
    broken = unmappable("adyen.AUTHORISATION.payment.succeeded", tag, 1)
    step = pending(tag, 1)  # a PENDING Square payment, which older versions dead-lettered
    fixed_at, broken_at, step_at = asyncio.run(
        _produce_and_locate(bootstrap, [(e.topic, e.key, e.value) for e in (fixed, broken, step)])
    )
    app = f"redrive-test-{tag}"
    braintree, adyen = worker_name(app, Provider.BRAINTREE), worker_name(app, Provider.ADYEN)
    letters = [
        dead_letter(fixed_at, fixed.key, fixed.value, OLD_REASON, worker=braintree, failed_at=datetime.now(UTC)),
        dead_letter(fixed_at, fixed.key, fixed.value, OLD_REASON, worker=braintree),  # twice (a crash)
        # As a version before the personal-data keys wrote it: a name in clear in the excerpt.
        dead_letter(broken_at, broken.key, broken.value, OLD_REASON, worker=adyen).model_copy(
            update={"payload_excerpt": '{"shopperName":{"firstName":"Jane","lastName":"Roe"}}'}
        ),
        dead_letter(step_at, step.key, step.value, OLD_REASON, worker=worker_name(app, Provider.SQUARE)),
    ]
    _publish(bootstrap, letters)
    settings = load_settings(kafka_bootstrap_servers=bootstrap, app_id=app)
    group = f"{app}-redrive"

    first = asyncio.run(redrive(settings, group))
    again = asyncio.run(redrive(settings, group))

    # Exactly this test's three letters, whatever else the shared dead-letter topic holds.
    assert first.outcomes == Counter(recovered=1, skipped_copy=1, still_failing=1, ignored=1)
    assert first.not_redriven == []
    # Every dead letter is redriven once: the second run sees only what the first one dead-lettered again.
    assert again.outcomes == Counter(still_failing=1)
    mine = [event for _, event in normalized_events(bootstrap) if event.provider_event_id.startswith(tag)]
    assert [event.event_id for event in mine] == [event_id_of(fixed)]  # nothing for the pending step
    stepped = [
        (letter.dlq_id, letter.attempts) for letter in dead_letters(bootstrap) if letter.key == step.key.decode()
    ]
    assert stepped == [(letters[3].dlq_id, letters[3].attempts)]  # not dead-lettered again
    assert mine[0].source == fixed_at
    retried = [letter for letter in dead_letters(bootstrap) if letter.key == broken.key.decode()]
    assert [letter.attempts for letter in retried] == [1, 2, 3]
    assert {letter.dlq_id for letter in retried} == {letters[2].dlq_id}
    assert [(r.field, r.code) for r in retried[1].reasons] == [("payload.eventCode", "unsupported")]
    # Each copy is redacted again from the source by the current rules: the old clear name is gone.
    assert "Roe" in retried[0].payload_excerpt
    assert all("Roe" not in letter.payload_excerpt for letter in retried[1:])


def test_redrive_leaves_other_apps_dead_letters_alone_on_a_new_group(broker: KafkaServer) -> None:
    """A first run (a new group starts at the topic's beginning) redrives this app's dead letters
    only: a mappable message another app's normalizer dead-lettered on the same topic is not
    published again. (Before the `worker` filter this run recovered both, and every normalizer dead
    letter any earlier test or deployment had written to the broker.)"""
    bootstrap = broker.bootstrap_servers
    tag = uuid.uuid4().hex[:10]
    mine, theirs = variant("braintree.transaction_settled.payment.succeeded", tag, 0), variant(
        "stripe.charge.succeeded.payment.succeeded", tag, 1
    )
    mine_at, theirs_at = asyncio.run(
        _produce_and_locate(bootstrap, [(e.topic, e.key, e.value) for e in (mine, theirs)])
    )
    app, other = f"redrive-mine-{tag}", f"redrive-other-{tag}"
    _publish(
        bootstrap,
        [
            dead_letter(theirs_at, theirs.key, theirs.value, OLD_REASON, worker=worker_name(other, Provider.STRIPE)),
            dead_letter(theirs_at, theirs.key, theirs.value, OLD_REASON),  # no worker: not attributable
            dead_letter(mine_at, mine.key, mine.value, OLD_REASON, worker=worker_name(app, Provider.BRAINTREE)),
        ],
    )

    outcomes = asyncio.run(redrive(load_settings(kafka_bootstrap_servers=bootstrap, app_id=app), f"{app}-redrive"))

    assert outcomes.outcomes == Counter(recovered=1)
    published = [event for _, event in normalized_events(bootstrap) if event.provider_event_id.startswith(tag)]
    assert [(event.event_id, event.source) for event in published] == [(event_id_of(mine), mine_at)]


async def _expire(bootstrap: str, position: SourcePosition) -> None:
    """What retention does to a message: the partition's log start moves past it."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        tp = TopicPartition(position.topic, position.partition)
        await admin.delete_records({tp: RecordsToDelete(before_offset=position.offset + 1)})
    finally:
        await admin.close()


def test_redrive_names_every_dead_letter_whose_source_is_gone(
    broker: KafkaServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A dead letter whose source message retention removed cannot be redriven: the run commits past
    it (no later run could do better) but names it, with its source position, in the JSON report and
    on stderr, and exits 3; a second run has nothing left to report and exits 0."""
    if not broker.owned:  # deleting records on a provider topic would lose a shared broker's data
        pytest.skip("deletes records on webhooks.stripe.v1: runs only on a broker this test started")
    bootstrap = broker.bootstrap_servers
    tag = uuid.uuid4().hex[:10]
    gone, kept = variant("stripe.charge.succeeded.payment.succeeded", tag, 0), variant(
        "braintree.transaction_settled.payment.succeeded", tag, 1
    )
    (gone_at,) = asyncio.run(_produce_and_locate(bootstrap, [(gone.topic, gone.key, gone.value)]))
    asyncio.run(_expire(bootstrap, gone_at))
    (kept_at,) = asyncio.run(_produce_and_locate(bootstrap, [(kept.topic, kept.key, kept.value)]))
    app = f"redrive-gone-{tag}"
    stripe = worker_name(app, Provider.STRIPE)
    lost = dead_letter(gone_at, gone.key, gone.value, OLD_REASON, worker=stripe)
    _publish(
        bootstrap,
        [
            lost,
            dead_letter(gone_at, gone.key, gone.value, OLD_REASON, worker=stripe),  # a copy: listed once
            dead_letter(kept_at, kept.key, kept.value, OLD_REASON, worker=worker_name(app, Provider.BRAINTREE)),
        ],
    )
    # One of this app's letters as a newer contracts version might write it (a field this one does
    # not know): it fails validation, is committed past with the others, and so must be named.
    newer = json.loads(dead_letter(kept_at, kept.key, kept.value, OLD_REASON, worker=stripe).model_dump_json())
    newer["dlq_id"], newer["triage_hint"] = str(uuid.uuid4()), "from 1.9"
    (newer_at,) = asyncio.run(_produce_and_locate(bootstrap, [(DLQ.name, b"k", json.dumps(newer).encode())]))
    monkeypatch.setenv("NORMALIZER_KAFKA_BOOTSTRAP_SERVERS", bootstrap)
    monkeypatch.setenv("NORMALIZER_APP_ID", app)
    capsys.readouterr()

    status = main([])
    out, err = capsys.readouterr()

    assert status == EXIT_NOT_REDRIVEN == 3
    assert json.loads(out) == {
        "dry_run": False,
        "outcomes": {"recovered": 1, "skipped_copy": 1, "source_gone": 1, "unreadable": 1},
        "not_redriven": [
            {
                "outcome": "unreadable",
                "dlq_id": newer["dlq_id"],
                "worker": f"{app}-stripe",
                "key": kept.key.decode(),
                "topic": kept_at.topic,
                "partition": kept_at.partition,
                "offset": kept_at.offset,
                "dlq_partition": newer_at.partition,
                "dlq_offset": newer_at.offset,
            },
            {
                "outcome": "source_gone",
                "dlq_id": str(lost.dlq_id),
                "worker": f"{app}-stripe",
                "key": gone.key.decode(),
                "topic": "webhooks.stripe.v1",
                "partition": gone_at.partition,
                "offset": gone_at.offset,
            },
        ],
    }
    assert str(lost.dlq_id) in err and f"webhooks.stripe.v1[{gone_at.partition}] offset {gone_at.offset}" in err
    # Committed past: the next run of the group has nothing to redrive and nothing to report.
    assert main([]) == 0
    assert json.loads(capsys.readouterr().out) == {"dry_run": False, "outcomes": {}, "not_redriven": []}
