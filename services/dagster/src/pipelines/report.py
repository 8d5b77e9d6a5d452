"""Wall time per stage on a configurable volume of simulated payments, and the model's metrics.

`./pants run services/dagster:report -- --payments 100000 --out /tmp/pipelines-report`

Stages are materialized one after the other, in-process, on a fresh SQLite store, DuckDB warehouse
and registry under `--out`: ingest, dbt, (with `--feature-repo-command`: Feast export + apply,
materialize, the training set through Feast) then per model (fraud, churn) training set,
training, evaluation (+ promotion). Prints the seconds of each, dbt's slowest nodes, each model's
and the rules baseline's holdout metrics, and where the PR-curve PNGs are.

`--reuse-store` keeps a store the report wrote before under `--out` when it was written for the
same synthetic config (every field) by the same generator and store DDL (their SHA-256), as
recorded beside it in `store.db.json` (`store_identity`): simulating and writing a million
payments takes longer than the pipeline, and neither is a pipeline stage.
"""

import argparse
import dataclasses
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
from dagster import AssetsDefinition, AssetSelection, DagsterInstance, materialize

from contracts.sql import ddl_statements
from model_registry import ModelRegistry
from pipelines import synthetic
from pipelines.assets.training import CHURN_MODEL_NAME, FRAUD_MODEL_NAME, RULES_PREFIX
from pipelines.assets.training.dataset import load_training_data
from pipelines.assets.training.metrics import fraud_metrics
from pipelines.definitions import build_definitions
from pipelines.settings import PipelinesSettings
from pipelines.synthetic import FRAUD_DEVICE_PREFIX, SyntheticConfig, synthetic_rows, write_store

