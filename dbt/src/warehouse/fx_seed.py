"""The `fx_rates` dbt seed, generated from the contracts FX table (never edited by hand).

`python -m warehouse.fx_seed` rewrites `dbt/seeds/fx_rates.csv`; `--check` fails when the file
differs from what contracts say (tests/test_contracts_agreement.py runs the same comparison).
"""

import argparse
import sys
from pathlib import Path

from contracts.reference.currencies import exponent
from contracts.reference.fx import fx_rows

SEED_PATH = Path(__file__).resolve().parents[2] / "seeds" / "fx_rates.csv"
HEADER = "currency,minor_unit_exponent,usd_per_unit,as_of"


def seed_csv() -> str:
    lines = [HEADER]
    lines += [f"{code},{exponent(code)},{rate},{as_of.isoformat()}" for code, rate, as_of in fx_rows()]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the seed differs from contracts")
    parser.add_argument("--path", type=Path, default=SEED_PATH)
    args = parser.parse_args(argv)
    expected = seed_csv()
    if args.check:
        if not args.path.exists() or args.path.read_text(encoding="utf-8") != expected:
            print(f"{args.path} differs from contracts.reference.fx: run python -m warehouse.fx_seed", file=sys.stderr)
            return 1
        print(f"{args.path} equals contracts.reference.fx")
        return 0
    args.path.write_text(expected, encoding="utf-8")
    print(f"wrote {args.path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
