"""Between the waves: a labelled history, the pipelines, the features, and the promoted model.

The payments store gets a synthetic history before the first wave (labels mature only after 60
days, so the traffic of one run alone could never train a model). After the first wave settles,
the pipelines pex materializes every asset as an external process (ingest, dbt, training set,
training, evaluation against the champion, promotion into the registry inference watches), with
the Dagster UI served from the same pex and `DAGSTER_HOME` while the demo runs. The warehouse's
feature tables then go to the Feast offline store and are materialized into the online store the
feature server reads, and the demo waits until inference serves the promoted champion.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from demo.platform import Platform
from demo.processes import ServiceProcess, http_text
from demo.report import ModelSummary
from demo.watchdog import PID_DIR

FRAUD_MODEL = "fraud"
"""The registry name of the fraud model (pipelines' `FRAUD_MODEL_NAME`, inference's slot)."""
FEATURE_TABLES = ("fraud_features", "churn_features")
_EXPORTED = "rows."
"""The feature repo's `export` prints `rows.<table>: <count>` per table."""
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))
_WORKSPACE_QUERY = "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus locationOrLoadError { __typename } } } } }"


@dataclass(frozen=True)
class History:
    """The synthetic labelled history written into the payments store before the first wave."""

    payments: int = 20_000
    """Enough for the fraud model to beat rules-v1 whatever the seed: at 4,000 payments the
    holdout has ~15 positives and the comparison is a coin toss (seed 1 lost, 0.857 vs 0.863
    PR-AUC, once training labelled only succeeded payments); at 20,000 the model was promoted on
    each of the five seeds tried (services/dagster README)."""
    days: int = 180
    end: str = "2025-01-06T00:00:00Z"
    """Where the history ends: the simulator's first day by default, so the waves come after it."""
    seed: int = 1

    def arguments(self, store_dsn: str) -> list[str]:
        return [
            "--store-dsn", store_dsn, "--payments", str(self.payments),
            "--end", self.end, "--days", str(self.days), "--seed", str(self.seed),
        ]  # fmt: skip


