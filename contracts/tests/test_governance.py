"""Snapshots, the compat CLI and the library version agree with the code."""

import ast
import json
import re
from pathlib import Path

import pytest

from contracts.governance import cli
from contracts.governance.catalog import GOVERNED, contract_name, schemas
from contracts.governance.compat import compare_catalogs
from contracts.governance.snapshots import read_snapshot, write_snapshot
from contracts.version import MAJOR, __version__


def test_current_contracts_are_compatible_with_the_committed_snapshot() -> None:
    baseline = read_snapshot(Path("contracts/snapshots"), MAJOR)
    assert baseline is not None, "commit snapshots: ./pants run contracts:compat -- snapshot"
    verdict = compare_catalogs(baseline, schemas())
    assert verdict.compatible, "\n".join(map(str, verdict.breaking))


def test_contract_names_are_unique() -> None:
    names = [contract_name(model) for model in GOVERNED]
    assert len(names) == len(set(names))


def test_snapshot_round_trip_and_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["check", "--root", str(tmp_path)]) == 1
    assert "no snapshot" in capsys.readouterr().err
    assert cli.main(["snapshot", "--root", str(tmp_path)]) == 0
    assert read_snapshot(tmp_path, MAJOR) == json.loads(json.dumps(schemas()))
    assert cli.main(["check", "--root", str(tmp_path)]) == 0


def test_check_fails_on_a_removed_field_in_the_snapshot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    current = schemas()
    tampered = json.loads(json.dumps(current))
    tampered["normalized_event"]["properties"]["legacy_field"] = {"type": "string"}
    write_snapshot(tmp_path, MAJOR, tampered)
    assert cli.main(["check", "--root", str(tmp_path)]) == 1
    assert "normalized_event.legacy_field: removed field" in capsys.readouterr().out


def test_wheel_version_in_build_matches_the_package() -> None:
    build = Path("contracts/BUILD").read_text()
    versions = re.findall(r'version="([^"]+)"', build)
    assert versions == [__version__]
    assert int(ast.literal_eval(repr(__version__)).split(".")[0]) == MAJOR
