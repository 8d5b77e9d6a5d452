"""Deterministic identifiers in each provider's own shape.

Provider ids (charges, PSP references, transactions, events) are derived by hashing the run's seed
with a kind and a number, not drawn from a shared random stream: an id then depends only on what it
names, so adding a behaviour or reordering generation never shifts every other id, and the same seed
always yields byte-identical payloads.
"""

from __future__ import annotations

import hashlib
from typing import Final

BASE62: Final = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
UPPER36: Final = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
LOWER36: Final = "0123456789abcdefghijklmnopqrstuvwxyz"
DIGITS: Final = "0123456789"
HEX: Final = "0123456789abcdef"


def _table(alphabet: str) -> bytes:
    """Byte -> symbol of `alphabet` (byte modulo its size: a negligible bias, fine for ids)."""
    return bytes(ord(alphabet[value % len(alphabet)]) for value in range(256))


_TABLES: dict[str, bytes] = {}


def encode(raw: bytes, alphabet: str, length: int) -> str:
    """The first `length` bytes of `raw` as symbols of `alphabet` (one byte per symbol)."""
    table = _TABLES.get(alphabet)
    if table is None:
        table = _TABLES[alphabet] = _table(alphabet)
    if len(raw) < length:
        raise ValueError(f"{length} symbols need {length} random bytes, got {len(raw)}")
    return raw[:length].translate(table).decode("ascii")


class IdFactory:
    """Ids keyed by (namespace, kind, number); two namespaces never share an id in practice."""

    __slots__ = ("_key",)

    def __init__(self, namespace: str) -> None:
        self._key = hashlib.blake2b(namespace.encode(), digest_size=32).digest()

    def digest(self, kind: str, n: int) -> bytes:
        """64 pseudo-random bytes for (kind, n)."""
        return hashlib.blake2b(f"{kind}:{n}".encode(), key=self._key).digest()

    def number(self, kind: str, n: int) -> int:
        """A 64-bit number for (kind, n)."""
        return int.from_bytes(self.digest(kind, n)[:8], "big")

    def token(self, kind: str, n: int, length: int, alphabet: str = BASE62) -> str:
        """Up to 64 symbols of `alphabet` for (kind, n)."""
        return encode(self.digest(kind, n), alphabet, length)

    def uuid(self, kind: str, n: int) -> str:
        """A version-4-shaped UUID string (Square event ids look like this)."""
        raw = self.token(kind, n, 32, HEX)
        return f"{raw[:8]}-{raw[8:12]}-4{raw[13:16]}-{'89ab'[int(raw[16], 16) % 4]}{raw[17:20]}-{raw[20:32]}"
