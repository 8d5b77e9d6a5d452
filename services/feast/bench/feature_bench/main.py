"""Times `dbt build` and the Feast stages for N simulated payments; prints rows/s per stage.

    ./pants package dbt:dbt-cli
    ./pants run services/feast/bench/feature_bench/main.py -- --payments 1000000 --dbt dist/dbt/dbt-cli.pex

Bronze rows are generated inside DuckDB (the loader is not what is measured): payments over 90
days for 50,000 customers, 70,000 cards and 500 merchants, 15 % declined, 5 % refunded, 1 %
disputed, in five currencies. Baseline printed in the same run: a plain DuckDB scan of the bronze
events (what any model must at least pay).
"""

import argparse
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
from warehouse import bronze, run

from feature_repo import cli
from feature_repo.settings import load_settings

GENERATE = """
insert into bronze_payment_events
with draws as (
    select i, {draws} from range({payments}) as t(i)
)
select
    'ev_' || i, 'pay_' || i, ['stripe', 'adyen', 'braintree'][1 + i % 3], 'pe_' || i,
    case when h1 % 100 < 15 then 'payment.failed' else 'payment.succeeded' end,
    case when h1 % 100 < 15 then 'failed' else 'succeeded' end,
    100 + h2 % 50000, ['USD', 'EUR', 'GBP', 'JPY', 'KWD'][1 + h3 % 5],
    timestamp '2026-08-01' + to_microseconds(cast(i * {spacing} as bigint)),
    'mer_' || h4 % 500, 'cus_' || h5 % 50000,
    'card_' || (h5 % 50000 + case when h6 % 5 = 0 then 50000 + h6 % 20000 else 0 end),
    '424242', ['US', 'DE', 'GB', 'JP'][1 + h7 % 4], null, null, null, null,
    ['US', 'DE', 'GB', 'JP'][1 + h8 % 4], null, '5411',
    timestamp '2026-08-01' + to_microseconds(cast(i * {spacing} as bigint)), now()::timestamp
from draws;

insert into bronze_payment_events
select 'ev_r_' || payment_id, payment_id, provider, 'pe_r_' || payment_id, 'refund.succeeded', 'refunded', amount_minor,
    currency, occurred_at + interval 2 day, merchant_id, customer_id, card_fingerprint, card_bin, card_country, null, null,
    're_' || payment_id, null, ip_country, null, merchant_category, occurred_at + interval 2 day, loaded_at
from bronze_payment_events where event_type = 'payment.succeeded' and hash(event_id) % 100 < 5;

insert into bronze_payment_events
select 'ev_d_' || payment_id, payment_id, provider, 'pe_d_' || payment_id, 'dispute.opened', 'disputed', amount_minor,
    currency, occurred_at + interval 10 day, merchant_id, customer_id, card_fingerprint, card_bin, card_country, null, null,
    null, 'dp_' || payment_id, ip_country, null, merchant_category, occurred_at + interval 10 day, loaded_at
from bronze_payment_events where event_type = 'payment.succeeded' and hash(event_id, 9) % 100 < 1;

insert into bronze_payments
select payment_id, provider, merchant_id, customer_id, card_fingerprint, amount_minor, currency, status, null, null, null,
    null, occurred_at, occurred_at, loaded_at
from bronze_payment_events where event_type like 'payment.%';
"""


def _timed(label: str, rows: int, action: object) -> float:
    started = time.perf_counter()
    action()  # type: ignore[operator]
    seconds = time.perf_counter() - started
    print(f"{label:<28} {rows:>10,} rows {seconds:8.1f} s {rows / seconds:12,.0f} rows/s", flush=True)
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payments", type=int, default=1_000_000)
    parser.add_argument("--dbt", type=Path, required=True, help="the dbt:dbt-cli pex")
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="feature-bench-"))
    path = work / "warehouse.duckdb"
    bronze.create_bronze(path)
    spacing = 90 * 86400 * 1_000_000 / args.payments  # microseconds between payments: 90 days in all
    n = args.payments

    def generate() -> None:
        with duckdb.connect(str(path)) as connection:
            draws = ", ".join(f"cast(hash(i, {k}) % 1000003 as bigint) as h{k}" for k in range(1, 9))
            connection.execute(GENERATE.format(payments=n, spacing=spacing, draws=draws))

    _timed("generate bronze (DuckDB)", n, generate)
    with duckdb.connect(str(path), read_only=True) as connection:
        [(events,)] = connection.execute("select count(*) from bronze_payment_events").fetchall()

    def scan() -> None:
        with duckdb.connect(str(path), read_only=True) as connection:
            connection.execute(
                "select customer_id, count(*), sum(amount_minor) from bronze_payment_events group by 1"
            ).fetchall()

    _timed("baseline: one scan+group", int(events), scan)
    _timed(
        "dbt build (all nodes)",
        n,
        lambda: run.dbt(["build"], duckdb_path=path, work_dir=work, executable=[str(args.dbt.resolve())]),
    )
    settings = load_settings(root=work / "repo", warehouse_path=path)
    _timed("feast export (parquet)", n, lambda: cli.export(settings))
    _timed("feast apply", n, lambda: cli.apply(settings))
    end = datetime(2026, 11, 1, tzinfo=UTC) + timedelta(days=1)
    _timed("feast materialize", n, lambda: cli.materialize(settings, datetime(2026, 7, 1, tzinfo=UTC), end))
    print(f"work dir: {work}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
