"""The dbt parse folder is keyed by the project's version; each run builds in a folder of its own."""

import json
import shutil
from pathlib import Path

from conftest import DBT_PROJECT, Stack, make_settings, make_stack

from pipelines.project import PARTIAL_PARSE_FILE, dbt_launcher, warehouse_project
from pipelines.synthetic import StoreRows


def test_a_changed_project_is_parsed_again_at_load(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    launcher = dbt_launcher(tmp_path / "dbt.sh", settings.warehouse_path)
    original = warehouse_project(DBT_PROJECT, settings.dbt_target_dir, launcher, settings.warehouse_path)
    copy = tmp_path / "dbt"
    shutil.copytree(DBT_PROJECT, copy, ignore=shutil.ignore_patterns("target", "logs"))

    # The same files: the same parse folder, its manifest reused.
    assert warehouse_project(copy, settings.dbt_target_dir, launcher, settings.warehouse_path).target_path == (
        original.target_path
    )

    # A new model: a new parse folder whose manifest has it; the old folder is left as it was.
    (copy / "models" / "zz_added_model.sql").write_text("select 1 as one\n", encoding="utf-8")
    changed = warehouse_project(copy, settings.dbt_target_dir, launcher, settings.warehouse_path)
    assert changed.target_path != original.target_path
    assert changed.target_path.parent == original.target_path.parent
    nodes = json.loads(changed.manifest_path.read_text(encoding="utf-8"))["nodes"]
    assert any(node.endswith(".zz_added_model") for node in nodes)
    old_nodes = json.loads(original.manifest_path.read_text(encoding="utf-8"))["nodes"]
    assert not any(node.endswith(".zz_added_model") for node in old_nodes)
    # dbt's folder inside the project under another name is not part of the project's key.
    inside = warehouse_project(copy, copy / "dbt-state", launcher, settings.warehouse_path)
    again = warehouse_project(copy, copy / "dbt-state", launcher, settings.warehouse_path)
    assert inside.target_path == again.target_path
    assert inside.target_path.name == changed.target_path.name
    # No half-written scratch folder is left behind.
    assert [p.name for p in changed.target_path.parent.iterdir() if p.name.startswith(".parse-")] == []


def test_dbt_builds_in_a_folder_of_its_run_seeded_with_the_partial_parse(built: Stack) -> None:
    launcher = dbt_launcher(built.settings.warehouse_path.parent / "check-dbt.sh", built.settings.warehouse_path)
    project = warehouse_project(DBT_PROJECT, built.settings.dbt_target_dir, launcher, built.settings.warehouse_path)
    run = project.target_path.parent / "runs" / built.result.run_id
    assert (run / "run_results.json").exists()
    assert (run / PARTIAL_PARSE_FILE).exists()
    # The parse folder, which every run worker reads, is not written by builds.
    assert not (project.target_path / "run_results.json").exists()
    assert (project.target_path / PARTIAL_PARSE_FILE).exists()


def test_a_run_reuses_the_partial_parse_of_the_load(tmp_path: Path, small_rows: StoreRows) -> None:
    """One warehouse, its own dbt folder (as deployed): the load parses, the run's build does not
    parse again. dbt says which in its debug log (`Unable to do partial parsing because ...`)."""
    stack = make_stack(tmp_path, small_rows, dbt_target_dir=tmp_path / "dbt-target")
    result = stack.materialize("ingest", "warehouse")
    assert result.success

    log = (tmp_path / "dbt-target" / "runs" / result.run_id / "dbt.log").read_text(encoding="utf-8")
    assert "Unable to do partial parsing" not in log
    assert "Partial parsing enabled" in log
