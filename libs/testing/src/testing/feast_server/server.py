"""`feast serve` as a subprocess on a free loopback port, ready when `/health` answers 200."""

import sys
from pathlib import Path

from testing.processes import ServerProcess, free_port, start_server


def start_feature_server(repo_path: Path, *, timeout_seconds: float = 180.0) -> ServerProcess:
    """Serve the (applied, materialized) repo at `repo_path`; `.base_url` is the server's URL."""
    port = free_port()
    command = [
        sys.executable,
        "-c",
        "import sys; from feast.cli.cli import cli; sys.exit(cli())",
        "--chdir",
        str(repo_path),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-access-log",
        "--workers",
        "1",
        # gunicorn would otherwise recycle its worker every ~1000 requests, mid-test.
        "--max-requests",
        "0",
    ]
    return start_server(
        command,
        base_url=f"http://127.0.0.1:{port}",
        ready_path="/health",
        log_path=repo_path / f"feature-server-{port}.log",
        env={"FEAST_USAGE": "False"},
        timeout_seconds=timeout_seconds,
    )
