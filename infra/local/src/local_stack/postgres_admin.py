"""Running SQL as the cluster's superuser through `psql`, so fixtures need no driver library.

Any resolve can then create a database per test without declaring psycopg, and a service that
does declare it never sees two owners of the module.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from local_stack.errors import LocalStackError, ToolNotFoundError
from local_stack.executables import find_pg_bin


class PostgresAdminError(LocalStackError):
    """psql reported an error; the message carries its output."""


def find_psql(env: Mapping[str, str]) -> Path:
    """The server's own psql first (same version), then any psql on PATH."""
    try:
        candidate = find_pg_bin(env) / "psql"
        if candidate.is_file():
            return candidate
    except ToolNotFoundError:
        pass
    on_path = shutil.which("psql", path=env.get("PATH"))
    if on_path:
        return Path(on_path)
    raise ToolNotFoundError(
        "psql was not found. Install the PostgreSQL client (`apt-get install postgresql-client`) "
        "or set LOCAL_STACK_PG_BIN to the folder holding psql."
    )


def with_database(dsn: str, database: str) -> str:
    """The same server and credentials, another database (URL or key=value DSN)."""
    if "://" in dsn:
        parts = urlsplit(dsn)
        return urlunsplit(parts._replace(path="/" + database))
    return f"{dsn} dbname={database}"


def run_sql(dsn: str, sql: str, env: Mapping[str, str] | None = None) -> str:
    """Run statements with ON_ERROR_STOP; return psql's output (tuples only, unaligned)."""
    environ = dict(os.environ if env is None else env)
    environ.setdefault("PGCONNECT_TIMEOUT", "10")
    command = [str(find_psql(environ)), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"]
    command += ["-d", dsn, "-c", sql]
    result = subprocess.run(command, capture_output=True, text=True, check=False, env=environ)  # noqa: S603
    if result.returncode != 0:
        raise PostgresAdminError(
            f"psql failed (exit {result.returncode}) running {sql!r} on {dsn}:\n"
            f"{(result.stderr or result.stdout).strip()}"
        )
    return result.stdout
