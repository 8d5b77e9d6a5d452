"""The Temporal client both processes use: pydantic data converter, address from settings."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from orchestrator.settings import OrchestratorSettings


async def connect(settings: OrchestratorSettings) -> Client:
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=pydantic_data_converter,
    )
