"""Run dbt on the warehouse project with telemetry off and every path explicit.

`python -m warehouse.run build` runs `dbt build` on `WAREHOUSE_DUCKDB_PATH`; any dbt arguments
may follow. The project's `profiles.yml` reads the DuckDB path from that variable.
"""

import os
import subprocess
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]
DUCKDB_PATH_VARIABLE = "WAREHOUSE_DUCKDB_PATH"


def dbt(
    args: list[str],
    *,
    duckdb_path: Path,
    work_dir: Path,
    project_dir: Path = PROJECT_DIR,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run `dbt <args>` in a child process; artifacts and logs go under `work_dir`."""
    env = os.environ | {
        "DO_NOT_TRACK": "1",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        DUCKDB_PATH_VARIABLE: str(duckdb_path.resolve()),
    }
    command = [
        sys.executable,
        "-m",
        "dbt.cli.main",
        *args,
        "--project-dir",
        str(project_dir),
        "--profiles-dir",
        str(project_dir),
        "--target-path",
        str(work_dir / "target"),
        "--log-path",
        str(work_dir / "logs"),
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603 (our own argv)
    if check and done.returncode != 0:
        raise RuntimeError(
            f"dbt {' '.join(args)} failed ({done.returncode}):\n{done.stdout[-20000:]}\n{done.stderr[-5000:]}"
        )
    return done


def main() -> int:
    path = os.environ.get(DUCKDB_PATH_VARIABLE)
    if not path:
        print(f"set {DUCKDB_PATH_VARIABLE} to the warehouse DuckDB file", file=sys.stderr)
        return 2
    done = dbt(sys.argv[1:] or ["build"], duckdb_path=Path(path), work_dir=PROJECT_DIR, check=False)
    sys.stdout.write(done.stdout)
    sys.stderr.write(done.stderr)
    return done.returncode


if __name__ == "__main__":
    raise SystemExit(main())
