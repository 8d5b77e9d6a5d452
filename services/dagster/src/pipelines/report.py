"""Wall time per stage on a configurable volume of simulated payments, and the model's metrics.

`./pants run services/dagster:report -- --payments 100000 --out /tmp/pipelines-report`

Stages are materialized one after the other, in-process, on a fresh SQLite store, DuckDB warehouse
and registry under `--out`: ingest, dbt, then per model (fraud, churn) training set, training,
evaluation (+ promotion). Prints the seconds of each, each model's and the rules baseline's
holdout metrics, and where the PR-curve PNGs are.
"""

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from dagster import AssetsDefinition, AssetSelection, DagsterInstance, materialize

from model_registry import ModelRegistry
from pipelines.assets.training import CHURN_MODEL_NAME, FRAUD_MODEL_NAME, RULES_PREFIX
from pipelines.definitions import build_definitions
from pipelines.settings import PipelinesSettings
from pipelines.synthetic import SyntheticConfig, synthetic_rows, write_store

STAGES = (
    ("ingest", AssetSelection.groups("ingest")),
    ("dbt", AssetSelection.groups("warehouse")),
    ("training set (fraud)", AssetSelection.assets("fraud_training_set")),
    ("training (fraud)", AssetSelection.assets("fraud_model_candidate")),
    ("evaluation + promotion (fraud)", AssetSelection.assets("fraud_model_evaluation", "fraud_model_champion")),
    ("training set (churn)", AssetSelection.assets("churn_training_set")),
    ("training (churn)", AssetSelection.assets("churn_model_candidate")),
    ("evaluation + promotion (churn)", AssetSelection.assets("churn_model_evaluation", "churn_model_champion")),
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--payments", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "pipelines-report")
    parser.add_argument("--dbt-project-dir", type=Path, default=Path("dbt"))
    args = parser.parse_args(argv)
    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    for stale in ("store.db", "warehouse.duckdb"):
        (out / stale).unlink(missing_ok=True)
    os.environ.setdefault("DAGSTER_HOME", str(out / "dagster"))
    Path(os.environ["DAGSTER_HOME"]).mkdir(parents=True, exist_ok=True)
    (Path(os.environ["DAGSTER_HOME"]) / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")

    timings: dict[str, float] = {}
    started = time.perf_counter()
    rows = synthetic_rows(SyntheticConfig(payments=args.payments, days=args.days, seed=args.seed))
    timings["simulate (not a pipeline stage)"] = time.perf_counter() - started
    settings = PipelinesSettings(
        deployment="test",
        store_dsn=f"sqlite:///{out / 'store.db'}",
        warehouse_path=out / "warehouse.duckdb",
        registry_root=out / f"registry-{int(time.time())}",
        dbt_project_dir=args.dbt_project_dir,
        dbt_target_dir=out / "dbt-target",
    )
    started = time.perf_counter()
    write_store(settings.store_dsn, rows)
    timings["write store (not a pipeline stage)"] = time.perf_counter() - started
    defs = build_definitions(settings)
    assets = [a for a in defs.assets or [] if isinstance(a, AssetsDefinition)]
    results: dict[str, Any] = {}
    # One persistent instance: a stage reads the outputs the stage before it stored.
    instance = DagsterInstance.get()
    for name, selection in STAGES:
        started = time.perf_counter()
        result = materialize(assets, selection=selection, resources=dict(defs.resources or {}), instance=instance)
        timings[name] = time.perf_counter() - started
        for event in result.get_asset_materialization_events():
            results[event.materialization.asset_key.to_user_string()] = {
                key: value.value for key, value in event.materialization.metadata.items() if key != "pr_curve"
            }
    pipeline_seconds = sum(v for k, v in timings.items() if "not a pipeline stage" not in k)
    print(f"payments simulated: {len(rows.payments)} ({len(rows.payment_events)} events)")
    for name, seconds in timings.items():
        print(f"{name:40s} {seconds:8.1f} s")
    print(f"{'pipeline total':40s} {pipeline_seconds:8.1f} s")
    print(json.dumps(results, indent=2, default=str))
    registry = ModelRegistry(settings.registry_root)
    for name in (FRAUD_MODEL_NAME, CHURN_MODEL_NAME):
        evaluation = results.get(f"{name}_model_evaluation", {})
        if not evaluation:
            continue
        print(
            f"{name}: holdout {int(evaluation['candidate.holdout_rows'])} rows, "
            f"{int(evaluation['candidate.holdout_positives'])} positives; "
            f"promoted: {results.get(f'{name}_model_champion', {}).get('promoted')}, "
            f"champion: {registry.champion(name) or 'none'}"
        )
        for metric in ("pr_auc", "recall_at_1pct_fpr", "roc_auc", "brier", "expected_calibration_error"):
            model, rules = evaluation[f"candidate.{metric}"], evaluation[f"{RULES_PREFIX}{metric}"]
            ratio = f"{model / rules:.2f}" if rules else "inf"
            print(f"  holdout {metric}: model {model:.4f}, rules-v1 {rules:.4f}, ratio {ratio}")
    print(f"PR-curve PNGs: {settings.warehouse_path.parent / 'reports'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
