"""`check`: fail on breaking contract changes within a major version; `snapshot`: record schemas.

Run from the repository root: `./pants run contracts:compat -- check` (CI) or `-- snapshot`.
"""

import argparse
import sys
from pathlib import Path

from contracts.governance.catalog import schemas
from contracts.governance.compat import compare_catalogs
from contracts.governance.snapshots import DEFAULT_ROOT, read_snapshot, snapshot_dir, write_snapshot
from contracts.version import MAJOR, __version__


def check(root: Path, major: int) -> int:
    baseline = read_snapshot(root, major)
    if baseline is None:
        print(
            f"no snapshot for contracts v{major} in {snapshot_dir(root, major)}: "
            "run `./pants run contracts:compat -- snapshot` and commit it",
            file=sys.stderr,
        )
        return 1
    verdict = compare_catalogs(baseline, schemas())
    for change in verdict.additive:
        print(f"compatible: {change}")
    for change in verdict.breaking:
        print(f"BREAKING:   {change}")
    if verdict.breaking:
        print(
            f"\n{len(verdict.breaking)} breaking change(s) against the v{major} snapshot. Either make the change "
            f"compatible (optional field, keep old values), or bump the major version in "
            f"contracts/src/contracts/version.py and contracts/BUILD, then snapshot.",
            file=sys.stderr,
        )
        return 1
    stale = " (snapshot is behind: run `-- snapshot` to record the additions)" if verdict.additive else ""
    print(f"contracts {__version__}: compatible with the v{major} snapshot{stale}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="compat", description=__doc__)
    parser.add_argument("command", choices=["check", "snapshot"], help="check compatibility, or record snapshots")
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="snapshot folder (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.command == "snapshot":
        folder = write_snapshot(args.root, MAJOR, schemas())
        print(f"wrote {len(schemas())} contract schemas to {folder}")
        return 0
    return check(args.root, MAJOR)


if __name__ == "__main__":
    sys.exit(main())
