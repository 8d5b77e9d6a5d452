"""The orchestrator's configuration: `ORCHESTRATOR_*` environment variables, validated once.

Every field's docstring is its description; the README's configuration table is checked against
this class by `tests/test_readme.py`. The worker and the bridge read the same class.
"""

import logging
import sys
from functools import cache
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

import service_config
from orchestrator import TASK_QUEUE
from orchestrator.messages import DecisionPolicy
from service_config import ConfigurationError, LogLevel

__all__ = [
    "ConfigurationError",
    "OrchestratorSettings",
    "decision_policy",
    "get_settings",
    "load_settings",
    "settings_for_process",
]

ENV_PREFIX = "ORCHESTRATOR_"


class OrchestratorSettings(BaseSettings):
    """Configuration read from `ORCHESTRATOR_*` variables (field `x` is `ORCHESTRATOR_X`)."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        case_sensitive=False,
        frozen=True,
        extra="ignore",
        use_attribute_docstrings=True,
    )

    # -- Temporal -----------------------------------------------------------------------------
    temporal_address: str = "127.0.0.1:7233"
    """host:port of the Temporal frontend."""
    temporal_namespace: str = "default"
    """Temporal namespace of the workflows."""
    task_queue: str = TASK_QUEUE
    """Task queue the worker polls and the bridge starts workflows on."""

    # -- decision -----------------------------------------------------------------------------
    review_threshold: Annotated[float, Field(ge=0, le=1)] = 0.5
    """Fraud score from which a payment goes to human review."""
    decline_threshold: Annotated[float, Field(ge=0, le=1)] = 0.85
    """Fraud score from which a payment is declined outright."""
    review_timeout_seconds: Annotated[float, Field(gt=0)] = 24 * 3600.0
    """How long a REVIEW waits for an analyst's verdict (`submit_review` update) before it is declined."""
    retry_delay_scale: Annotated[float, Field(gt=0, le=1)] = 1.0
    """Factor on inference's retry delay before the retry-due event (1 in production; tests shorten it)."""
    history_event_limit: Annotated[int, Field(ge=100, le=50_000)] = 2_000
    """History length past which a payment's workflow continues as new (state carried over)."""

    # -- stores and services ------------------------------------------------------------------
    store_dsn: str = "sqlite:///.state/orchestrator/payments.db"
    """SQLAlchemy URL of the payments store: a SQLite file, or `postgresql+psycopg://...`."""
    inference_url: str = "http://127.0.0.1:8001"
    """Base URL of the inference service."""
    inference_timeout_seconds: Annotated[float, Field(gt=0, le=60)] = 5.0
    """Deadline of one inference call in all; past it the activity fails and Temporal retries it (its start-to-close timeout is this plus 2 s)."""

    # -- Kafka --------------------------------------------------------------------------------
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    """Kafka brokers (comma-separated host:port)."""
    kafka_group_id: str = "orchestrator-bridge"
    """Consumer group of the bridge."""
    normalized_topic: str | None = None
    """Override of the input topic (default: contracts' `payments.normalized.v1`); tests use their own."""
    dlq_topic: str | None = None
    """Override of the dead-letter topic (default: contracts' `payments.dlq.v1`)."""
    decisions_topic: str | None = None
    """Override of the decisions topic (default: contracts' `payments.decisions.v1`)."""
    retries_topic: str | None = None
    """Override of the retry-due topic (default: contracts' `payments.retries.v1`)."""
    bridge_commit_interval_seconds: Annotated[float, Field(ge=0, le=300)] = 0.0
    """How long the bridge may hold offsets Temporal accepted before committing them in one go (0: commit every batch at once). Longer means fewer commits under load and more (harmless) redelivery after a crash."""
    bridge_max_batch: Annotated[int, Field(ge=1, le=10_000)] = 500
    """Most messages the bridge fetches and hands to Temporal per batch."""

    # -- process ------------------------------------------------------------------------------
    log_level: LogLevel = "INFO"
    """Python logging level: CRITICAL, ERROR, WARNING, INFO or DEBUG (any case)."""
    max_concurrent_activities: Annotated[int, Field(ge=1, le=10_000)] = 200
    """Activities one worker runs at once."""
    max_concurrent_workflow_tasks: Annotated[int, Field(ge=2, le=1_000)] = 16
    """Workflow tasks one worker runs at once. Kept low: on a starved CPU, a hundred new workflows
    at once each outlive Temporal's 10 s workflow-task timeout and are retried, over and over."""
    max_concurrent_local_activities: Annotated[int, Field(ge=1, le=10_000)] = 200
    """Local activities (see `ORCHESTRATOR_LOCAL_ACTIVITIES`) one worker runs at once."""
    workflow_task_pollers: Annotated[int, Field(ge=2, le=100)] = 5
    """Concurrent long polls of the task queue for workflow tasks (split between the sticky and the shared queue)."""
    activity_task_pollers: Annotated[int, Field(ge=1, le=100)] = 5
    """Concurrent long polls of the task queue for activity tasks."""
    max_cached_workflows: Annotated[int, Field(ge=0, le=100_000)] = 1_000
    """Workflows a worker keeps in memory (sticky): a task of one that was evicted replays its whole history first."""
    local_activities: bool = True
    """New payment workflows run their activities as local activities (in the worker that runs the workflow task: no round trip through Temporal's task queue per activity); one still failing after 5 attempts goes on as a regular activity, retried durably. Carried in the workflow's policy: workflows keep what they started with."""
    bridge_concurrency: Annotated[int, Field(ge=1, le=1_000)] = 64
    """Signal-with-starts the bridge has in flight at once (one payment's events always go in order)."""
    health_host: str = "127.0.0.1"
    """Interface of `/healthz`, `/readyz` and `/metrics` (the container image sets 0.0.0.0)."""
    health_port: Annotated[int, Field(ge=1, le=65535)] = 9100
    """TCP port of `/healthz`, `/readyz` and `/metrics` (a worker and a bridge on one host need two)."""

    @field_validator("inference_url")
    @classmethod
    def _http_base_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
            raise ValueError("must be an http(s) base URL such as http://inference:8001")
        return value.rstrip("/")

    @field_validator("store_dsn")
    @classmethod
    def _supported_store(cls, value: str) -> str:
        if not (value.startswith("sqlite:///") or value.startswith("postgresql+psycopg://")):
            raise ValueError("must be sqlite:///<file> or postgresql+psycopg://<user>@<host>/<db>")
        return value

    @model_validator(mode="after")
    def _thresholds_in_order(self) -> "OrchestratorSettings":
        if self.review_threshold > self.decline_threshold:
            raise ValueError(f"{ENV_PREFIX}REVIEW_THRESHOLD must not be above {ENV_PREFIX}DECLINE_THRESHOLD")
        return self


def decision_policy(settings: OrchestratorSettings) -> DecisionPolicy:
    """The part of the settings a payment's workflow carries (recorded in its history)."""
    return DecisionPolicy(
        review_threshold=settings.review_threshold,
        decline_threshold=settings.decline_threshold,
        review_timeout_seconds=settings.review_timeout_seconds,
        retry_delay_scale=settings.retry_delay_scale,
        history_event_limit=settings.history_event_limit,
        inference_timeout_seconds=settings.inference_timeout_seconds,
        local_activities=settings.local_activities,
    )


def load_settings(**overrides: Any) -> OrchestratorSettings:
    """Read and validate the environment; raise `ConfigurationError` naming the bad variables."""
    return service_config.load_settings(OrchestratorSettings, "orchestrator", **overrides)


@cache
def get_settings() -> OrchestratorSettings:
    """The process-wide settings, read once."""
    return load_settings()


def settings_for_process() -> OrchestratorSettings:
    """The settings of a starting worker or bridge process, with logging set up from them.

    A bad setting exits 2 with the message naming the variable, before any connection is made."""
    try:
        settings = load_settings()
    except ConfigurationError as error:
        print(error, file=sys.stderr)
        raise SystemExit(2) from None
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    return settings
