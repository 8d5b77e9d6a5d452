"""`python -m feature_repo <command>`: the feature repo's life cycle.

| command | what it does |
|---|---|
| `export` | copy the dbt tables `fraud_features` and `churn_features` from `FEATURE_REPO_WAREHOUSE_PATH` to parquet under the data dir (timestamps as UTC) |
| `apply` | write `feature_store.yaml`, register entities, views and services, delete views no longer defined |
| `materialize [--start ISO] [--end ISO]` | load the offline rows into the online store (default: everything up to now) |
| `training-set ENTITIES OUT [--service fraud_v1]` | point-in-time features for an entity parquet file (`customer_id`, `card_fingerprint`, `merchant_id`, `event_timestamp`) |
| `serve` | the HTTP feature server on `FEATURE_REPO_HOST:FEATURE_REPO_PORT` |

Started by Dagster Pipes (the pipelines' `features` assets, `DAGSTER_PIPES_CONTEXT` set), `export`,
`apply`, `materialize` and `training-set` report what they did as the asset's materialization metadata, and their
log lines go to Dagster too; started by hand, they only print.
"""

import argparse
import logging
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import duckdb
import pandas as pd  # type: ignore[import-untyped]
from dagster_pipes import PipesContext, PipesEnvVarParamsLoader, open_dagster_pipes

from feature_repo.definitions import CHURN_TABLE, FRAUD_TABLE, build_repo, table_path
from feature_repo.settings import ConfigurationError, FeatureRepoSettings, load_settings
from feature_repo.store import open_store, write_config

log = logging.getLogger("feature_repo")


def export(settings: FeatureRepoSettings) -> dict[str, int]:
    """Copy the dbt feature tables to parquet; return the rows per table."""
    if settings.warehouse_path is None or not settings.warehouse_path.is_file():
        raise ConfigurationError("FEATURE_REPO_WAREHOUSE_PATH must name the dbt DuckDB file to export from")
    settings.offline_dir.mkdir(parents=True, exist_ok=True)
    counts = {}
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as connection:
        connection.execute("set TimeZone = 'UTC'")
        for table in (FRAUD_TABLE, CHURN_TABLE):
            target = table_path(settings, table)
            # The warehouse keeps naive UTC timestamps; parquet gets them marked as UTC.
            connection.execute(
                f"copy (select * replace (cast(event_timestamp as timestamptz) as event_timestamp) from {table}) "  # noqa: S608
                f"to '{target}' (format parquet)"
            )
            [(count,)] = connection.execute(f"select count(*) from '{target}'").fetchall()  # noqa: S608
            counts[table] = int(count)
    return counts


def apply(settings: FeatureRepoSettings) -> dict[str, int]:
    """Register the repo, and delete the views it no longer defines (with their online tables,
    e.g. `card_fraud` and the `*_velocity_fresh` views of earlier releases); return how many
    objects of each kind."""
    store = open_store(settings)
    repo = build_repo(settings)
    stale = [view for view in store.list_feature_views() if view.name not in repo.views]
    store.apply(repo.objects(), objects_to_delete=stale, partial=not stale)  # type: ignore[arg-type]
    return {
        "entities": len(repo.entities),
        "feature_views": len(repo.views),
        "feature_services": len(repo.services),
        "feature_views_deleted": len(stale),
    }


def materialize(settings: FeatureRepoSettings, start: datetime | None, end: datetime | None) -> dict[str, str]:
    """Load the offline rows into the online store; return the window (start empty: incremental)."""
    store = open_store(settings)
    end = end or datetime.now(UTC)
    if start is None:
        store.materialize_incremental(end_date=end)
    else:
        store.materialize(start_date=start, end_date=end)
    return {"start": start.isoformat() if start else "incremental", "end": end.isoformat()}


@contextmanager
def _dagster_pipes() -> Iterator[PipesContext | None]:
    """The Pipes context when Dagster started this process, else None."""
    if not PipesEnvVarParamsLoader().is_dagster_pipes_process():  # type: ignore[no-untyped-call]
        yield None
        return
    with open_dagster_pipes() as pipes:
        yield pipes


def _report(pipes: PipesContext | None, command: str, metadata: dict[str, Any]) -> None:
    for key, value in metadata.items():
        print(f"{key}: {value}")
    if pipes is not None:
        pipes.log.info(f"feature repo {command}: {metadata}")
        pipes.report_asset_materialization(metadata={**metadata, "feature_repo_command": command})


def training_set(settings: FeatureRepoSettings, entities: pd.DataFrame, service: str) -> pd.DataFrame:
    store = open_store(settings)
    job = store.get_historical_features(entity_df=entities, features=store.get_feature_service(service))
    frame: pd.DataFrame = job.to_df()
    return frame


def serve(settings: FeatureRepoSettings) -> None:
    write_config(settings)
    from feast.cli.cli import cli  # (the server's CLI only when serving)

    cli.main(
        [
            "--chdir",
            str(settings.root),
            "serve",
            "--host",
            settings.host,
            "--port",
            str(settings.port),
            "--no-access-log",
            "--workers",
            "1",
        ],
        standalone_mode=True,
    )


def _utc(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="feature_repo", description="The Feast feature repo's life cycle.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("export", help="copy the dbt feature tables to parquet")
    commands.add_parser("apply", help="register the repo's definitions")
    materializing = commands.add_parser("materialize", help="load offline rows into the online store")
    materializing.add_argument("--start", type=_utc)
    materializing.add_argument("--end", type=_utc)
    training = commands.add_parser("training-set", help="point-in-time features for an entity parquet file")
    training.add_argument("entities")
    training.add_argument("out")
    training.add_argument("--service", default="fraud_v1")
    commands.add_parser("serve", help="run the HTTP feature server")
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except ConfigurationError as error:
        print(error, file=sys.stderr)
        return 2
    logging.basicConfig(level=settings.log_level)
    try:
        if args.command in ("export", "apply", "materialize", "training-set"):
            with _dagster_pipes() as pipes:
                if args.command == "export":
                    _report(pipes, "export", {f"rows.{table}": count for table, count in export(settings).items()})
                elif args.command == "apply":
                    _report(pipes, "apply", dict(apply(settings)))
                elif args.command == "materialize":
                    _report(pipes, "materialize", dict(materialize(settings, args.start, args.end)))
                else:
                    frame = training_set(settings, pd.read_parquet(args.entities), args.service)
                    frame.to_parquet(args.out)
                    _report(pipes, "training-set", {"rows": len(frame), "service": args.service, "out": args.out})
        else:
            serve(settings)
    except ConfigurationError as error:
        print(error, file=sys.stderr)
        return 2
    return 0
