"""Just enough of Kafka's binary protocol for readiness checks and topic admin, stdlib only.

Only non-flexible request versions that Kafka 3.x and 4.x both accept (KIP-896 removed the
oldest ones in 4.0) are used, so no tagged-field encoding is needed.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterable

CLIENT_ID = b"local-stack"


class ProtocolError(Exception):
    """The peer answered something that is not the expected Kafka response."""


def int8(value: int) -> bytes:
    return struct.pack(">b", value)


def int16(value: int) -> bytes:
    return struct.pack(">h", value)


def int32(value: int) -> bytes:
    return struct.pack(">i", value)


def string(value: str | None) -> bytes:
    if value is None:
        return int16(-1)
    raw = value.encode("utf-8")
    return int16(len(raw)) + raw


def array(items: Iterable[bytes]) -> bytes:
    encoded = list(items)
    return int32(len(encoded)) + b"".join(encoded)


def encode_request(api_key: int, api_version: int, correlation_id: int, body: bytes) -> bytes:
    """A size-prefixed request with header v1 (api key, version, correlation id, client id)."""
    message = int16(api_key) + int16(api_version) + int32(correlation_id) + string("local-stack") + body
    return int32(len(message)) + message


class Reader:
    """Sequential big-endian reads; running off the end raises `ProtocolError`."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._offset = 0

    def _take(self, fmt: str) -> int:
        try:
            (value,) = struct.unpack_from(fmt, self._data, self._offset)
        except struct.error as error:
            raise ProtocolError(f"truncated response: {error}") from None
        self._offset += struct.calcsize(fmt)
        return int(value)

    def int8(self) -> int:
        return self._take(">b")

    def int16(self) -> int:
        return self._take(">h")

    def int32(self) -> int:
        return self._take(">i")

    def string(self) -> str | None:
        length = self.int16()
        if length < 0:
            return None
        end = self._offset + length
        if end > len(self._data):
            raise ProtocolError("truncated response: string runs past the end")
        try:
            text = self._data[self._offset : end].decode("utf-8")
        except UnicodeDecodeError as error:
            raise ProtocolError(f"string is not UTF-8: {error}") from None
        self._offset = end
        return text

    def int32_array(self) -> list[int]:
        return [self.int32() for _ in range(self.int32())]


class Connection:
    """One TCP connection to a broker, sending requests one at a time."""

    def __init__(self, host: str, port: int, timeout: float) -> None:
        self._sock = socket.create_connection((host, port), timeout=timeout)
        self._sock.settimeout(timeout)
        self._correlation_id = 0

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *_: object) -> None:
        self._sock.close()

    def call(self, api_key: int, api_version: int, body: bytes) -> Reader:
        self._correlation_id += 1
        self._sock.sendall(encode_request(api_key, api_version, self._correlation_id, body))
        (size,) = struct.unpack(">i", self._recv_exact(4))
        response = self._recv_exact(size)
        reader = Reader(response)
        got = reader.int32()
        if got != self._correlation_id:
            raise ProtocolError(f"correlation id {got} does not match {self._correlation_id}")
        return reader

    def _recv_exact(self, size: int) -> bytes:
        chunks = bytearray()
        while len(chunks) < size:
            chunk = self._sock.recv(size - len(chunks))
            if not chunk:
                raise ProtocolError("connection closed mid-response")
            chunks.extend(chunk)
        return bytes(chunks)
