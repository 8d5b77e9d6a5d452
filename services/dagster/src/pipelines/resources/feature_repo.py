"""The Feast feature repo, run as its own process: Feast does not share this code location's venv
(dagster-dbt's `sqlglotc` breaks Feast's DuckDB store), so the assets start the feature repo's own
commands (`export`, `apply`, `materialize`) through Dagster Pipes."""

import os
import shlex
from collections.abc import Mapping

from dagster import ConfigurableResource


class FeatureRepoCommands(ConfigurableResource):  # type: ignore[type-arg]
    command: str
    """How to start the feature repo CLI, split like a shell would: `python3.11 feature-repo.pex`."""
    root: str
    """`FEATURE_REPO_ROOT` of the child: its feature_store.yaml, registry, online store, parquet."""
    warehouse_path: str
    """`FEATURE_REPO_WAREHOUSE_PATH` of the child: the dbt DuckDB file `export` copies from."""

    def argv(self, *arguments: str) -> list[str]:
        return [*shlex.split(self.command), *arguments]

    def env(self) -> Mapping[str, str]:
        """The child's settings. Our own import path is blanked: the feature repo brings its own
        dependencies, and this process's (Dagster, dbt) must not shadow them."""
        return {
            "FEATURE_REPO_ROOT": self.root,
            "FEATURE_REPO_WAREHOUSE_PATH": self.warehouse_path,
            "FEAST_USAGE": "False",
            "PYTHONPATH": "",
            "PEX_INHERIT_PATH": "false",
            **{name: "" for name in ("PEX_PATH", "PEX_EXTRA_SYS_PATH") if name in os.environ},
        }
