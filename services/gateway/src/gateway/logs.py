"""The gateway's logging additions to `service_kit.logs`: provider signature headers are secret,
and aiokafka's reconnect storm during a broker outage is cut down to one line per interval."""

from __future__ import annotations

import aiokafka  # type: ignore[import-untyped]  # no py.typed
import service_kit
from litestar.plugins.structlog import StructlogPlugin

from gateway.settings import GatewaySettings

SIGNATURE_HEADERS: frozenset[str] = frozenset(
    {
        "stripe-signature",
        "x-square-hmacsha256-signature",
        "x-square-signature",
        "x-braintree-signature",
    }
)
SECRET_HEADERS: frozenset[str] = service_kit.SECRET_HEADERS | SIGNATURE_HEADERS
"""Lower-case header names whose values are replaced by `*****` in any request log."""


def quiet_repeated_kafka_logs() -> None:
    service_kit.quiet_repeated_logs(aiokafka.__name__)


def structlog_plugin(settings: GatewaySettings) -> StructlogPlugin:
    return service_kit.structlog_plugin(
        settings.log_level, access_log=settings.access_log, secret_headers=SIGNATURE_HEADERS
    )
