"""The model registry (`libs/model_registry`) that inference serves the champion from."""

from dagster import ConfigurableResource

from model_registry import ModelRegistry


class RegistryResource(ConfigurableResource):  # type: ignore[type-arg]
    root: str

    def registry(self) -> ModelRegistry:
        return ModelRegistry(self.root)
