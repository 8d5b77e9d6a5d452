"""Dead letters: what the normalizer could not map, with the reasons and the source position.

The source position is the handle for `redrive`: an excerpt is redacted and truncated, so it can
never be replayed. Envelopes carry no signature headers (the gateway never puts them there).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from uuid import NAMESPACE_OID, UUID, uuid5

from contracts.reference.providers import PROVIDERS, Provider
from contracts.schemas.dlq import DeadLetter, RejectReason, redact_excerpt
from contracts.schemas.normalized_event import SourcePosition

STAGE = "normalizer"


def worker_name(app_id: str, provider: Provider) -> str:
    """The `worker` a dead letter names: the app (consumer group) and the provider agent."""
    return f"{app_id}-{provider.value}"


def is_provider_worker(stage: object, worker: object, app_id: str) -> bool:
    """True for the stage and worker one of this app's provider agents writes on a dead letter (a
    normalizer of another app id, a test's or another deployment's sharing the topic, or another
    stage, is not ours to redrive). Takes raw values: `redrive` asks it of records that do not
    validate, too."""
    return stage == STAGE and worker in {worker_name(app_id, provider) for provider in PROVIDERS}


def written_by(letter: DeadLetter, app_id: str) -> bool:
    """True for a dead letter one of this app's provider agents wrote (`is_provider_worker`)."""
    return is_provider_worker(letter.stage, letter.worker, app_id)


def dlq_id_for(source: SourcePosition) -> UUID:
    """One id per source message: a message dead-lettered twice (after a crash) keeps its id."""
    return uuid5(NAMESPACE_OID, f"{STAGE}:{source.topic}:{source.partition}:{source.offset}")


def dead_letter(
    source: SourcePosition,
    key: bytes | None,
    value: bytes | None,
    reasons: Sequence[RejectReason],
    worker: str | None = None,
    failed_at: datetime | None = None,
) -> DeadLetter:
    return DeadLetter(
        dlq_id=dlq_id_for(source),
        stage=STAGE,
        source=source,
        key=key.decode("utf-8", errors="replace") if key is not None else None,
        reasons=tuple(reasons),
        payload_excerpt=redact_excerpt(value or b""),
        failed_at=failed_at or datetime.now(UTC),
        worker=worker,
    )
