"""Resources for every external part: the payments store, the DuckDB warehouse, the model registry."""

from pipelines.resources.registry import RegistryResource
from pipelines.resources.store import PaymentsStore, SqlPaymentsStore
from pipelines.resources.training import TrainingPolicy
from pipelines.resources.warehouse import Warehouse

__all__ = ["PaymentsStore", "RegistryResource", "SqlPaymentsStore", "TrainingPolicy", "Warehouse"]
