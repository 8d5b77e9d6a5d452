"""The Kafka broker's jars, fetched once from Maven Central into a cache outside the repo.

The recipe is the committed `kafka_pom.xml`; Maven resolves the broker's runtime classpath from
it. A lock file serialises concurrent first starts, and a marker written last means an
interrupted download is redone rather than half-used.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from importlib.resources import files
from pathlib import Path

from local_stack.errors import DownloadError
from local_stack.executables import find_mvn
from local_stack.locking import file_lock
from local_stack.service import Progress

POM_RESOURCE = "kafka_pom.xml"
COMPLETE_MARKER = ".complete"


def jar_dir(cache_dir: Path, version: str) -> Path:
    return cache_dir / f"kafka-{version}" / "libs"


def ensure_jars(cache_dir: Path, version: str, env: dict[str, str], progress: Progress) -> Path:
    """Return the folder of the broker's jars, downloading them the first time."""
    root = cache_dir / f"kafka-{version}"
    libs = root / "libs"
    if (root / COMPLETE_MARKER).is_file():
        return libs
    with file_lock(root / ".lock"):
        if (root / COMPLETE_MARKER).is_file():
            return libs
        _download(root, libs, version, env, progress)
    return libs


def maven_command(mvn: Path, pom: Path, version: str, output_dir: Path) -> list[str]:
    return [
        str(mvn),
        "-B",
        "-q",
        "-f",
        str(pom),
        f"-Dkafka.version={version}",
        "dependency:copy-dependencies",
        f"-DoutputDirectory={output_dir}",
    ]


def _download(root: Path, libs: Path, version: str, env: dict[str, str], progress: Progress) -> None:
    mvn = find_mvn(env)
    pom = root / "pom.xml"
    pom.write_text(files("local_stack").joinpath(POM_RESOURCE).read_text(encoding="utf-8"))
    staging = root / "libs.partial"
    shutil.rmtree(staging, ignore_errors=True)
    command = maven_command(mvn, pom, version, staging)
    progress(f"downloading Kafka {version} jars from Maven Central into {libs} (once, ~15-60 s)")
    started = time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True, check=False, cwd=root, env=env)  # noqa: S603
    expected_jar = staging / f"kafka_2.13-{version}.jar"
    if result.returncode != 0 or not expected_jar.is_file():
        output = (result.stdout + result.stderr).strip().splitlines()
        tail = "\n".join(output[-25:]) or f"(no output; exit code {result.returncode})"
        raise DownloadError(command, tail)
    shutil.rmtree(libs, ignore_errors=True)
    staging.replace(libs)
    (root / COMPLETE_MARKER).write_text(version + "\n")
    count = len(list(libs.glob("*.jar")))
    progress(f"downloaded {count} jars in {time.monotonic() - started:.1f} s")
