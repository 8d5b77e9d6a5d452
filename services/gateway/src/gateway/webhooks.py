"""The webhook use case: verify and decode (intake), publish and wait for the ack, count.

An authentic body that the provider's contract model refuses is published to the quarantine topic
instead (and answered 2xx only once that is acknowledged), for a later redrive.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

import structlog

from contracts.reference.providers import Provider
from contracts.schemas.quarantine import QuarantinedWebhook
from gateway.intake import Accepted, Delivery, Intake, Unfit
from gateway.metrics import Metrics
from gateway.publisher import Publisher

log = structlog.get_logger("gateway.webhooks")


class WebhookService:
    def __init__(self, intake: Intake, publisher: Publisher, metrics: Metrics, *, log_accepted: bool = False) -> None:
        self.intake = intake
        self.publisher = publisher
        self.metrics = metrics
        self.log_accepted = log_accepted
        """Log every accepted webhook (at DEBUG level only: thousands a second otherwise)."""
        self.clock: Callable[[], float] = time.time
        """Wall clock for signature timestamp checks: the seam tests use to step time forward."""

    async def receive(
        self, provider: Provider, body: bytes, headers: Mapping[str, str]
    ) -> Accepted | QuarantinedWebhook:
        """Verify, validate and publish; return only after Kafka acknowledged every envelope (or
        the quarantine record of an authentic body the contract refused).

        Raises a `GatewayError` for any refusal; nothing is published for a refused request.
        """
        result = self.intake.receive(provider, Delivery.at_now(body, headers, self.clock))
        if isinstance(result, Unfit):
            return await self._quarantine(result)
        accepted = result
        started = time.perf_counter()
        await self.publisher.publish(accepted.messages())
        elapsed = time.perf_counter() - started
        self.metrics.accepted(provider, len(accepted.envelopes), elapsed)
        if self.log_accepted:
            log.debug(
                "webhook_accepted",
                provider=provider.value,
                events=[envelope.provider_event_id for envelope in accepted.envelopes],
                key_ids=sorted({envelope.signature_key_id or "" for envelope in accepted.envelopes}),
                publish_ms=round(elapsed * 1000, 3),
            )
        return accepted

    async def _quarantine(self, unfit: Unfit) -> QuarantinedWebhook:
        record = unfit.record()
        await self.publisher.publish([unfit.message(record)])
        self.metrics.quarantined(unfit.provider)
        log.warning(
            "webhook_quarantined",
            provider=unfit.provider.value,
            quarantine_id=str(record.quarantine_id),
            reasons=[f"{reason.field}: {reason.code}" for reason in record.reasons],
        )
        return record
