"""From the simulated event stream to webhook requests, genuine and deliberately faulty.

Faulty requests are extra copies of real events, never replacements: the genuine stream stays
complete, so downstream counts match the ground truth whatever the fault shares. A copy gets its own
provider ids (a separate id namespace), so that a receiver that wrongly accepted it could not
mistake it for, or de-duplicate it against, the genuine event. The number of copies is exact
(`share / (1 - total share)` of the genuine requests), so the shares in the output match the
configuration.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from simulator.engine import Simulation
from simulator.ids import IdFactory
from simulator.providers import ADAPTERS
from simulator.providers.base import BAD_SIGNATURE_FAULTS, MALFORMED_FAULTS, Rendered, WebhookRequest
from simulator.secrets import WebhookSecrets


def fault_plan(simulation: Simulation) -> dict[int, list[str]]:
    """Event seq -> fault kinds (`"signature"` / `"payload"`) of the extra copies to send after it."""
    config = simulation.config
    genuine = len(simulation.events)
    bad, malformed = config.invalid_signature_share, config.malformed_share
    if genuine == 0 or bad + malformed == 0:
        return {}
    rng = random.Random(f"faults:{config.seed}")
    plan: dict[int, list[str]] = {}
    for kind, share in (("signature", bad), ("payload", malformed)):
        count = round(genuine * share / (1 - bad - malformed))
        for seq in sorted(rng.choices(range(genuine), k=count)):
            plan.setdefault(seq, []).append(kind)
    return plan


def render_all(simulation: Simulation, secrets: WebhookSecrets) -> Iterator[Rendered]:
    """Every request of the run, in delivery order, before delivery-time signing."""
    seed = simulation.config.seed
    ids = IdFactory(f"provider:{seed}")
    ghost_ids = IdFactory(f"fault:{seed}")
    rng = random.Random(f"fault-kinds:{seed}")
    plan = fault_plan(simulation)
    for event in simulation.events:
        adapter = ADAPTERS[event.payment.provider]
        yield adapter.render(event, ids, secrets)
        for copy, kind in enumerate(plan.get(event.seq, ())):
            pool = BAD_SIGNATURE_FAULTS if kind == "signature" else MALFORMED_FAULTS
            fault = rng.choice([f for f in pool if f in adapter.faults])
            ghost = IdFactory(f"fault:{seed}:{copy}") if copy else ghost_ids
            yield adapter.render(event, ghost, secrets, fault)


def finish(rendered: Rendered, secrets: WebhookSecrets, signed_at: int | None = None) -> WebhookRequest:
    """The final request; signed at the simulated delivery time unless `signed_at` is given."""
    return ADAPTERS[rendered.provider].finish(
        rendered, secrets, rendered.delivered_at if signed_at is None else signed_at
    )


def requests(simulation: Simulation, secrets: WebhookSecrets) -> Iterator[WebhookRequest]:
    """Every request, signed at simulated time: byte-identical for the same seed."""
    for rendered in render_all(simulation, secrets):
        yield finish(rendered, secrets)
