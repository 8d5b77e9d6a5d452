"""Version stamps on data directories: a server never opens data an incompatible version wrote."""

from __future__ import annotations

from pathlib import Path

from local_stack.errors import IncompatibleStateError

STAMP_NAME = "version"


def check_stamp(service: str, directory: Path, expected: str, has_data: bool) -> None:
    """Refuse data written by another version, or data without a stamp (origin unknown)."""
    stamp = directory / STAMP_NAME
    if stamp.is_file():
        found = stamp.read_text().strip()
        if found != expected:
            raise IncompatibleStateError(service, str(directory), found, expected)
    elif has_data:
        raise IncompatibleStateError(service, str(directory), "an unknown version", expected)


def write_stamp(directory: Path, expected: str) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / STAMP_NAME).write_text(expected + "\n")
