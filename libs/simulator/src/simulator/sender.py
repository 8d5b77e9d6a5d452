"""Sending mode: POST every request to a running gateway, as the providers would.

Requests go out in delivery order through an async client with bounded concurrency, either at a
target rate or as fast as the receiver answers. Like the providers, the sender re-delivers after a
5xx or a broken connection (a 4xx is final). Signatures are made just before sending, with the
wall clock, because a real gateway rejects a Stripe signature whose timestamp is outside its
tolerance; `fresh_signatures=False` sends the simulated-time signatures of file mode instead.

The summary says what came back: status codes, transport errors, latency percentiles, and the two
numbers that matter for a gateway: genuine requests it refused, faulty ones it accepted.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import httpx
from tqdm import tqdm

from simulator.providers.base import Fault, Rendered, WebhookRequest
from simulator.secrets import WebhookSecrets
from simulator.traffic import finish


@dataclass(frozen=True, slots=True)
class SendOptions:
    base_url: str
    concurrency: int = 16
    rate: float | None = None
    """Requests per second; `None` sends as fast as the receiver answers."""
    timeout: float = 10.0
    retries: int = 2
    """Re-deliveries after a 5xx or a transport error (0 = send once)."""
    retry_backoff: float = 0.5
    fresh_signatures: bool = True
    progress: bool = True

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if self.rate is not None and self.rate <= 0:
            raise ValueError("rate must be positive")
        if self.retries < 0:
            raise ValueError("retries must not be negative")


@dataclass(slots=True)
class SendSummary:
    sent: int = 0
    by_status: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    redeliveries: int = 0
    genuine_refused: int = 0
    """Genuine requests not answered 2xx (after re-deliveries)."""
    faulty_accepted: int = 0
    """Requests with a bad signature or payload that were answered 2xx."""
    latencies_ms: list[float] = field(default_factory=list, repr=False)
    elapsed_s: float = 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies_ms:
            return math.nan
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]

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
                f"genuine refused: {self.genuine_refused}   faulty accepted: {self.faulty_accepted}",
            )
        )


async def _deliver(
    client: httpx.AsyncClient, request: WebhookRequest, options: SendOptions, summary: SendSummary
) -> int | None:
    status: int | None = None
    for attempt in range(options.retries + 1):
        if attempt:
            summary.redeliveries += 1
            await asyncio.sleep(options.retry_backoff * 2 ** (attempt - 1))
        started = time.perf_counter()
        try:
            response = await client.post(request.path, content=request.body, headers=request.headers)
        except httpx.TransportError as error:
            summary.errors[type(error).__name__] += 1
            status = None
            continue
        summary.latencies_ms.append((time.perf_counter() - started) * 1000)
        status = response.status_code
        if status < 500:
            break
    return status


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
    own_client = client is None
    http = client or httpx.AsyncClient(
        base_url=options.base_url,
        timeout=options.timeout,
        limits=httpx.Limits(max_connections=options.concurrency, max_keepalive_connections=options.concurrency),
    )

    async def worker() -> None:
        while (item := await queue.get()) is not None:
            signed_at = int(time.time()) if options.fresh_signatures else item.delivered_at
            request = finish(item, secrets, signed_at)
            status = await _deliver(http, request, options, summary)
            summary.sent += 1
            if status is None:
                summary.by_status[0] += 1
            else:
                summary.by_status[status] += 1
            accepted = status is not None and 200 <= status < 300
            if item.fault is Fault.NONE and not accepted:
                summary.genuine_refused += 1
            if item.fault is not Fault.NONE and accepted:
                summary.faulty_accepted += 1
            bar.update()

    started = time.perf_counter()
    workers = [asyncio.create_task(worker()) for _ in range(options.concurrency)]
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
        if own_client:
            await http.aclose()
    summary.elapsed_s = time.perf_counter() - started
    return summary
