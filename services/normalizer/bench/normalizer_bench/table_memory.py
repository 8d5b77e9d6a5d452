"""Memory of the Stripe merchant table per payment, measured with `tracemalloc` (README "Memory").

    ./pants run services/normalizer/bench:table-memory -- [--payments N]

Builds the table's dict the way the worker does: each payment's fact as the Stripe agent writes
it (`stripe_merchants.fact`'s JSON), parsed (`parse`) and held (`held`: merchant, IP country and
merchant category interned); then as a restarted worker holds it, read back from the changelog's
JSON (nothing interned) with the key -> partition map Faust's memory store keeps while it
recovers a table (`_key_partition`). The baseline in the same run is the first version's value,
`[merchant, time]`. Payments are `pi_` + 24 characters (Stripe's 27), 10,000 merchants, 20 % of
the payments by a returning customer and device (still a string of their own per fact: the facts
are separate JSON records), a dozen countries and categories.
"""

from __future__ import annotations

import argparse
import json
import random
import string
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from typing import Any

from normalizer.stripe_merchants import PARTITIONS, held, parse

COUNTRIES = ("US", "GB", "DE", "FR", "NL", "ES", "IT", "BR", "IN", "ID", "JP", "AU")
CATEGORIES = ("5411", "5812", "5999", "4121", "5732", "7995", "5311", "5691", "4814", "5944", "7011", "5541")


def _id(rng: random.Random, prefix: str, n: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return prefix + "".join(rng.choices(alphabet, k=n))


def facts(n: int, seed: int = 7) -> list[tuple[str, bytes]]:
    """(payment id, fact JSON) for `n` payments."""
    rng = random.Random(seed)
    merchants = [_id(rng, "M", 12, string.ascii_uppercase + string.digits) for _ in range(10_000)]
    customers = [_id(rng, "cus_", 14) for _ in range(n // 5 or 1)]
    devices = [_id(rng, "dev_", 16, "0123456789abcdef") for _ in range(n // 5 or 1)]
    out = []
    for _ in range(n):
        returning = rng.random() < 0.2
        party = {
            "merchant_id": rng.choice(merchants),
            "customer_id": rng.choice(customers) if returning else _id(rng, "cus_", 14),
            "device_id": rng.choice(devices) if returning else _id(rng, "dev_", 16, "0123456789abcdef"),
            "ip_country": rng.choice(COUNTRIES),
            "merchant_category": rng.choice(CATEGORIES),
        }
        out.append((_id(rng, "pi_", 24), json.dumps(party).encode()))
    return out


def measure(build: Callable[[], Any]) -> tuple[int, Any]:
    """Bytes still allocated by what `build` returns (kept alive until measured)."""
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    kept = build()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return after - before, kept


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--payments", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    n = args.payments
    records = facts(n)
    # A time per fact, made into a float inside each measured build: the worker holds each fact's
    # own `float(message.timestamp)`, and one float shared by every entry would leave out ~24 bytes.
    times = [int(time.time() * 1000) + i for i in range(n)]

    def first_version() -> dict[str, Any]:
        table: dict[str, Any] = {}
        for (payment, value), at in zip(records, times, strict=True):
            party = parse(value)
            assert isinstance(party, dict)
            table[payment.encode().decode()] = [sys.intern(party["merchant_id"]), at / 1000]
        return table

    def live() -> dict[str, Any]:
        table: dict[str, Any] = {}
        for (payment, value), at in zip(records, times, strict=True):
            party = parse(value)
            assert isinstance(party, dict)
            table[payment.encode().decode()] = held(party, at / 1000)
        return table

    changelog = [
        (json.dumps(payment).encode(), json.dumps(held(parse(v), at / 1000)).encode())  # type: ignore[arg-type]
        for (payment, v), at in zip(records, times, strict=True)
    ]

    def restarted() -> tuple[dict[str, Any], dict[str, int]]:
        table: dict[str, Any] = {}
        key_partition: dict[str, int] = {}
        for n_, (key, value) in enumerate(changelog):
            payment = json.loads(key)
            table[payment] = json.loads(value)
            key_partition[payment] = n_ % PARTITIONS
        return table, key_partition

    rows: list[tuple[str, Callable[[], Any]]] = [
        ("first version [merchant, time] (baseline)", first_version),
        ("with the payment's party", live),
        ("after a restart (read back, + _key_partition)", restarted),
    ]
    print(f"payments: {n:,}  python {sys.version.split()[0]}")
    for name, build in rows:
        size, kept = measure(build)
        del kept
        print(f"{name:50s} {size / n:7.1f} B/payment  {size / 2**20:8.1f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
