"""The main job end to end on a small volume: the same code as `./pants run infra/local:demo`.

Real Kafka and Temporal (local_stack), a real Feast server and push consumer, every service from
the pex Pants built (`runtime_package_dependencies`), fed by the simulator through the gateway
over HTTP; between
the waves the real pipelines (ingest, dbt, training, evaluation, promotion) from their pex, on a
labelled history written into the store first.
"""

from __future__ import annotations

import json
from pathlib import Path

from demo.html import write_html
from demo.pipelines import History
from demo.report import RULES_VERSION, Report
from demo.run import Traffic, run

# 60 customers over 3 days with seed 42: ~75 requests for ~60 payments, 8 % of them faulty (4 % bad
# signatures + 4 % malformed: the simulator's fault counts are exact), then the first 10 again.
TRAFFIC = Traffic(customers=60, days=3, seed=42, invalid_signature_share=0.04, malformed_share=0.04, redeliver=10)
# The main job's default history: enough matured, labelled payments for the model to beat the rules.
HISTORY = History()


def _assert_wave_reconciles(wave: Report) -> None:
    assert wave.ok, wave.render()
    topics, gateway = wave.topics, wave.gateway
    # The volume really went through: every request the simulator sent was answered by the gateway.
    assert wave.send.genuine_refused == 0
    assert wave.send.sent == sum(gateway.requests_by_outcome.values()) >= 40
    assert wave.send.redelivered == TRAFFIC.redeliver
    # The first pass's faulty requests (8 % of it) were refused or, authentic but unreadable,
    # quarantined at the gateway; of the re-delivered ones, the genuine were accepted and then
    # dropped as duplicates, the faulty refused or quarantined again.
    first_pass = wave.send.sent - wave.send.redelivered
    refused = sum(gateway.refused_by_reason.values())
    duplicates = wave.normalizer.by_outcome["duplicate"]
    assert duplicates > 0
    faulty = refused + gateway.quarantined
    assert (faulty - round(0.08 * first_pass)) + duplicates == TRAFFIC.redeliver
    assert gateway.accepted_requests == wave.send.sent - faulty
    # accepted = normalized + dead-lettered + duplicates dropped, from the topics and the counters.
    normalizer_dlq = topics.dead_letters_by_stage["normalizer"]
    assert topics.webhook_records == topics.normalized + normalizer_dlq + duplicates
    # All four providers made it to their webhook topics.
    assert set(topics.webhooks_by_provider) == {"stripe", "square", "adyen", "braintree"}
    # One decision per payment, on the topic and in the store (the wave's rows, not the history).
    assert len(topics.payments_to_decide) >= 40
    assert sorted(topics.decisions_by_payment.values()) == [1] * len(topics.payments_to_decide)
    assert wave.store.decided_payments == wave.store.decision_rows == len(topics.payments_to_decide)
    # The normalizer streamed velocity features, at most one record per entity (customer, card)
    # of each payment event, and the Feast push consumer pushed exactly those into the online
    # store: its own counter against the records the demo read from the topic itself.
    payment_events = sum(n for event_type, n in topics.normalized_by_type.items() if event_type.startswith("payment."))
    assert 0 < topics.velocity_by_entity["customer"] <= payment_events
    assert topics.velocity_records <= 2 * payment_events
    assert wave.push.pushed == topics.velocity_records
    assert wave.push.dead_lettered == 0


def test_two_waves_reconcile_and_the_promoted_model_scores_the_second(tmp_path: Path) -> None:
    # Pants puts the packaged pexes and the dbt project under the sandbox root, the working directory.
    run_dir = tmp_path / "run"
    report = run(
        run_dir, Path.cwd(), TRAFFIC, history=HISTORY, dbt_project=Path.cwd() / "dbt", progress=print, bar=False
    )
    print(report.render())

    assert report.ok, report.render()
    first, second = report.waves
    _assert_wave_reconciles(first)
    _assert_wave_reconciles(second)
    # The second wave is new traffic (another seed, later days), not the first one again.
    assert not set(first.topics.payments_to_decide) & set(second.topics.payments_to_decide)

    # Wave 1: the registry was empty, the rules baseline scored every payment.
    assert dict(first.topics.decisions_by_model) == {RULES_VERSION: first.topics.decisions}
    # A trained model was promoted: the registry's champion pointer, read here independently.
    assert report.model is not None
    pointer = json.loads((run_dir / "model-registry" / "fraud" / "champion.json").read_text())
    champion = pointer["version"]
    assert champion != RULES_VERSION
    assert report.model.champion_version == champion
    card = json.loads((run_dir / "model-registry" / "fraud" / champion / "card.json").read_text())
    assert card["metrics"]["holdout_pr_auc"] > 0
    # Wave 2: every decision carries the promoted model's version.
    assert dict(second.topics.decisions_by_model) == {champion: second.topics.decisions}
    # Features reached Feast, and the evaluation drew a PR curve.
    assert report.model.feature_rows["fraud_features"] > 0
    assert report.model.pr_curve_png is not None and report.model.pr_curve_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # The HTML report stands alone: three embedded pictures, no external references.
    page = write_html(report, run_dir / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 3
    assert 'src="http' not in page
