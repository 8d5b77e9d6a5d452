"""`docker_image` targets read from BUILD files (Python syntax, literal arguments)."""

from __future__ import annotations

import ast
from dataclasses import dataclass

__all__ = ["DockerImage", "docker_images"]


@dataclass(frozen=True)
class DockerImage:
    address: str
    repository: str
    dependencies: tuple[str, ...]
    tags: tuple[str, ...]


def _absolute(folder: str, dependency: str) -> str:
    return f"{folder}{dependency}" if dependency.startswith(":") else dependency


def docker_images(folder: str, build_file: str) -> list[DockerImage]:
    """The `docker_image(...)` calls of the BUILD file of `folder` (a path from the repo root)."""
    images = []
    for node in ast.walk(ast.parse(build_file)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "docker_image":
            fields = {keyword.arg: ast.literal_eval(keyword.value) for keyword in node.keywords}
            images.append(
                DockerImage(
                    address=f"{folder}:{fields['name']}",
                    repository=fields["repository"],
                    dependencies=tuple(_absolute(folder, dep) for dep in fields.get("dependencies", ())),
                    tags=tuple(fields.get("tags", ())),
                )
            )
    return images
