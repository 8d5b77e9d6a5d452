"""Sending mode: POST every request to a running gateway, as the providers would.

Requests go out in delivery order through an async client with bounded concurrency, either at a
target rate or as fast as the receiver answers. Like the providers, the sender re-delivers after a
5xx or a broken connection (a 4xx is final): it waits what `Retry-After` asks (else an exponential
backoff), and keeps trying until a deadline (minutes, as providers do; `retry_deadline`), so that
a broker outage shorter than the deadline loses nothing. Signatures are made just before each
attempt, with the wall clock, because a real gateway rejects a Stripe signature whose timestamp is
outside its tolerance; `fresh_signatures=False` sends the simulated-time signatures of file mode.

The summary says what came back: status codes, transport errors, latency percentiles, the two
numbers that matter for a gateway (genuine requests it refused, faulty ones it accepted), and what
was finally refused per provider and reason, transient (5xx or no answer until the deadline) apart
from permanent (4xx).

One process offers about a thousand requests per second; `send_parallel` splits a run over several
processes (each payment's requests stay in one process, in order) to offer more.
"""

from __future__ import annotations

import asyncio
import email.utils
import math
import multiprocessing
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum

import httpx
from tqdm import tqdm

from simulator.providers.base import ACCEPTABLE_FAULTS, QUARANTINABLE_FAULTS, Rendered, WebhookRequest
from simulator.secrets import WebhookSecrets
from simulator.traffic import finish


@dataclass(frozen=True, slots=True)
class SendOptions:
    base_url: str
    concurrency: int = 16
    rate: float | None = None
    """Requests per second; `None` sends as fast as the receiver answers."""
    timeout: float = 10.0
    retries: int | None = None
    """At most this many re-deliveries after a 5xx or a transport error (0 = send once);
    `None`: as many as fit before `retry_deadline`."""
    retry_deadline: float = 300.0
    """Seconds after the first attempt after which a request is not re-delivered any more."""
    retry_backoff: float = 0.5
    """First wait before a re-delivery when the answer has no `Retry-After`; doubles each time."""
    max_backoff: float = 30.0
    """Longest wait between two attempts (also caps a larger `Retry-After`)."""
    fresh_signatures: bool = True
    progress: bool = True
    keep_outcomes: bool = False
    """Keep one `Outcome` per request in the summary (tests; memory grows with the run)."""

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if self.rate is not None and self.rate <= 0:
            raise ValueError("rate must be positive")
        if self.retries is not None and self.retries < 0:
            raise ValueError("retries must not be negative")
        if self.retry_deadline < 0 or self.retry_backoff < 0 or self.max_backoff < 0:
            raise ValueError("retry_deadline, retry_backoff and max_backoff must not be negative")


