"""The CLI as a developer uses it: up, status, logs, down, and the errors it names."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from local_stack.ports import free_ports

PORT_VARS = (
    "LOCAL_STACK_KAFKA_PORT",
    "LOCAL_STACK_KAFKA_CONTROLLER_PORT",
    "LOCAL_STACK_TEMPORAL_PORT",
    "LOCAL_STACK_TEMPORAL_HTTP_PORT",
    "LOCAL_STACK_TEMPORAL_UI_PORT",
    "LOCAL_STACK_TEMPORAL_METRICS_PORT",
    "LOCAL_STACK_POSTGRES_PORT",
)


@pytest.fixture()
def cli_env() -> Iterator[dict[str, str]]:
    """A private state dir and free ports, so the CLI never touches the developer's stack."""
    state_dir = Path(tempfile.mkdtemp(prefix="local-stack-cli-"))
    state_dir.chmod(0o755)  # PostgreSQL may run as another OS user when we are root.
    env = dict(os.environ)
    env.update(zip(PORT_VARS, map(str, free_ports(len(PORT_VARS))), strict=True))
    env["LOCAL_STACK_STATE_DIR"] = str(state_dir)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    yield env
    run_cli(env, "down")  # a failing test must not leave servers behind either
    shutil.rmtree(state_dir, ignore_errors=True)


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "local_stack", *args],  # noqa: S603
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _processes_mentioning(text: str) -> list[str]:
    """Command lines of live processes that mention `text` (the state dir names every server)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().rpartition(")")[2].split()[0]
        except OSError:
            continue
        if text in cmdline and state != "Z":
            found.append(cmdline)
    return found


def test_up_status_down_leaves_no_process_behind(cli_env: dict[str, str]) -> None:
    up = run_cli(cli_env, "up")
    assert up.returncode == 0, up.stderr
    assert f"KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:{cli_env['LOCAL_STACK_KAFKA_PORT']}" in up.stdout

    status = run_cli(cli_env, "status")
    assert status.returncode == 0, status.stdout + status.stderr
    lines = status.stdout.splitlines()
    assert [line.split()[:2] for line in lines] == [
        ["kafka", "running"],
        ["temporal", "running"],
        ["postgres", "running"],
    ]
    assert all(" pid " in line for line in lines)
    assert _processes_mentioning(cli_env["LOCAL_STACK_STATE_DIR"])

    logs = run_cli(cli_env, "logs", "kafka")
    assert "Kafka Server started" in logs.stdout

    down = run_cli(cli_env, "down")
    assert down.returncode == 0, down.stderr
    assert down.stdout.strip() == "stopped: kafka, temporal, postgres"
    assert _processes_mentioning(cli_env["LOCAL_STACK_STATE_DIR"]) == []
    after = run_cli(cli_env, "status")
    assert after.returncode == 3
    assert all(line.split()[1] == "stopped" for line in after.stdout.splitlines())


def test_up_names_the_port_in_use_and_its_setting(cli_env: dict[str, str]) -> None:
    port = int(cli_env["LOCAL_STACK_POSTGRES_PORT"])
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", port))
        squatter.listen()

        up = run_cli(cli_env, "up", "--services", "postgres")

    assert up.returncode == 2
    assert f"port {port} is already in use" in up.stderr
    assert "LOCAL_STACK_POSTGRES_PORT" in up.stderr
    assert "Traceback" not in up.stderr


def test_unknown_service_is_refused(cli_env: dict[str, str]) -> None:
    result = run_cli(cli_env, "up", "--services", "zookeeper")

    assert result.returncode == 2
    assert "unknown service(s) zookeeper" in result.stderr
