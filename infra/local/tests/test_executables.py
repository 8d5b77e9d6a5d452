from __future__ import annotations

from pathlib import Path

import pytest

from local_stack.errors import JavaNotFoundError, ToolNotFoundError
from local_stack.executables import find_java, find_mvn, find_temporal, parse_java_major


@pytest.mark.parametrize(
    ("output", "major"),
    [
        ('openjdk version "17.0.15" 2025-04-15', 17),
        ('java version "1.8.0_392"', 8),
        ('openjdk version "21" 2023-09-19', 21),
        ("no version here", 0),
    ],
)
def test_java_major_version_is_parsed(output: str, major: int) -> None:
    assert parse_java_major(output) == major


def test_missing_java_says_what_to_install(tmp_path: Path) -> None:
    with pytest.raises(JavaNotFoundError) as caught:
        find_java({"PATH": str(tmp_path)})

    assert "openjdk-17-jre-headless" in str(caught.value)
    assert "JAVA_HOME" in str(caught.value)


def test_old_java_is_refused(tmp_path: Path) -> None:
    java = tmp_path / "java"
    java.write_text("#!/bin/sh\necho 'java version \"1.8.0_392\"' >&2\n")
    java.chmod(0o755)

    with pytest.raises(JavaNotFoundError, match="is Java 8"):
        find_java({"LOCAL_STACK_JAVA": str(java), "PATH": str(tmp_path)})


def test_missing_maven_says_what_to_install(tmp_path: Path) -> None:
    with pytest.raises(ToolNotFoundError, match="apt-get install maven"):
        find_mvn({"PATH": str(tmp_path)})


def test_temporal_cli_variable_wins(tmp_path: Path) -> None:
    binary = tmp_path / "temporal"
    binary.write_text("")

    assert find_temporal({"TEMPORAL_CLI": str(binary), "PATH": ""}) == binary
