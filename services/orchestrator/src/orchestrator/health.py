"""`/healthz`, `/readyz` and `/metrics` of the worker and the bridge, on `ORCHESTRATOR_HEALTH_PORT`.

A bare asyncio HTTP/1.1 server (stdlib only): the worker has no web framework, and three GET
routes do not justify pulling Litestar and uvicorn (`libs/service_kit`) into a Temporal worker.
It runs in the process's own event loop, so a wedged loop also stops answering `/healthz`.

- `GET /healthz`: 200 `{"status": "ok"}` while the process serves (liveness).
- `GET /readyz`: 200 `{"status": "ready", "detail": ...}` when the process does its work, else 503
  `{"status": "not_ready", "reason": ...}` (worker: Temporal answers its health check, the
  worker polls its task queue and its Kafka producer is connected; bridge: the consumer holds partitions and is not stuck retrying).
- `GET /metrics`: Prometheus text format 0.0.4 (`orchestrator_*` counters).

Anything else: 404 (unknown path) or 405 (not GET/HEAD), with a JSON body naming the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

__all__ = ["PROMETHEUS_TEXT", "Counter", "HealthServer", "Metrics", "Readiness"]

log = logging.getLogger("orchestrator.health")

PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"
JSON = "application/json"

Readiness = Callable[[], Awaitable[tuple[bool, str]]]
"""Whether the process does its work now, and why (the reason is the 503's body)."""

READINESS_TIMEOUT_SECONDS = 3.0
REQUEST_TIMEOUT_SECONDS = 5.0
MAX_HEADER_LINES = 100

_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable"}


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


@dataclass
class Counter:
    """A Prometheus counter with fixed label names; `inc(**labels)`."""

    name: str
    help: str
    labels: tuple[str, ...] = ()
    values: dict[tuple[str, ...], float] = field(default_factory=dict)

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        if set(labels) != set(self.labels):
            raise ValueError(f"{self.name} takes labels {self.labels}, got {tuple(labels)}")
        key = tuple(labels[name] for name in self.labels)
        self.values[key] = self.values.get(key, 0.0) + amount

    def value(self, **labels: str) -> float:
        return self.values.get(tuple(labels[name] for name in self.labels), 0.0)

    def render(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} counter"
        if not self.labels and not self.values:
            yield f"{self.name} 0"
        for key, value in sorted(self.values.items()):
            pairs = ",".join(f'{name}="{_escape(label)}"' for name, label in zip(self.labels, key, strict=True))
            yield f"{self.name}{{{pairs}}} {value:g}" if pairs else f"{self.name} {value:g}"


class Metrics:
    """The counters of one process (never global, so in-process tests do not share them)."""

    def __init__(self) -> None:
        self._counters: dict[str, Counter] = {}

    def counter(self, name: str, help: str, labels: tuple[str, ...] = ()) -> Counter:
        if name in self._counters:
            raise ValueError(f"counter {name} is declared twice")
        self._counters[name] = Counter(name, help, labels)
        return self._counters[name]

    def render(self) -> str:
        return "\n".join(line for counter in self._counters.values() for line in counter.render()) + "\n"


async def _always_ready() -> tuple[bool, str]:
    return True, "ready"


class HealthServer:
    """The three routes on `host:port`; `async with` starts and stops it.

    Start it before connecting to anything: `/healthz` answers at once, `/readyz` answers 503
    until the readiness callback says otherwise. A port in use fails the start (`OSError`)."""

    def __init__(self, host: str, port: int, metrics: Metrics, readiness: Readiness = _always_ready) -> None:
        self.host = host
        self.port = port
        self.metrics = metrics
        self.readiness = readiness
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> HealthServer:
        try:
            self._server = await asyncio.start_server(self._serve, self.host, self.port)
        except OSError as error:
            raise OSError(
                error.errno, f"health server cannot listen on {self.host}:{self.port} ({error.strerror})"
            ) from error
        log.info("health, readiness and metrics on http://%s:%d", self.host, self.port)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            status, content_type, body, head = await asyncio.wait_for(self._answer(reader), REQUEST_TIMEOUT_SECONDS)
            writer.write(
                (
                    f"HTTP/1.1 {status} {_REASONS[status]}\r\nContent-Type: {content_type}\r\n"
                    f"Content-Length: {len(body)}\r\nConnection: close\r\n"
                    + ("Allow: GET, HEAD\r\n" if status == 405 else "")
                    + "\r\n"
                ).encode("latin-1")
                + (b"" if head else body)
            )
            await writer.drain()
        except (TimeoutError, ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as error:
            log.debug("health request dropped: %r", error)
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _answer(self, reader: asyncio.StreamReader) -> tuple[int, str, bytes, bool]:
        request_line = (await reader.readline()).decode("latin-1").strip()
        for _ in range(MAX_HEADER_LINES):  # headers are read and ignored; no body is expected
            if (await reader.readline()) in (b"\r\n", b"\n", b""):
                break
        parts = request_line.split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/"):
            return 400, JSON, _json({"status": "error", "reason": "malformed request line"}), False
        method, target = parts[0], parts[1].split("?", 1)[0]
        head = method == "HEAD"
        if target not in ("/healthz", "/readyz", "/metrics"):
            return 404, JSON, _json({"status": "error", "reason": f"no route {target}"}), head
        if method not in ("GET", "HEAD"):
            return 405, JSON, _json({"status": "error", "reason": f"{method} not allowed"}), head
        if target == "/healthz":
            return 200, JSON, _json({"status": "ok"}), head
        if target == "/metrics":
            return 200, PROMETHEUS_TEXT, self.metrics.render().encode(), head
        ready, why = await self._ready()
        if ready:
            return 200, JSON, _json({"status": "ready", "detail": why}), head
        return 503, JSON, _json({"status": "not_ready", "reason": why}), head

    async def _ready(self) -> tuple[bool, str]:
        try:
            return await asyncio.wait_for(self.readiness(), READINESS_TIMEOUT_SECONDS)
        except TimeoutError:
            return False, f"readiness check took over {READINESS_TIMEOUT_SECONDS:g} s"
        except Exception as error:  # an unexpected failure is reported as not ready and logged
            log.exception("readiness check failed")
            return False, f"readiness check failed: {type(error).__name__}: {error}"


def _json(value: dict[str, Any]) -> bytes:
    return json.dumps(value).encode()
