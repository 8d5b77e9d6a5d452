"""The load generator, run in its own process: signed Stripe webhooks over keep-alive HTTP/1.1.

Two modes, both on loopback and bounded (connections, duration):
* `saturate`: C connections, each sending its next request as soon as the previous is answered;
  reports accepted/s.
* `rate`: an open-loop schedule at R requests/s; latency is measured from each request's
  scheduled time (no coordinated omission), over a bounded pool of connections. Every request
  due in the window counts: one that found no connection, or whose answer had not come
  `--timeout` seconds after the last send, is a miss with the timeout as its latency.

Both modes stop sending at the end and wait for the answers in flight, so that `accepted_total`
(every 200, warm-up included) is exactly what the server acknowledged; answers still missing after
the timeout are reported as `unanswered`.

Requests are signed up front (the signing cost is not part of the measurement) with distinct
Stripe event ids. Results are one JSON object on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import time
import uuid
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import cast

import uvloop

from gateway.signatures.stripe import compute_signature

PATH = "/webhooks/stripe"
clock = time.perf_counter
"""Sub-millisecond clock: uvloop's loop.time() only has millisecond resolution."""
MAX_CONNECTIONS = 512


def stripe_body(index: int) -> bytes:
    event_id = f"evt_bench{uuid.uuid4().hex[:12]}{index}"
    event = {
        "id": event_id,
        "object": "event",
        "api_version": "2024-06-20",
        "created": 1_700_000_000 + index,
        "livemode": False,
        "pending_webhooks": 1,
        "type": "payment_intent.succeeded",
        "data": {
            "object": {
                "id": f"pi_bench{index}",
                "object": "payment_intent",
                "amount": 1000 + index % 5000,
                "amount_received": 1000 + index % 5000,
                "currency": "usd",
                "status": "succeeded",
                "created": 1_700_000_000 + index,
                "customer": f"cus_{index % 997}",
                "payment_method": f"pm_{index % 991}",
                "latest_charge": f"ch_bench{index}",
                "metadata": {"merchant_id": f"m_{index % 50}", "order_id": f"order-{index}"},
                "livemode": False,
            }
        },
    }
    return json.dumps(event, separators=(",", ":")).encode()


def signed_requests(count: int, secret: bytes, port: int) -> list[bytes]:
    timestamp = int(time.time())
    requests = []
    for index in range(count):
        body = stripe_body(index)
        signature = compute_signature(timestamp, body, secret)
        head = (
            f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
            f"Stripe-Signature: t={timestamp},v1={signature}\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        requests.append(head + body)
    return requests


class Connection(asyncio.Protocol):
    """One keep-alive connection with at most one request in flight."""

    def __init__(self, on_response: Callback) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.on_response = on_response
        self.started = 0.0
        self.closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = cast(asyncio.Transport, transport)

    def send(self, request: bytes, started: float) -> None:
        self.started = started
        assert self.transport is not None
        self.transport.write(request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end]).lower()
            length = 0
            marker = head.find(b"content-length:")
            if marker >= 0:
                length = int(head[marker + 15 :].split(b"\r\n", 1)[0])
            total = end + 4 + length
            if len(self.buffer) < total:
                return
            status = int(head[9:12])
            del self.buffer[:total]
            self.on_response(self, status, self.started)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)


class Callback:
    def __call__(self, connection: Connection, status: int, started: float) -> None: ...


@dataclass
class Tally:
    statuses: Counter[int] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    measuring: bool = False
    accepted_total: int = 0
    """200s including warm-up: each is one record on the topic."""


async def connect(port: int, handler: Callback) -> Connection:
    loop = asyncio.get_running_loop()
    _, protocol = await loop.create_connection(lambda: Connection(handler), "127.0.0.1", port)
    return protocol


async def saturate(
    port: int, requests: list[bytes], connections: int, warmup: float, duration: float, timeout: float
) -> dict[str, object]:
    tally = Tally()
    cursor = 0

    def next_request() -> bytes:
        nonlocal cursor
        cursor += 1
        return requests[cursor % len(requests)]

    in_flight = 0
    stopping = False
    drained = asyncio.get_running_loop().create_future()

    class Handler(Callback):
        def __call__(self, connection: Connection, status: int, started: float) -> None:
            nonlocal in_flight
            now = clock()
            tally.accepted_total += status == 200
            if tally.measuring:
                tally.statuses[status] += 1
                tally.latencies.append(now - started)
            if stopping:
                in_flight -= 1
                if in_flight == 0 and not drained.done():
                    drained.set_result(None)
                return
            connection.send(next_request(), now)

    handler = Handler()
    pool = [await connect(port, handler) for _ in range(connections)]
    for connection in pool:
        connection.send(next_request(), clock())
    in_flight = len(pool)
    await asyncio.sleep(warmup)
    tally.measuring = True
    begin = time.perf_counter()
    await asyncio.sleep(duration)
    tally.measuring = False
    elapsed = time.perf_counter() - begin
    stopping = True  # no new requests; the ones in flight are still counted when they answer
    with contextlib.suppress(TimeoutError):  # what is still missing is reported as unanswered
        await asyncio.wait_for(asyncio.shield(drained), timeout)
    for connection in pool:
        assert connection.transport is not None
        connection.transport.close()
    return {
        "mode": "saturate",
        "connections": connections,
        "seconds": elapsed,
        "statuses": dict(tally.statuses),
        "accepted_total": tally.accepted_total,
        "unanswered": in_flight,
        "accepted_per_second": tally.statuses[200] / elapsed,
        "latencies_ms": [latency * 1000 for latency in tally.latencies],
    }


