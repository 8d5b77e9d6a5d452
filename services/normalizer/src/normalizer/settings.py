"""The normalizer's configuration: `NORMALIZER_*` environment variables, validated once at start."""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

import service_config
from service_config import ConfigurationError, LogLevel

__all__ = ["ConfigurationError", "NormalizerSettings", "get_settings", "load_settings"]

ENV_PREFIX = "NORMALIZER_"
DAY_SECONDS = 24 * 3600


class NormalizerSettings(BaseSettings):
    """Configuration read from `NORMALIZER_*` variables (field `x` is `NORMALIZER_X`)."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        case_sensitive=False,
        frozen=True,
        extra="ignore",
        # The docstring under each field is its description (README table, error messages).
        use_attribute_docstrings=True,
    )

    kafka_bootstrap_servers: Annotated[str, Field(min_length=1)]
    """Kafka brokers, `host:port[,host:port...]`. Required."""
    app_id: Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._-]+$")] = "normalizer"
    """Consumer group and prefix of the dedupe table's changelog topic: workers with one id share the work."""
    dedupe_window_seconds: Annotated[int, Field(ge=1, le=90 * DAY_SECONDS)] = 7 * DAY_SECONDS
    """How long a `provider_event_id` seen once is dropped when seen again (default 7 days, the
    webhook topics' retention)."""
    dedupe_expiry_interval_seconds: Annotated[float, Field(ge=0.1, le=86_400)] = 300.0
    """How often marks older than the window (plus one hour) are dropped from the dedupe table."""
    stripe_merchant_retention_seconds: Annotated[int, Field(ge=DAY_SECONDS, le=400 * DAY_SECONDS)] = 180 * DAY_SECONDS
    """How long the merchant of a Stripe payment is kept after its last event, for the refunds and
    disputes that do not name it (default 180 days: Stripe disputes come up to 120 days after
    the charge)."""
    web_host: str = "127.0.0.1"
    """Interface of the health, readiness and metrics server (the container image sets 0.0.0.0)."""
    web_port: Annotated[int, Field(ge=1, le=65535)] = 6066
    """TCP port of `/healthz`, `/readyz` and `/metrics`."""
    data_dir: str = "/tmp/normalizer"  # noqa: S108 (Faust's scratch folder; the state is in Kafka)
    """Faust's local folder. Tables live in memory and are rebuilt from their changelog topics."""
    replication_factor: Annotated[int, Field(ge=1, le=5)] = 1
    """Replication of the topics the normalizer creates (outputs, changelog) when they are missing."""
    session_timeout_seconds: Annotated[float, Field(ge=1, le=300)] = 30.0
    """Kafka consumer session timeout: how long a silent worker keeps its partitions."""
    heartbeat_interval_seconds: Annotated[float, Field(ge=0.1, le=60)] = 3.0
    """Kafka consumer heartbeat interval (well under the session timeout)."""
    rebalance_timeout_seconds: Annotated[float, Field(ge=1, le=300)] = 60.0
    """How long a group rebalance may take before late members are dropped."""
    commit_interval_seconds: Annotated[float, Field(gt=0, le=60)] = 1.0
    """How often processed offsets are committed (only ever those whose outputs were acknowledged)."""
    batch_size: Annotated[int, Field(ge=1, le=10_000)] = 500
    """Most messages an agent maps before it awaits the broker's acknowledgements of their outputs."""
    batch_seconds: Annotated[float, Field(gt=0, le=10)] = 0.05
    """Longest an agent waits to fill a batch."""
    velocity_enabled: bool = True
    """Compute the streaming velocity features (`features.velocity.v1`) from the normalized events."""
    velocity_lateness_seconds: Annotated[int, Field(ge=0, le=7 * DAY_SECONDS)] = 3600
    """How late (in event time, behind an entity's newest attempt) a payment may arrive and still
    find every attempt of its windows: attempts are kept this long beyond the longest window."""
    velocity_sweep_seconds: Annotated[float, Field(gt=0, le=DAY_SECONDS)] = 300.0
    """How often the entities whose attempts all fell out of their windows (plus the lateness) are
    dropped from the velocity table and its changelog."""
    velocity_future_tolerance_seconds: Annotated[int, Field(ge=0, le=365 * DAY_SECONDS)] = 300
    """How far ahead of the wall clock a payment event may be dated and still count in the velocity
    features: one dated later (a provider's clock, a bad year) is dead-lettered by the velocity
    fan-out (`occurred_at_in_future`; it is normalized and decided as usual), and no event moves
    its partition's sweep watermark past the wall clock plus this."""
    stall_seconds: Annotated[float, Field(ge=1, le=3600)] = 30.0
    """How often the watchdog looks for input partitions whose commit stopped moving (and seeks
    them back to their committed offset): a partition is stalled after one such interval."""
    log_level: LogLevel = "INFO"
    """Python logging level: CRITICAL, ERROR, WARNING, INFO or DEBUG, any case."""


def load_settings(**overrides: Any) -> NormalizerSettings:
    """Read and validate the environment; raise `ConfigurationError` naming the bad variables."""
    return service_config.load_settings(NormalizerSettings, "normalizer", **overrides)


@cache
def get_settings() -> NormalizerSettings:
    """The process-wide settings, read once."""
    return load_settings()
