"""A worker on the real broker: every message ends as exactly one normalized event or dead letter,
less duplicates, also across a SIGKILL and a restart."""

from __future__ import annotations

import re
import signal
import time
import urllib.request
import uuid
from collections import Counter

from mapping.golden import GOLDEN

from contracts.topics import WEBHOOK_TOPICS
from integration.conftest import StartWorker
from integration.streams import (
    Envelope,
    dead_letters,
    event_id_of,
    garbage,
    normalized_events,
    pending,
    produce,
    unmappable,
    variant,
    wait_until_committed,
)
from testing.kafka import KafkaServer

HOUR_MS = 3600 * 1000
BATCH = 50


def _tag() -> str:
    return uuid.uuid4().hex[:10]


def _metric(url: str, outcome: str) -> int:
    with urllib.request.urlopen(url + "/metrics", timeout=5) as response:  # noqa: S310 (loopback)
        text = response.read().decode()
    return sum(int(n) for n in re.findall(rf'outcome="{outcome}"}} ([0-9]+)', text))


def _mine(tag: str, bootstrap: str) -> tuple[Counter[uuid.UUID], list[str]]:
    """This test's normalized event ids (with counts) and its dead letters' keys; every event is
    keyed by its payment id."""
    events = [(key, event) for key, event in normalized_events(bootstrap) if event.provider_event_id.startswith(tag)]
    assert [key for key, event in events if key != event.payment_id.encode()] == []
    letters = [letter.key or "" for letter in dead_letters(bootstrap) if (letter.key or "").startswith(tag)]
    return Counter(event.event_id for _, event in events), letters


def test_every_message_is_normalized_or_dead_lettered_once_less_duplicates(
    broker: KafkaServer, group: str, start_worker: StartWorker
) -> None:
    tag = _tag()
    good = [variant(name, tag, n) for n in range(5) for name in sorted(GOLDEN)]
    bad = [unmappable(name, tag, n) for n, name in enumerate(sorted(GOLDEN)[:8])]
    junk = [garbage(tag, n) for n in range(4)]
    steps = [pending(tag, n) for n in range(4)]  # ignored: nothing out, yet acknowledged
    copies = good[:10]  # the providers' redeliveries: the same provider event ids again
    now_ms = int(time.time() * 1000)
    late = Envelope(good[10].topic, good[10].key, good[10].value, timestamp_ms=now_ms + 3 * HOUR_MS)
    produce(broker.bootstrap_servers, [*good, *bad, *junk, *steps, *copies, late])

    worker = start_worker(NORMALIZER_DEDUPE_WINDOW_SECONDS="3600")
    wait_until_committed(broker.bootstrap_servers, group)

    counts, letters = _mine(tag, broker.bootstrap_servers)
    expected = Counter(event_id_of(e) for e in good)
    expected[event_id_of(late)] += 1  # outside the one-hour window: not a duplicate
    assert counts == expected
    assert sorted(letters) == sorted(e.key.decode() for e in [*bad, *junk])
    assert _metric(worker.base_url, "duplicate") >= len(copies)
    assert _metric(worker.base_url, "ignored") >= len(steps)


def test_dead_letters_name_fields_and_never_carry_card_numbers(
    broker: KafkaServer, group: str, start_worker: StartWorker
) -> None:
    tag = _tag()
    junk = [garbage(tag, n) for n in range(4)]
    bad = [unmappable("stripe.charge.succeeded.payment.succeeded", tag, 0)]
    produce(broker.bootstrap_servers, [*junk, *bad])
    start_worker()
    wait_until_committed(broker.bootstrap_servers, group)
    letters = {letter.key: letter for letter in dead_letters(broker.bootstrap_servers)}
    for envelope in [*junk, *bad]:
        letter = letters[envelope.key.decode()]
        assert letter.stage == "normalizer"
        assert letter.source.topic == envelope.topic
        assert letter.reasons
        assert "4242" not in letter.payload_excerpt
    stripe = letters[bad[0].key.decode()]
    assert [(r.field, r.code) for r in stripe.reasons] == [("payload.type", "unsupported")]


def test_sigkill_mid_stream_loses_nothing_and_repeats_at_most_the_batches_in_flight(
    broker: KafkaServer, group: str, start_worker: StartWorker
) -> None:
    tag = _tag()
    bootstrap = broker.bootstrap_servers
    first = [variant(name, tag, n) for n in range(120) for name in sorted(GOLDEN)]
    produce(bootstrap, first)
    worker = start_worker(NORMALIZER_BATCH_SIZE=str(BATCH))
    deadline = time.monotonic() + 120
    while _metric(worker.base_url, "normalized") < len(first) // 3:  # mid-stream, by polling
        assert time.monotonic() < deadline, worker.log_tail()
        assert worker.process.poll() is None, worker.log_tail()
        time.sleep(0.05)  # polling interval
    processed_before_kill = _metric(worker.base_url, "normalized")
    worker.process.send_signal(signal.SIGKILL)
    worker.process.wait()

    second = [variant(name, tag, n) for n in range(120, 160) for name in sorted(GOLDEN)]
    redelivered = first[:200]  # copies of events the killed worker had already normalized
    produce(bootstrap, [*second, *redelivered])
    restarted = start_worker(NORMALIZER_BATCH_SIZE=str(BATCH))
    wait_until_committed(bootstrap, group)

    counts, _ = _mine(tag, bootstrap)
    assert processed_before_kill < len(first)
    assert set(counts) == {event_id_of(e) for e in [*first, *second]}, "an event was lost"
    # Past the dedupe nothing comes twice: not the copies of committed events, not what came after
    # the restart. The one exception is the kill's own window: events whose outputs the broker had
    # acknowledged and whose dedupe marks it had not yet: per agent, the batch awaiting its
    # acknowledgements and the batch being mapped meanwhile (two batches).
    twice = {event_id for event_id, n in counts.items() if n > 1}
    assert twice <= {event_id_of(e) for e in first}
    assert len(twice) <= len(WEBHOOK_TOPICS) * 2 * BATCH
    assert max(counts.values()) <= 2
    assert _metric(restarted.base_url, "duplicate") >= len(redelivered)