STAGES = (
    ("ingest", AssetSelection.groups("ingest")),
    ("dbt", AssetSelection.groups("warehouse")),
)
FEAST_STAGES = (
    ("feast export + apply", AssetSelection.assets("feast_export", "feast_apply")),
    ("feast materialize", AssetSelection.assets("feast_materialize")),
)
FEAST_TRAINING_STAGE = ("training set through Feast (fraud)", AssetSelection.assets("feast_fraud_training_features"))
MODEL_STAGES = (
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
    parser.add_argument(
        "--fraud-rate",
        type=float,
        default=SyntheticConfig.fraud_rate,
        help="share of payment attempts that are fraud (default %(default)s)",
    )
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "pipelines-report")
    parser.add_argument("--dbt-project-dir", type=Path, default=Path("dbt"))
    parser.add_argument(
        "--reuse-store", action="store_true", help="keep the store under --out written for the same arguments"
    )
    parser.add_argument(
        "--feature-repo-command", help="how to start the Feast feature repo CLI: adds the Feast stages (README)"
    )
    args = parser.parse_args(argv)
    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    store_path, store_card = out / "store.db", out / "store.db.json"
    config = SyntheticConfig(payments=args.payments, days=args.days, seed=args.seed, fraud_rate=args.fraud_rate)
    identity = store_identity(config)
    reuse = (
        args.reuse_store
        and store_path.is_file()
        and store_card.is_file()
        and _card(store_card).get("identity") == identity
    )
    for stale in ("warehouse.duckdb", *(() if reuse else ("store.db", "store.db.json"))):
        (out / stale).unlink(missing_ok=True)
    feature_repo_root = out / "feature-repo"
    if args.feature_repo_command:
        shutil.rmtree(feature_repo_root, ignore_errors=True)
    os.environ.setdefault("DAGSTER_HOME", str(out / "dagster"))
    Path(os.environ["DAGSTER_HOME"]).mkdir(parents=True, exist_ok=True)
    (Path(os.environ["DAGSTER_HOME"]) / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")

    timings: dict[str, float] = {}
    settings = PipelinesSettings(
        deployment="test",
        store_dsn=f"sqlite:///{store_path}",
        warehouse_path=out / "warehouse.duckdb",
        registry_root=out / f"registry-{int(time.time())}",
        dbt_project_dir=args.dbt_project_dir,
        dbt_target_dir=out / "dbt-target",
        feature_repo_command=args.feature_repo_command,
        feature_repo_root=feature_repo_root if args.feature_repo_command else None,
    )
    if reuse:
        counts = _card(store_card)
        print(f"reusing the store {store_path} ({counts.get('attempts')} attempts, {counts.get('events')} events)")
    else:
        started = time.perf_counter()
        rows = synthetic_rows(config)
        timings["simulate (not a pipeline stage)"] = time.perf_counter() - started
        started = time.perf_counter()
        write_store(settings.store_dsn, rows)
        timings["write store (not a pipeline stage)"] = time.perf_counter() - started
        counts = {"identity": identity, "attempts": len(rows.payments), "events": len(rows.payment_events)}
        store_card.write_text(json.dumps(counts, indent=1))
        del rows
    defs = build_definitions(settings)
    assets = [a for a in defs.assets or [] if isinstance(a, AssetsDefinition)]
    results: dict[str, Any] = {}
    # One persistent instance: a stage reads the outputs the stage before it stored.
    instance = DagsterInstance.get()
    stages = [*STAGES, *(FEAST_STAGES if settings.feast_enabled else ()), *MODEL_STAGES]
    if settings.feast_enabled:
        stages.insert(stages.index(MODEL_STAGES[0]) + 1, FEAST_TRAINING_STAGE)
    for name, selection in stages:
        print(f"{time.strftime('%H:%M:%S')} stage {name} ...", flush=True)
        started = time.perf_counter()
        result = materialize(assets, selection=selection, resources=dict(defs.resources or {}), instance=instance)
        timings[name] = time.perf_counter() - started
        print(f"{time.strftime('%H:%M:%S')} stage {name}: {timings[name]:.1f} s", flush=True)
        for event in result.get_asset_materialization_events():
            results[event.materialization.asset_key.to_user_string()] = {
                key: value.value for key, value in event.materialization.metadata.items() if key != "pr_curve"
            }
    pipeline_seconds = sum(v for k, v in timings.items() if "not a pipeline stage" not in k)
    print(f"payments simulated: {counts.get('attempts')} attempts ({counts.get('events')} events)")
    for name, seconds in timings.items():
        print(f"{name:40s} {seconds:8.1f} s")
    print(f"{'pipeline total':40s} {pipeline_seconds:8.1f} s")
    _print_dbt_nodes(out / "dbt-target" / "run_results.json")
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
    rules_recall = results.get(f"{FRAUD_MODEL_NAME}_model_evaluation", {}).get(f"{RULES_PREFIX}recall_at_1pct_fpr")
    if rules_recall is not None:
        ceiling, fraud, unlabelled = truth_knowing_recall(settings.warehouse_path)
        print(
            f"fraud ceiling: the simulator's fraud flag ranked first (random order inside) reaches recall at 1 % FPR "
            f"{ceiling:.4f} on the holdout ({ceiling / rules_recall:.2f}x the rules'): {unlabelled} of its "
            f"{fraud} fraud payments were never charged back and are labelled 0"
        )
    print(f"PR-curve PNGs: {settings.warehouse_path.parent / 'reports'}")
    return 0


def store_identity(config: SyntheticConfig) -> dict[str, Any]:
    """What a simulated store depends on: every field of its config, and the SHA-256 of the
    generator's source (`pipelines/synthetic.py`) and of the store DDL it was created with."""
    return {
        "config": json.loads(json.dumps(dataclasses.asdict(config), default=str)),
        "synthetic_sha256": hashlib.sha256(Path(synthetic.__file__).read_bytes()).hexdigest(),
        "store_ddl_sha256": hashlib.sha256("\n;\n".join(ddl_statements("store")).encode()).hexdigest(),
    }


def _card(path: Path) -> dict[str, Any]:
    """What a reusable store was written for (`identity`) and holds (`attempts`, `events`); a
    card of an older format (no identity) never matches."""
    card = json.loads(path.read_text())
    return card if isinstance(card, dict) else {}


def truth_knowing_recall(warehouse_path: Path, orders: int = 5) -> tuple[float, int, int]:
    """The most any fraud scorer reaches at 1 % FPR on the holdout with these labels: the simulator's
    own fraud flag (a `FRAUD_DEVICE_PREFIX` device) ranked first, random order inside (mean over
    `orders` seeded orders). Returns it, the holdout's fraud payments and how many are labelled 0."""
    with duckdb.connect(str(warehouse_path), read_only=True) as connection:
        holdout_from = load_training_data(connection).holdout.times.min()
        rows = connection.execute(
            """select t.label, bool_or(starts_with(e.device_id, ?)) as fraud
            from ml.fraud_training_set t join bronze_payment_events e using (payment_id)
            where t.feature_time is not null and t.payment_time >= ?
            group by t.payment_id, t.label""",
            [FRAUD_DEVICE_PREFIX, holdout_from.astype(datetime)],
        ).fetchnumpy()
    labels = np.asarray(rows["label"], dtype=np.float64)
    fraud = np.asarray(rows["fraud"], dtype=np.float64)
    rng = np.random.default_rng(0)
    recalls = [
        fraud_metrics(labels, (fraud + 0.5 * rng.random(len(labels))) / 1.5)["recall_at_1pct_fpr"]
        for _ in range(orders)
    ]
    return float(np.mean(recalls)), int(fraud.sum()), int(((fraud == 1) & (labels == 0)).sum())


def _print_dbt_nodes(run_results: Path, top: int = 8) -> None:
    """dbt's own account of the `dbt build` step: its wall time, models against tests, the slowest nodes."""
    if not run_results.is_file():
        return
    results = json.loads(run_results.read_text())
    nodes = results.get("results", [])
    by_kind: dict[str, float] = {}
    for node in nodes:
        kind = str(node["unique_id"]).split(".", 1)[0]
        by_kind[kind] = by_kind.get(kind, 0.0) + float(node["execution_time"])
    print(
        f"dbt: {float(results.get('elapsed_time', 0.0)):.1f} s wall for {len(nodes)} nodes; summed per kind: "
        + ", ".join(f"{kind} {seconds:.1f} s" for kind, seconds in sorted(by_kind.items()))
    )
    for node in sorted(nodes, key=lambda n: -float(n["execution_time"]))[:top]:
        print(f"  {float(node['execution_time']):7.1f} s  {node['unique_id']}")


if __name__ == "__main__":
    sys.exit(main())
