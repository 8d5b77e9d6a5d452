"""File mode: the run's signed requests, event stream and ground truth, written without any service.

Layout of the output folder:

    requests.jsonl            one HTTP request per line, in delivery order, signed at simulated time;
                              `fault` labels deliberate defects and re-deliveries (`duplicate`)
    events.parquet|.jsonl     the genuine event stream (no labels)
    ground_truth/payments.*   per attempt: is_fraud, fraud_pattern, refunds, disputes (evaluation only)
    ground_truth/customers.*  per account: churned, churned_at, taken over, fraudster-made
    manifest.json             configuration (with the fault and duplicate shares), counts by fault,
                              file list (no timings: the folder is reproducible)

Everything is a function of the configuration: the same seed writes byte-identical files.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from contracts.schemas.normalized_event import event_id_for
from simulator import __version__
from simulator.config import SimulationConfig
from simulator.engine import Simulation
from simulator.providers.base import Fault, WebhookRequest
from simulator.secrets import WebhookSecrets
from simulator.tables import EventTable, customer_labels, payment_labels, write_table
from simulator.traffic import finish, render_all


def request_record(request: WebhookRequest, event_id: str | None = None) -> dict[str, Any]:
    """A request as one JSON-lines record; `body` is the exact body text (all bodies are ASCII)."""
    if event_id is None:
        event_id = str(event_id_for(request.provider, request.provider_event_id))
    return {
        "provider": request.provider.value,
        "method": "POST",
        "path": request.path,
        "headers": request.headers,
        "body": request.body.decode("utf-8"),
        "event_type": request.event_type,
        "provider_event_id": request.provider_event_id,
        "event_id": event_id,
        "delivered_at": request.delivered_at,
        "signed_at": request.signed_at,
        "fault": request.fault.value,
        "is_valid_signature": request.is_valid_signature,
        "is_valid_payload": request.is_valid_payload,
        "is_redelivery": request.is_redelivery,
        "seq": request.seq,
    }


@dataclass(slots=True)
class WriteSummary:
    requests: int = 0
    events: int = 0
    payments: int = 0
    customers: int = 0
    by_provider: dict[str, int] = field(default_factory=dict)
    by_fault: dict[str, int] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    """Seconds per phase (reported by the CLI's `--timing`, never written to the folder)."""


def _config_record(config: SimulationConfig) -> dict[str, Any]:
    record = asdict(config)
    record["start"] = config.start.isoformat()
    record["provider_shares"] = {provider.value: share for provider, share in config.provider_shares.items()}
    record["merchants"] = config.merchant_count
    return record


def write_run(
    simulation: Simulation,
    secrets: WebhookSecrets,
    out_dir: Path,
    *,
    table_format: str = "parquet",
    progress: bool = False,
) -> WriteSummary:
    """Write every output of `simulation` under `out_dir` (created if missing)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "ground_truth").mkdir(exist_ok=True)
    summary = WriteSummary()
    table = EventTable()
    events = simulation.events
    providers: Counter[str] = Counter()
    faults: Counter[str] = Counter()
    requests_path = out_dir / "requests.jsonl"
    started = time.perf_counter()
    with (
        requests_path.open("w", encoding="utf-8") as out,
        tqdm(total=len(events), unit="event", desc="writing", disable=not progress) as bar,
    ):
        for rendered in render_all(simulation, secrets):
            request = finish(rendered, secrets)
            event_id = str(event_id_for(request.provider, request.provider_event_id))
            out.write(json.dumps(request_record(request, event_id), separators=(",", ":")) + "\n")
            providers[request.provider.value] += 1
            faults[request.fault.value] += 1
            if rendered.fault is Fault.NONE:
                table.add(events[rendered.seq], rendered, event_id)
                bar.update()
    summary.timings["render_sign_write_requests"] = time.perf_counter() - started
    started = time.perf_counter()
    summary.requests = sum(providers.values())
    summary.events = len(events)
    summary.payments = len(simulation.payments)
    summary.customers = len(simulation.all_customers)
    summary.by_provider = dict(sorted(providers.items()))
    summary.by_fault = dict(sorted(faults.items()))
    summary.files["requests"] = requests_path.name
    summary.files["events"] = write_table(out_dir / "events", table.columns, table_format).name
    payments_path = write_table(out_dir / "ground_truth" / "payments", payment_labels(simulation, table), table_format)
    customers_path = write_table(out_dir / "ground_truth" / "customers", customer_labels(simulation), table_format)
    summary.files["ground_truth_payments"] = f"ground_truth/{payments_path.name}"
    summary.files["ground_truth_customers"] = f"ground_truth/{customers_path.name}"
    summary.timings["tables"] = time.perf_counter() - started
    manifest = {
        "simulator_version": __version__,
        "config": _config_record(simulation.config),
        "counts": {
            "requests": summary.requests,
            "events": summary.events,
            "payments": summary.payments,
            "customers": summary.customers,
            "requests_by_provider": summary.by_provider,
            "requests_by_fault": summary.by_fault,
            "redeliveries": summary.by_fault.get(Fault.DUPLICATE.value, 0),
        },
        "files": summary.files,
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return summary
