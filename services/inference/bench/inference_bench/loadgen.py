"""An open-loop HTTP/1.1 load generator, run in its own process.

Request i is due at `start + i / rate` whatever happened to earlier requests; its latency is
measured from that due time to the last byte of the response, so a stalled server shows up as
latency instead of silently lowering the offered load (no coordinated omission). Requests are
pre-encoded and sent over a pool of keep-alive connections; the client does almost no work per
request so that it does not compete with the server for the CPU.

    python -m inference_bench.loadgen --port P --path /v1/fraud/score --body-file b.json \
        --rate 2000 --duration 10 --out result.json

With `--saturate` instead of `--rate`, every connection sends its next request as soon as the
previous one is answered, until `--duration` is over: the server's throughput ceiling.
"""

import argparse
import asyncio
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import uvloop


@dataclass
class Result:
    latencies_us: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    sent: int = 0
    elapsed_s: float = 0.0

    def error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if length:
        await reader.readexactly(length)
    return status


async def run(host: str, port: int, request: bytes, rate: float, duration: float, connections: int) -> Result:
    result = Result()
    queue: asyncio.Queue[float | None] = asyncio.Queue()

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while (due := await queue.get()) is not None:
                try:
                    sent = time.perf_counter()
                    writer.write(request)
                    status = await _read_response(reader)
                except (OSError, asyncio.IncompleteReadError, ValueError) as error:
                    result.error(type(error).__name__)
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, port)
                    continue
                finished = time.perf_counter()
                if status == 200:
                    # From the due time when the request had to wait for a connection (no
                    # coordinated omission); from the send when the timer released it early.
                    result.latencies_us.append((finished - min(due, sent)) * 1e6)
                else:
                    result.error(f"http_{status}")
        finally:
            writer.close()

    workers = [asyncio.create_task(connection()) for _ in range(connections)]
    total = int(rate * duration)
    start = time.perf_counter() + 0.05
    for i in range(total):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0.0005:
            await asyncio.sleep(delay)
        queue.put_nowait(due)
        result.sent += 1
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    result.elapsed_s = time.perf_counter() - start
    return result


async def saturate(host: str, port: int, request: bytes, duration: float, connections: int) -> Result:
    result = Result()
    deadline = time.perf_counter() + duration

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while (sent := time.perf_counter()) < deadline:
                writer.write(request)
                status = await _read_response(reader)
                result.sent += 1
                if status == 200:
                    result.latencies_us.append((time.perf_counter() - sent) * 1e6)
                else:
                    result.error(f"http_{status}")
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(connections)))
    result.elapsed_s = time.perf_counter() - started
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", required=True)
    parser.add_argument("--body-file", type=Path, required=True)
    load = parser.add_mutually_exclusive_group(required=True)
    load.add_argument("--rate", type=float, help="requests per second, on a fixed schedule")
    load.add_argument("--saturate", action="store_true", help="each connection sends back to back")
    parser.add_argument("--duration", type=float, required=True, help="seconds")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    body = args.body_file.read_bytes()
    request = (
        f"POST {args.path} HTTP/1.1\r\nHost: {args.host}:{args.port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    if args.saturate:
        result = uvloop.run(saturate(args.host, args.port, request, args.duration, args.connections))
    else:
        result = uvloop.run(run(args.host, args.port, request, args.rate, args.duration, args.connections))
    args.out.write_text(
        json.dumps(
            {
                "latencies_us": result.latencies_us,
                "errors": result.errors,
                "sent": result.sent,
                "elapsed_s": result.elapsed_s,
            }
        )
    )


if __name__ == "__main__":
    main()
