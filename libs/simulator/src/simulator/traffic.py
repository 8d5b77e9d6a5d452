"""From the simulated event stream to webhook requests, genuine and deliberately faulty.

Faulty requests are extra copies of real events, never replacements: the genuine stream stays
complete, so downstream counts match the ground truth whatever the fault shares. A copy gets its own
provider ids (a separate id namespace), so that a receiver that wrongly accepted it could not
mistake it for, or de-duplicate it against, the genuine event. The number of copies is exact
(`share / (1 - total share)` of the genuine requests), so the shares in the output match the
configuration.

Duplicates are the exception on purpose: a `duplicate` copy is the genuine event again (same
ids, same payload), delivered 30 s to an hour after the original and signed when it is delivered,
as a provider re-delivers an event it already delivered. It goes out in delivery order, so a
receiver sees it after the original, and a correct receiver accepts it (dedupe drops it later).
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
import random
from collections.abc import Iterator

from simulator.engine import Simulation
from simulator.ids import IdFactory
from simulator.providers import ADAPTERS
from simulator.providers.base import BAD_SIGNATURE_FAULTS, MALFORMED_FAULTS, Fault, Rendered, WebhookRequest
from simulator.secrets import WebhookSecrets

DUPLICATE_DELAY_SECONDS = (30, 3600)
"""How long after the original a re-delivery comes (uniform, whole seconds)."""


def fault_plan(simulation: Simulation) -> dict[int, list[str]]:
    """Event seq -> kinds (`"signature"` / `"payload"` / `"duplicate"`) of the extra copies it gets."""
    config = simulation.config
    genuine = len(simulation.events)
    bad, malformed, duplicate = config.invalid_signature_share, config.malformed_share, config.duplicate_share
    if genuine == 0 or bad + malformed + duplicate == 0:
        return {}
    rng = random.Random(f"faults:{config.seed}")
    plan: dict[int, list[str]] = {}
    for kind, share in (("signature", bad), ("payload", malformed), ("duplicate", duplicate)):
        count = round(genuine * share / (1 - bad - malformed - duplicate))
        for seq in sorted(rng.choices(range(genuine), k=count)):
            plan.setdefault(seq, []).append(kind)
    return plan


def render_all(simulation: Simulation, secrets: WebhookSecrets) -> Iterator[Rendered]:
    """Every request of the run, in delivery order, before delivery-time signing."""
    seed = simulation.config.seed
    ids = IdFactory(f"provider:{seed}")
    ghost_ids = IdFactory(f"fault:{seed}")
    rng = random.Random(f"fault-kinds:{seed}")
    delays = random.Random(f"duplicates:{seed}")
    plan = fault_plan(simulation)
    redeliveries: list[tuple[int, int, Rendered]] = []  # heap of (delivered_at, order, copy)
    order = itertools.count()
    for event in simulation.events:
        adapter = ADAPTERS[event.payment.provider]
        genuine = adapter.render(event, ids, secrets)
        while redeliveries and redeliveries[0][0] <= genuine.delivered_at:
            yield heapq.heappop(redeliveries)[2]
        yield genuine
        kinds = plan.get(event.seq, [])
        for _ in range(kinds.count("duplicate")):
            later = genuine.delivered_at + delays.randint(*DUPLICATE_DELAY_SECONDS)
            again = dataclasses.replace(genuine, fault=Fault.DUPLICATE, delivered_at=later)
            heapq.heappush(redeliveries, (later, next(order), again))
        for copy, kind in enumerate(k for k in kinds if k != "duplicate"):
            pool = BAD_SIGNATURE_FAULTS if kind == "signature" else MALFORMED_FAULTS
            fault = rng.choice([f for f in pool if f in adapter.faults])
            ghost = IdFactory(f"fault:{seed}:{copy}") if copy else ghost_ids
            yield adapter.render(event, ghost, secrets, fault)
    while redeliveries:
        yield heapq.heappop(redeliveries)[2]


def finish(rendered: Rendered, secrets: WebhookSecrets, signed_at: int | None = None) -> WebhookRequest:
    """The final request; signed at the simulated delivery time unless `signed_at` is given."""
    return ADAPTERS[rendered.provider].finish(
        rendered, secrets, rendered.delivered_at if signed_at is None else signed_at
    )


def requests(simulation: Simulation, secrets: WebhookSecrets) -> Iterator[WebhookRequest]:
    """Every request, signed at simulated time: byte-identical for the same seed."""
    for rendered in render_all(simulation, secrets):
        yield finish(rendered, secrets)
