"""`seed-history`: a labelled payments history in a store, before the first live traffic.

Labels (lost disputes) mature only weeks after a payment, so a store that starts empty has nothing
to train on for two months. This writes `pipelines.synthetic`'s seeded history, ending (exclusive)
at `--end`, into the store by DSN: tables created from the contracts DDL when missing, rows whose
key is already stored left alone, so the same arguments twice write nothing the second time.

    seed-history --store-dsn sqlite:///store.db --payments 20000 --end 2025-01-06T00:00:00Z \\
        --days 150 --seed 7
"""

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime

from contracts.schemas.normalized_event import EventType
from contracts.schemas.records import DecisionRow, PaymentEventRow, PaymentRow
from pipelines.synthetic import SyntheticConfig, synthetic_rows, write_store


def _utc(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no time zone: give e.g. 2025-01-06T00:00:00Z")
    return moment.astimezone(UTC)


def _positive(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text} is not a positive integer")
    return value


def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(prog="seed-history", description=__doc__.split("\n\n")[0])
    cli.add_argument("--store-dsn", required=True, help="SQLAlchemy URL of the payments store")
    cli.add_argument("--payments", type=_positive, required=True, help="payments to simulate (bursts add a few)")
    cli.add_argument("--end", type=_utc, required=True, help="exclusive end of the history (ISO 8601 with zone)")
    cli.add_argument("--days", type=_positive, default=150, help="length of the history in days (default 150)")
    cli.add_argument("--seed", type=int, default=7, help="seed of the simulation (default 7)")
    return cli


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    config = SyntheticConfig.ending_at(args.end, args.days, payments=args.payments, seed=args.seed)
    rows = synthetic_rows(config)
    inserted = write_store(args.store_dsn, rows, skip_existing=True)
    generated = {
        PaymentRow.table: len(rows.payments),
        PaymentEventRow.table: len(rows.payment_events),
        DecisionRow.table: len(rows.decisions),
    }
    lost = sum(1 for event in rows.payment_events if event.event_type == EventType.DISPUTE_LOST.value)
    report = {
        "store": args.store_dsn,
        "from": config.start.isoformat(),
        "until_exclusive": args.end.isoformat(),
        "seed": args.seed,
        "generated": generated,
        "inserted": inserted,
        "already_present": {table: generated[table] - inserted.get(table, 0) for table in generated},
        "lost_disputes": lost,
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