class Finality(StrEnum):
    ACCEPTED = "accepted"
    PERMANENT = "permanent"
    """A 4xx: the provider would not send it again."""
    TRANSIENT = "transient"
    """A 5xx or no answer, still so when the retry deadline passed."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """The final answer to one request (after re-deliveries)."""

    rendered: Rendered
    status: int
    """HTTP status of the last attempt; 0 when it got no answer."""
    reason: str
    """The gateway's `reason` field, else `http_<status>`, else the transport error's name."""
    attempts: int

    @property
    def finality(self) -> Finality:
        if 200 <= self.status < 300:
            return Finality.ACCEPTED
        return Finality.PERMANENT if 400 <= self.status < 500 else Finality.TRANSIENT

    @property
    def expected(self) -> bool:
        """Answered 2xx if and only if the request is genuine, a re-delivery, or authentic but
        refused by the contract (quarantined)."""
        wanted = self.rendered.fault in ACCEPTABLE_FAULTS or self.rendered.fault in QUARANTINABLE_FAULTS
        return (self.finality is Finality.ACCEPTED) == wanted


@dataclass(slots=True)
class SendSummary:
    sent: int = 0
    by_status: Counter[int] = field(default_factory=Counter)
    """Final status per request (0 = no answer)."""
    errors: Counter[str] = field(default_factory=Counter)
    """Transport errors per attempt."""
    redeliveries: int = 0
    genuine_refused: int = 0
    """Genuine requests and re-deliveries not answered 2xx (after re-deliveries)."""
    faulty_accepted: int = 0
    """Requests with a bad signature or an unreadable body that were answered 2xx."""
    quarantined: int = 0
    """Correctly signed requests the contract refuses, answered 2xx: kept in the gateway's quarantine."""
    refused: Counter[tuple[str, str, str, str]] = field(default_factory=Counter)
    """Requests finally not accepted, by (finality, provider, reason, fault)."""
    latencies_ms: list[float] = field(default_factory=list, repr=False)
    outcomes: list[Outcome] = field(default_factory=list, repr=False)
    elapsed_s: float = 0.0

    def record(self, outcome: Outcome, keep: bool) -> None:
        self.sent += 1
        self.by_status[outcome.status] += 1
        accepted = outcome.finality is Finality.ACCEPTED
        if outcome.rendered.fault in ACCEPTABLE_FAULTS and not accepted:
            self.genuine_refused += 1
        if outcome.rendered.fault in QUARANTINABLE_FAULTS and accepted:
            self.quarantined += 1
        elif outcome.rendered.fault not in ACCEPTABLE_FAULTS and accepted:
            self.faulty_accepted += 1
        if not accepted:
            key = (
                outcome.finality.value,
                outcome.rendered.provider.value,
                outcome.reason,
                outcome.rendered.fault.value,
            )
            self.refused[key] += 1
        if keep:
            self.outcomes.append(outcome)

    def merge(self, other: SendSummary) -> None:
        """Add another process's summary (elapsed time: the longest)."""
        self.sent += other.sent
        self.by_status.update(other.by_status)
        self.errors.update(other.errors)
        self.redeliveries += other.redeliveries
        self.genuine_refused += other.genuine_refused
        self.faulty_accepted += other.faulty_accepted
        self.quarantined += other.quarantined
        self.refused.update(other.refused)
        self.latencies_ms.extend(other.latencies_ms)
        self.outcomes.extend(other.outcomes)
        self.elapsed_s = max(self.elapsed_s, other.elapsed_s)

    def percentile(self, q: float) -> float:
        if not self.latencies_ms:
            return math.nan
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]

    def refusal_lines(self) -> list[str]:
        """`finally refused` lines: transient first, then permanent; genuine ones flagged."""
        lines = []
        for finality in (Finality.TRANSIENT, Finality.PERMANENT):
            by_cause: Counter[tuple[str, str]] = Counter()
            genuine: Counter[tuple[str, str]] = Counter()
            for (kind, provider, reason, fault), count in self.refused.items():
                if kind == finality.value:
                    by_cause[(provider, reason)] += count
                    if fault in {f.value for f in ACCEPTABLE_FAULTS}:
                        genuine[(provider, reason)] += count
            causes = ", ".join(
                f"{provider} {reason} x {count}"
                + (f" ({genuine[(provider, reason)]} genuine)" if genuine[(provider, reason)] else "")
                for (provider, reason), count in sorted(by_cause.items())
            )
            lines.append(f"refused ({finality.value}): {causes or 'none'}")
        return lines

    def report(self) -> str:
        rate = self.sent / self.elapsed_s if self.elapsed_s > 0 else 0.0
        statuses = ", ".join(f"{status} x {count}" for status, count in sorted(self.by_status.items())) or "none"
        errors = ", ".join(f"{name} x {count}" for name, count in sorted(self.errors.items())) or "none"
        return "\n".join(
            (
                f"sent:      {self.sent} requests in {self.elapsed_s:.1f} s ({rate:.1f} req/s), "
                f"{self.redeliveries} re-deliveries",
                f"status:    {statuses}",
                f"errors:    {errors}",
                "latency:   "
                + "  ".join(f"p{q} {self.percentile(q):.1f} ms" for q in (50, 90, 99))
                + f"  max {max(self.latencies_ms, default=math.nan):.1f} ms",
                *self.refusal_lines(),
                f"genuine refused: {self.genuine_refused}   faulty accepted: {self.faulty_accepted}"
                f"   quarantined: {self.quarantined}",
            )
        )


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """`Retry-After` as seconds: a number of seconds or an HTTP date; `None` if absent or unreadable."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = datetime.now(UTC).timestamp() if now is None else now
    return max(0.0, when.timestamp() - current)


def _reason(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("reason"), str):
        return str(body["reason"])
    if isinstance(body, dict) and body.get("status") == "quarantined":
        return "quarantined"  # Adyen's answer is `[accepted]` either way: `http_200`
    return f"http_{response.status_code}"


async def _deliver(
    client: httpx.AsyncClient,
    item: Rendered,
    sign: Callable[[Rendered], WebhookRequest],
    options: SendOptions,
    summary: SendSummary,
) -> Outcome:
    first = time.monotonic()
    attempt = 0
    backoff = options.retry_backoff
    while True:
        request = sign(item)
        started = time.perf_counter()
        wait: float | None = None
        try:
            response = await client.post(request.path, content=request.body, headers=request.headers)
        except httpx.TransportError as error:
            summary.errors[type(error).__name__] += 1
            status, reason = 0, type(error).__name__
        else:
            summary.latencies_ms.append((time.perf_counter() - started) * 1000)
            status, reason = response.status_code, _reason(response)
            if status < 500:
                return Outcome(item, status, reason, attempt + 1)
            wait = retry_after_seconds(response.headers.get("retry-after"))
        pause = min(options.max_backoff, backoff if wait is None else max(wait, 0.0))
        out_of_time = time.monotonic() + pause - first > options.retry_deadline
        if out_of_time or (options.retries is not None and attempt >= options.retries):
            return Outcome(item, status, reason, attempt + 1)
        await asyncio.sleep(pause)
        backoff *= 2
        attempt += 1
        summary.redeliveries += 1


async def send(
    rendered: Iterable[Rendered],
    secrets: WebhookSecrets,
    options: SendOptions,
    *,
    total: int | None = None,
    client: httpx.AsyncClient | None = None,
) -> SendSummary:
    """Send every request of `rendered` to `options.base_url` and summarise the answers."""
    summary = SendSummary()
    queue: asyncio.Queue[Rendered | None] = asyncio.Queue(maxsize=options.concurrency * 2)
    bar = tqdm(total=total, unit="req", desc="sending", disable=not options.progress)
    # One client with one keep-alive connection per worker: httpcore's pool scans every connection
    # for every queued request, which at 48 connections in one pool cost ~1 ms of CPU per request.
    own_clients = (
        [
            httpx.AsyncClient(
                base_url=options.base_url,
                timeout=options.timeout,
                limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
            )
            for _ in range(options.concurrency)
        ]
        if client is None
        else []
    )

    def sign(item: Rendered) -> WebhookRequest:
        return finish(item, secrets, int(time.time()) if options.fresh_signatures else item.delivered_at)

    async def worker(http: httpx.AsyncClient) -> None:
        while (item := await queue.get()) is not None:
            summary.record(await _deliver(http, item, sign, options, summary), options.keep_outcomes)
            bar.update()

    started = time.perf_counter()
    workers = [
        asyncio.create_task(worker(own_clients[index] if own_clients else client))  # type: ignore[arg-type]
        for index in range(options.concurrency)
    ]
    try:
        for index, item in enumerate(rendered):
            if options.rate is not None:
                delay = started + index / options.rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            await queue.put(item)
        for _ in workers:
            await queue.put(None)
        await asyncio.gather(*workers)
    finally:
        for task in workers:
            task.cancel()
        bar.close()
        for own in own_clients:
            await own.aclose()
    summary.elapsed_s = time.perf_counter() - started
    return summary


def shard_of(item: Rendered, shards: int) -> int:
    """Which of `shards` processes sends `item`: by payment, so a payment's events keep their order."""
    return zlib.crc32(f"{item.provider.value}:{item.provider_payment_id}".encode()) % shards


RenderSource = Callable[[], Iterable[Rendered]]
"""Builds the run's requests again in a child process (must be picklable: a module-level callable
or a `functools.partial` of one)."""


def _send_shard(
    source: RenderSource, secrets: WebhookSecrets, options: SendOptions, shard: int, shards: int
) -> SendSummary:
    mine = (item for item in source() if shard_of(item, shards) == shard)
    return asyncio.run(send(mine, secrets, options))


def send_parallel(source: RenderSource, secrets: WebhookSecrets, options: SendOptions, processes: int) -> SendSummary:
    """`send` from `processes` processes, each with its share of the payments and of the rate."""
    if processes < 1:
        raise ValueError("processes must be at least 1")
    if processes == 1:
        return asyncio.run(send(source(), secrets, options))
    shard_options = replace(
        options,
        rate=None if options.rate is None else options.rate / processes,
        concurrency=max(1, math.ceil(options.concurrency / processes)),
        progress=False,
    )
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        parts = pool.starmap(
            _send_shard, [(source, secrets, shard_options, shard, processes) for shard in range(processes)]
        )
    summary = SendSummary()
    for part in parts:
        summary.merge(part)
    return summary
