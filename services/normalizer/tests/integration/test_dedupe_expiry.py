"""Dedupe marks expire past the window (and its margin): memory stays bounded, live marks still
drop their copies."""

from __future__ import annotations

import re
import time
import urllib.request
import uuid
from collections import Counter

from mapping.golden import GOLDEN

from integration.conftest import StartWorker
from integration.streams import Envelope, event_id_of, normalized_events, produce, variant, wait_until_committed
from testing.kafka import KafkaServer

HOUR_MS = 3600 * 1000
DAY_MS = 24 * HOUR_MS


def _stamped(envelope: Envelope, timestamp_ms: int) -> Envelope:
    return Envelope(envelope.topic, envelope.key, envelope.value, timestamp_ms=timestamp_ms)


def _expired(base_url: str) -> int:
    with urllib.request.urlopen(base_url + "/metrics", timeout=5) as response:  # noqa: S310 (loopback)
        text = response.read().decode()
    match = re.search(r"^normalizer_dedupe_expired_total ([0-9]+)$", text, re.MULTILINE)
    assert match, text
    return int(match.group(1))


def test_a_mark_past_its_lifetime_is_forgotten_and_a_live_one_still_drops_its_copy(
    broker: KafkaServer, group: str, start_worker: StartWorker
) -> None:
    bootstrap = broker.bootstrap_servers
    tag = uuid.uuid4().hex[:10]
    now_ms = int(time.time() * 1000)
    old_ms = now_ms - 10 * DAY_MS  # first seen 10 days ago: past 7 days + 1 hour by the wall clock
    names = sorted(GOLDEN)[:4]
    old = [_stamped(variant(name, tag, n), old_ms) for n, name in enumerate(names)]
    live = [_stamped(variant(name, tag, 100 + n), now_ms) for n, name in enumerate(names)]
    produce(bootstrap, [*old, *live])
    worker = start_worker(NORMALIZER_DEDUPE_EXPIRY_INTERVAL_SECONDS="0.5")
    wait_until_committed(bootstrap, group)

    deadline = time.monotonic() + 60
    while _expired(worker.base_url) < len(old):  # the old marks go at the next expiry tick
        assert time.monotonic() < deadline, worker.log_tail()
        time.sleep(0.1)  # polling interval

    # Copies: of the old events one hour after their originals in message time (a duplicate
    # inside the 7-day window, had the mark been kept), of the live ones a second later.
    produce(bootstrap, [*(_stamped(e, old_ms + HOUR_MS) for e in old), *(_stamped(e, now_ms + 1000) for e in live)])
    wait_until_committed(bootstrap, group)

    mine = Counter(
        event.event_id for _, event in normalized_events(bootstrap) if event.provider_event_id.startswith(tag)
    )
    expected = Counter({event_id_of(e): 2 for e in old}) + Counter({event_id_of(e): 1 for e in live})
    assert mine == expected
