"""`infra/docker/compose.yml` read as data: each container's environment, health command, topics."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["Container", "HealthUrl", "compose_containers", "health_urls", "kafka_init_topics", "parse_env_file"]

_URL = re.compile(r"https?://(?:127\.0\.0\.1|localhost)(?::(?P<port>\d+))?(?P<path>/[A-Za-z0-9_./-]*)")


@dataclass(frozen=True)
class Container:
    name: str
    image: str
    env: dict[str, str]
    """Image ENV, then env files, then `environment`: what the process sees."""
    health: tuple[str, ...]
    """The healthcheck's command words (empty: none)."""
    command: tuple[str, ...]


@dataclass(frozen=True)
class HealthUrl:
    port: int | None
    path: str


def parse_env_file(text: str) -> dict[str, str]:
    """`KEY=value` lines (compose's env-file format, no interpolation used here)."""
    env = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, sep, value = line.partition("=")
            if not sep:
                raise ValueError(f"not KEY=value: {line!r}")
            env[key.strip()] = value.strip()
    return env


def _words(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(shlex.split(value))
    return tuple(str(word) for word in value)


def _environment(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if isinstance(value, list):
        return dict(str(item).split("=", 1) for item in value)
    for key, item in value.items():
        if not isinstance(item, str):
            raise TypeError(f"{key}: compose values must be strings, got {item!r}")
    return dict(value)


def _env_files(value: Any) -> list[str]:
    if value is None:
        return []
    items = [value] if isinstance(value, str) else value
    return [item if isinstance(item, str) else item["path"] for item in items]


def compose_containers(
    compose: dict[str, Any], image_env: Callable[[str], dict[str, str]], env_file: Callable[[str], str]
) -> list[Container]:
    """Every service of the compose file; `image_env(image)` gives an image's own ENV (empty for a
    third-party image), `env_file(path)` the text of an env file (relative to compose.yml)."""
    containers = []
    for name, spec in compose["services"].items():
        env = dict(image_env(spec["image"]))
        for path in _env_files(spec.get("env_file")):
            env.update(parse_env_file(env_file(path)))
        env.update(_environment(spec.get("environment")))
        health = _words((spec.get("healthcheck") or {}).get("test"))
        if health[:1] in (("CMD",), ("CMD-SHELL",)):
            health = health[1:]
        containers.append(Container(name, spec["image"], env, health, _words(spec.get("command"))))
    return containers


def health_urls(words: tuple[str, ...] | str) -> list[HealthUrl]:
    """The local URLs a health command requests (`http://127.0.0.1:8000/readyz`)."""
    text = words if isinstance(words, str) else " ".join(words)
    return [HealthUrl(int(m["port"]) if m["port"] else None, m["path"]) for m in _URL.finditer(text)]


_CREATE = re.compile(r"^\s*create\s+(?P<name>\S+)\s+(?P<partitions>\d+)\s+(?P<retention>\d+)\s*$", re.M)


def kafka_init_topics(compose: dict[str, Any]) -> dict[str, tuple[int, int]]:
    """`create <topic> <partitions> <retention.ms>` lines of the kafka-init service's script."""
    script = "\n".join(_words(compose["services"]["kafka-init"]["command"]))
    return {m["name"]: (int(m["partitions"]), int(m["retention"])) for m in _CREATE.finditer(script)}
