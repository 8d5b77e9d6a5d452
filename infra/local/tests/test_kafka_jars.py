from __future__ import annotations

from pathlib import Path

import pytest

from local_stack.errors import DownloadError
from local_stack.kafka_jars import ensure_jars

FAILING_MVN = """#!/bin/sh
echo "[ERROR] Failed to execute goal on project kafka-runtime: Could not resolve dependencies"
echo "[ERROR] repo.maven.apache.org: Name or service not known"
exit 1
"""

FAKE_MVN = """#!/bin/sh
for arg in "$@"; do
  case "$arg" in -DoutputDirectory=*) out="${arg#-DoutputDirectory=}";; esac
done
mkdir -p "$out" && touch "$out/kafka_2.13-9.9.9.jar" "$out/kafka-clients-9.9.9.jar"
echo run >> "$(dirname "$0")/runs"
"""


def _mvn(tmp_path: Path, script: str) -> dict[str, str]:
    mvn = tmp_path / "bin" / "mvn"
    mvn.parent.mkdir()
    mvn.write_text(script)
    mvn.chmod(0o755)
    return {"LOCAL_STACK_MVN": str(mvn), "PATH": "/usr/bin:/bin"}


def test_failed_download_shows_the_command_and_output(tmp_path: Path) -> None:
    env = _mvn(tmp_path, FAILING_MVN)

    with pytest.raises(DownloadError) as caught:
        ensure_jars(tmp_path / "cache", "9.9.9", env, progress=lambda _: None)

    message = str(caught.value)
    assert "dependency:copy-dependencies" in message and "-Dkafka.version=9.9.9" in message
    assert "Name or service not known" in message
    assert not (tmp_path / "cache" / "kafka-9.9.9" / ".complete").exists()


def test_jars_are_downloaded_once(tmp_path: Path) -> None:
    env = _mvn(tmp_path, FAKE_MVN)
    messages: list[str] = []

    first = ensure_jars(tmp_path / "cache", "9.9.9", env, progress=messages.append)
    second = ensure_jars(tmp_path / "cache", "9.9.9", env, progress=messages.append)

    assert first == second == tmp_path / "cache" / "kafka-9.9.9" / "libs"
    assert (first / "kafka_2.13-9.9.9.jar").is_file()
    assert (tmp_path / "bin" / "runs").read_text().count("run") == 1
    assert any("downloading Kafka 9.9.9" in m for m in messages)
    assert (tmp_path / "cache" / "kafka-9.9.9" / "pom.xml").read_text().count("kafka_2.13") == 1
