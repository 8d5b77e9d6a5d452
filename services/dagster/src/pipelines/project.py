"""The dbt project handle: the warehouse project in `dbt/`, its manifest parsed once per project version.

dbt runs as a child process (`python -m dbt.cli.main`, the interpreter of this code location)
through a small launcher that sets the variables the project's `profiles.yml` reads and turns
dbt's tracking off, so no setting leaks into the code location's own environment.

The manifest lives in a parse folder keyed by a hash of the dbt project's files, the dbt version
and the warehouse's database name (`<target>/parse-<key>`): a changed project (or an upgraded dbt)
gets a new folder and a fresh parse at the next code-location load, and an unchanged one reuses its
manifest. The folder is written once, into a temporary folder renamed into place, so a run worker
loading the code location never reads a half-written manifest, and two loads parsing at once both
end with a complete folder. Builds never write there (`assets/warehouse`: one folder per run).
"""

import hashlib
import importlib.metadata
import os
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Final

from dagster_dbt import DbtProject

DUCKDB_PATH_VARIABLE: Final = "WAREHOUSE_DUCKDB_PATH"
"""What the dbt project's `profiles.yml` reads (dbt/profiles.yml)."""
PARTIAL_PARSE_FILE: Final = "partial_parse.msgpack"
"""dbt's partial-parse state, beside the manifest in a target folder."""
_NOT_PROJECT_FILES: Final = frozenset({"target", "logs", "dbt_packages", "__pycache__"})
"""Folders of the project directory that dbt writes (or caches), left out of the parse key."""


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


def parse_key(project_dir: Path, database: str, target_root: Path) -> str:
    """A hash of every project file (path and bytes), the dbt versions and the database name;
    `target_root` (dbt's folder, when inside the project) is left out."""
    digest = hashlib.sha256()
    for name in ("dbt-core", "dbt-duckdb", "dagster-dbt"):
        digest.update(f"{name}=={importlib.metadata.version(name)}\n".encode())
    digest.update(f"database={database}\n".encode())
    for root, folders, files in os.walk(project_dir):
        folders[:] = sorted(
            f
            for f in folders
            if f not in _NOT_PROJECT_FILES and not f.startswith(".") and Path(root, f).resolve() != target_root
        )
        for name in sorted(files):
            path = Path(root, name)
            digest.update(f"{path.relative_to(project_dir).as_posix()}\0".encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:16]


def warehouse_project(project_dir: Path, target_dir: Path | None, launcher: Path, warehouse_path: Path) -> DbtProject:
    """The `DbtProject` whose manifest is in this project version's parse folder (parsed first if new)."""
    project_dir = project_dir.resolve()
    target_root = (target_dir or project_dir / "target").resolve()
    # The database name dbt-duckdb gives the nodes (the file's stem) is in the manifest.
    parse_dir = target_root / f"parse-{parse_key(project_dir, warehouse_path.stem, target_root)}"
    if not (parse_dir / "manifest.json").exists():
        _parse_into(parse_dir, project_dir, target_root, launcher)
    return DbtProject(project_dir=project_dir, profiles_dir=project_dir, target_path=parse_dir)


def _parse_into(parse_dir: Path, project_dir: Path, target_root: Path, launcher: Path) -> None:
    """`dbt parse` into a temporary folder, then rename it to `parse_dir` (atomic; a lost race is fine)."""
    target_root.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".parse-", dir=target_root))
    try:
        done = subprocess.run(
            [  # noqa: S603 (our own launcher and paths)
                str(launcher),
                "parse",
                "--project-dir",
                str(project_dir),
                "--profiles-dir",
                str(project_dir),
                "--target-path",
                str(scratch),
                "--log-path",
                str(scratch / "logs"),
            ],
            capture_output=True,
            text=True,
            check=False,
            env=os.environ.copy(),
        )
        if done.returncode != 0:
            raise RuntimeError(f"dbt parse failed ({done.returncode}):\n{done.stdout[-5000:]}\n{done.stderr[-2000:]}")
        scratch.chmod(0o755)  # mkdtemp's 0700 would hide the manifest from other users of the volume
        try:
            scratch.rename(parse_dir)
        except OSError:
            if not (parse_dir / "manifest.json").exists():
                raise
            # Another load parsed the same project version first: its folder is as good as ours.
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def run_target_path(project: DbtProject, run_id: str) -> Path:
    """A run's own dbt target folder, seeded with the parse folder's partial-parse state.

    dbt then re-parses only what changed since the code location's parse, and no two runs share a
    folder (each `dbt build` rewrites its target's manifest and run results). dagster-dbt would
    copy the state itself only from `$DBT_TARGET_PATH` or `<project>/target`, not from our parse
    folder, so it is copied here.
    """
    target = project.target_path.parent / "runs" / run_id
    target.mkdir(parents=True, exist_ok=True)
    state = project.target_path / PARTIAL_PARSE_FILE
    if state.exists() and not (target / PARTIAL_PARSE_FILE).exists():
        shutil.copy(state, target / PARTIAL_PARSE_FILE)
    return target
