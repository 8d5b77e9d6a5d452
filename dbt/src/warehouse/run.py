"""Run dbt on the warehouse project with telemetry off and every path explicit.

`dbt(["build"], ...)` runs `dbt build` on a DuckDB file; `executable` is how dbt is started: this
interpreter's `dbt.cli.main` (resolve `dbt`), or the `dbt:dbt-cli` pex from another resolve.
The project's `profiles.yml` reads the DuckDB path from `WAREHOUSE_DUCKDB_PATH`.
"""

import os
import subprocess
import sys
from collections.abc import Sequence
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
    executable: Sequence[str] = (sys.executable, "-m", "dbt.cli.main"),
) -> subprocess.CompletedProcess[str]:
    """Run `dbt <args>` in a child process; artifacts and logs go under `work_dir`."""
    env = os.environ | {
        "DO_NOT_TRACK": "1",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        DUCKDB_PATH_VARIABLE: str(duckdb_path.resolve()),
    }
    command = [
        *executable,
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