class Pipelines:
    """The pipelines of one run: their environment, the Dagster UI, and each step."""

    def __init__(self, platform: Platform, dbt_project: Path) -> None:
        self.platform = platform
        self.dbt_project = dbt_project.resolve()
        run_dir = platform.run_dir
        self.dagster_home = run_dir / "dagster"
        self.warehouse = run_dir / "warehouse" / "warehouse.duckdb"
        self.reports = self.warehouse.parent / "reports"

    @property
    def store_dsn(self) -> str:
        return f"sqlite:///{self.platform.store_path}"

    def env(self) -> dict[str, str]:
        return self.platform.env_for(
            DAGSTER_HOME=str(self.dagster_home),
            PIPELINES_STORE_DSN=self.store_dsn,
            PIPELINES_WAREHOUSE_PATH=str(self.warehouse),
            PIPELINES_REGISTRY_ROOT=str(self.platform.registry_path),
            PIPELINES_DBT_PROJECT_DIR=str(self.dbt_project),
            PIPELINES_DBT_TARGET_DIR=str(self.platform.run_dir / "dbt-target"),
            # `test` is `local` plus the evaluation's PR-curve PNG kept beside the warehouse (the
            # report embeds it).
            PIPELINES_DEPLOYMENT="test",
            DO_NOT_TRACK="1",
        )

    # -- steps ---------------------------------------------------------------------------------
    def seed_history(self, history: History) -> None:
        """`seed-history` writes the labelled history into the payments store (idempotent)."""
        self.platform.store_path.parent.mkdir(parents=True, exist_ok=True)
        arguments = history.arguments(self.store_dsn)
        self.platform.one_shot("seed-history", [*self.platform.pex("seed-history"), *arguments], self.env())

    def start_ui(self) -> ServiceProcess:
        """`dagster-webserver` from the pipelines pex (not waited for: it loads the code location,
        dbt manifest included, while the first wave runs); ready once that location is loaded."""
        self.dagster_home.mkdir(parents=True, exist_ok=True)
        # The warehouse pool as in infra/docker/dagster/dagster.yaml: one warehouse run at a time.
        (self.dagster_home / "dagster.yaml").write_text(
            "telemetry:\n  enabled: false\nconcurrency:\n  pools:\n    default_limit: 1\n    granularity: run\n"
        )
        self.warehouse.parent.mkdir(parents=True, exist_ok=True)
        url = self.platform.url("dagster")
        service = ServiceProcess(
            "dagster",
            [
                *self.platform.pex("pipelines"),
                "-m",
                "pipelines.definitions",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.platform.ports["dagster"]),
            ],  # fmt: skip
            {**self.env(), "PEX_SCRIPT": "dagster-webserver"},
            self.platform.logs / "dagster.log",
            lambda: _location_loaded(url),
            links={"UI": url},
        )
        self.platform.services[service.name] = service
        service.start(self.platform.run_dir / PID_DIR)
        return service

    def materialize(self) -> float:
        """Every asset, in one run the UI shows; returns its wall time in seconds."""
        started = time.monotonic()
        # In one process: the code location's own executor is `in_process_executor` (DuckDB has
        # one writing process; a subprocess per step would also cost seconds each here).
        command = [*self.platform.pex("pipelines"), "asset", "materialize", "-m", "pipelines.definitions"]
        self.platform.one_shot("pipelines", [*command, "--select", "*"], self.env())
        return time.monotonic() - started

    def features(self) -> dict[str, int]:
        """The warehouse's feature tables to Feast's offline store, then into the online store."""
        env = self.platform.feast_env(FEATURE_REPO_WAREHOUSE_PATH=str(self.warehouse))
        self.platform.one_shot("feast-export", [*self.platform.pex("feature-repo"), "export"], env)
        # All of it: the history is older than any default window (its TTL is forever).
        materialize = ["materialize", "--start", "2000-01-01T00:00:00+00:00"]
        self.platform.one_shot("feast-materialize", [*self.platform.pex("feature-repo"), *materialize], env)
        counts = {}
        for line in (self.platform.logs / "feast-export.log").read_text().splitlines():
            key, _, count = line.partition(": ")
            name = key.removeprefix(_EXPORTED)
            if key.startswith(_EXPORTED) and name in FEATURE_TABLES:
                counts[name] = int(count)
        return counts

    def champion(self) -> str | None:
        """The registry's champion version of the fraud model (its pointer file)."""
        pointer = self.platform.registry_path / FRAUD_MODEL / "champion.json"
        if not pointer.exists():
            return None
        version = json.loads(pointer.read_text()).get("version")
        return str(version) if version else None

    def card_metrics(self, version: str) -> dict[str, float]:
        """Metrics on the champion's card (holdout and, when recorded, the rules baseline's)."""
        card = self.platform.registry_path / FRAUD_MODEL / version / "card.json"
        try:
            metrics = json.loads(card.read_text()).get("metrics") or {}
        except (OSError, ValueError):
            return {}
        return {str(k): float(v) for k, v in metrics.items() if isinstance(v, int | float)}

    def pr_curve(self) -> Path | None:
        """The newest PR-curve PNG the evaluation wrote."""
        pictures = sorted(self.reports.glob("*.png"), key=lambda path: path.stat().st_mtime)
        return pictures[-1] if pictures else None

    def wait_served(self, version: str, timeout: float) -> float:
        """Seconds until inference's `GET /v1/models` lists `version` as the fraud champion."""
        started = time.monotonic()
        url = f"{self.platform.url('inference')}/v1/models"
        while True:
            if _serves(http_text(url), version):
                return time.monotonic() - started
            if time.monotonic() - started > timeout:
                raise RuntimeError(f"inference does not serve {FRAUD_MODEL} {version} after {timeout:.0f} s: {url}")
            time.sleep(0.5)

    def summary(self, history: History, seconds: float, features: dict[str, int]) -> ModelSummary:
        champion = self.champion()
        return ModelSummary(
            champion_version=champion,
            card_metrics=self.card_metrics(champion) if champion else {},
            history_payments=history.payments,
            pipeline_seconds=seconds,
            feature_rows=features,
            pr_curve_png=self.pr_curve(),
        )


def _serves(text: str, version: str) -> bool:
    models: list[dict[str, Any]] = json.loads(text)
    return any(m.get("champion") and m.get("version") == version for m in models)


def _location_loaded(url: str) -> bool:
    """The webserver answers GraphQL and its code location (the pipelines) is loaded."""
    request = urllib.request.Request(  # noqa: S310 - our own loopback http:// address
        f"{url}/graphql",
        data=json.dumps({"query": _WORKSPACE_QUERY}).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with _NO_PROXY.open(request, timeout=5) as response:
            body = json.loads(response.read())
    except (OSError, urllib.error.URLError, ValueError):
        return False
    entries = (((body.get("data") or {}).get("workspaceOrError") or {}).get("locationEntries")) or []
    return any(
        entry.get("loadStatus") == "LOADED"
        and (entry.get("locationOrLoadError") or {}).get("__typename") == "RepositoryLocation"
        for entry in entries
    )