async def fixed_rate(
    port: int, requests: list[bytes], rate: float, warmup: float, duration: float, timeout: float
) -> dict[str, object]:
    """Open loop: request i is due at start + i / rate, whatever happened to earlier ones."""
    tally = Tally()
    idle: deque[Connection] = deque()
    opened = 0
    overflow = 0
    measure_from = clock() + warmup
    measure_until = measure_from + duration

    in_flight = 0
    sent_in_window = 0
    drained = asyncio.get_running_loop().create_future()
    sending = True

    class Handler(Callback):
        def __call__(self, connection: Connection, status: int, started: float) -> None:
            nonlocal in_flight
            in_flight -= 1
            tally.accepted_total += status == 200
            if measure_from <= started < measure_until:
                tally.statuses[status] += 1
                tally.latencies.append(clock() - started)
            idle.append(connection)
            if not sending and in_flight == 0 and not drained.done():
                drained.set_result(None)

    handler = Handler()
    for _ in range(32):
        idle.append(await connect(port, handler))
        opened += 1
    start = clock()
    total = int((warmup + duration) * rate)
    index = 0
    while index < total:
        now = clock()
        due = min(total, int((now - start) * rate) + 1)
        while index < due:
            scheduled = start + index / rate
            in_window = measure_from <= scheduled < measure_until
            sent_in_window += in_window
            if not idle:
                if opened >= MAX_CONNECTIONS:
                    # The server is this far behind: not sent, and a miss if in the window.
                    overflow += 1
                    if in_window:
                        tally.statuses[0] += 1
                        tally.latencies.append(timeout)
                    index += 1
                    continue
                opened += 1
                idle.append(await connect(port, handler))
            idle.popleft().send(requests[index % len(requests)], scheduled)
            in_flight += 1
            index += 1
        await asyncio.sleep(max(0.0, start + index / rate - clock()))
    sending = False
    if in_flight:
        with contextlib.suppress(TimeoutError):  # what is still missing is a miss
            await asyncio.wait_for(asyncio.shield(drained), timeout)
    answered = sum(tally.statuses.values()) - tally.statuses[0]
    # Requests of the window still unanswered: misses at the timeout (no coordinated omission).
    missing = sent_in_window - overflow_in(tally) - answered
    tally.statuses[0] += missing
    tally.latencies.extend([timeout] * missing)
    late = sum(latency >= timeout for latency in tally.latencies)
    return {
        "sent_in_window": sent_in_window,
        "answered_in_window": answered,
        "missed_in_window": late,
        "unanswered": in_flight,
        "timeout_s": timeout,
        "mode": "rate",
        "rate": rate,
        "seconds": duration,
        "connections_opened": opened,
        "overflow": overflow,
        "statuses": dict(tally.statuses),
        "accepted_total": tally.accepted_total,
        "accepted_per_second": tally.statuses[200] / duration,
        "latencies_ms": [latency * 1000 for latency in tally.latencies],
    }


def overflow_in(tally: Tally) -> int:
    """Requests of the window that never got a connection (recorded as status 0 so far)."""
    return tally.statuses[0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["saturate", "rate"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--connections", type=int, default=48)
    parser.add_argument("--rate", type=float, default=1500.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds an answer may take before it is a miss")
    args = parser.parse_args()
    secret = os.environ["BENCH_STRIPE_SECRET"].encode()
    requests = signed_requests(args.requests, secret, args.port)
    if args.mode == "saturate":
        connections = min(args.connections, MAX_CONNECTIONS)
        coroutine = saturate(args.port, requests, connections, args.warmup, args.duration, args.timeout)
    else:
        coroutine = fixed_rate(args.port, requests, args.rate, args.warmup, args.duration, args.timeout)
    result = uvloop.run(coroutine)
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
