"""A Dockerfile's runtime stage read as data: its ENV, COPY sources and HEALTHCHECK."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field

__all__ = ["Dockerfile", "parse_dockerfile"]


@dataclass
class Dockerfile:
    stages: int = 0
    env: dict[str, str] = field(default_factory=dict)
    """ENV of the last (runtime) stage."""
    copies: list[str] = field(default_factory=list)
    """COPY sources of every stage, from the build context (not `--from=`)."""
    user: str | None = None
    healthcheck: str | None = None


def _instructions(text: str) -> list[tuple[str, str]]:
    joined = re.sub(r"\\\n", " ", text)
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def _env(rest: str) -> dict[str, str]:
    parts = shlex.split(rest)
    if len(parts) >= 2 and "=" not in parts[0]:  # legacy `ENV KEY value`
        return {parts[0]: " ".join(parts[1:])}
    return dict(part.split("=", 1) for part in parts)


def parse_dockerfile(text: str) -> Dockerfile:
    result = Dockerfile()
    for word, rest in _instructions(text):
        if word == "FROM":
            result.stages += 1
            result.env, result.user, result.healthcheck = {}, None, None
        elif word == "ENV":
            result.env.update(_env(rest))
        elif word == "COPY" and not rest.startswith("--from="):
            sources = json.loads(rest)[:-1] if rest.startswith("[") else shlex.split(rest)[:-1]
            result.copies.extend(source for source in sources if not source.startswith("--"))
        elif word == "USER":
            result.user = rest
        elif word == "HEALTHCHECK":
            result.healthcheck = rest
    return result
