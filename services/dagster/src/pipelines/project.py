"""The dbt project handle: the warehouse project in `dbt/`, its manifest parsed when missing.

dbt runs as a child process (`python -m dbt.cli.main`, the interpreter of this code location)
through a small launcher that sets the variables the project's `profiles.yml` reads and turns
dbt's tracking off, so no setting leaks into the code location's own environment.
"""

import os
import shlex
import stat
import subprocess
import sys
from pathlib import Path
from typing import Final

from dagster_dbt import DbtProject

DUCKDB_PATH_VARIABLE: Final = "WAREHOUSE_DUCKDB_PATH"
"""What the dbt project's `profiles.yml` reads (dbt/profiles.yml)."""


def dbt_launcher(path: Path, warehouse_path: Path) -> Path:
    """Write an executable that runs this interpreter's dbt on `warehouse_path`; return its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "#!/bin/sh\n"
        f"export {DUCKDB_PATH_VARIABLE}={shlex.quote(str(warehouse_path.resolve()))}\n"
        "export DO_NOT_TRACK=1 DBT_SEND_ANONYMOUS_USAGE_STATS=false\n"
        f'exec {shlex.quote(sys.executable)} -m dbt.cli.main "$@"\n',
        encoding="utf-8",
    )
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def warehouse_project(project_dir: Path, target_dir: Path | None, launcher: Path) -> DbtProject:
    """The `DbtProject`, with `dbt parse` run first when its manifest does not exist yet."""
    project_dir = project_dir.resolve()
    target = (target_dir or project_dir / "target").resolve()
    project = DbtProject(project_dir=project_dir, profiles_dir=project_dir, target_path=target)
    if not project.manifest_path.exists():
        done = subprocess.run(
            [  # noqa: S603 (our own launcher and paths)
                str(launcher),
                "parse",
                "--project-dir",
                str(project_dir),
                "--profiles-dir",
                str(project_dir),
                "--target-path",
                str(target),
                "--log-path",
                str(target / "logs"),
            ],
            capture_output=True,
            text=True,
            check=False,
            env=os.environ.copy(),
        )
        if done.returncode != 0:
            raise RuntimeError(f"dbt parse failed ({done.returncode}):\n{done.stdout[-5000:]}\n{done.stderr[-2000:]}")
    return project
