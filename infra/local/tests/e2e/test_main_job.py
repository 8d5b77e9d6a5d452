"""The main job end to end on a small volume: the same code as `./pants run infra/local:demo`.

Real Kafka and Temporal (local_stack), a real Feast server, and every service from the pex Pants
built (`runtime_package_dependencies`), fed by the simulator through the gateway over HTTP.
"""

from __future__ import annotations

from pathlib import Path

from demo.run import Traffic, run

# 60 customers over 3 days with seed 42: ~75 requests for ~60 payments, 8 % of them faulty (4 % bad
# signatures + 4 % malformed: the simulator's fault counts are exact), then the first 10 again.
TRAFFIC = Traffic(customers=60, days=3, seed=42, invalid_signature_share=0.04, malformed_share=0.04, redeliver=10)


def test_every_stage_reconciles(tmp_path: Path) -> None:
    # Pants puts the packaged pexes under the sandbox root, the test's working directory.
    report = run(tmp_path / "run", Path.cwd(), TRAFFIC, progress=print, bar=False)
    print(report.render())

    assert report.ok, report.render()
    topics, gateway = report.topics, report.gateway
    # The volume really went through: every request the simulator sent was answered by the gateway.
    assert report.send.genuine_refused == 0
    assert report.send.sent == sum(gateway.requests_by_outcome.values()) >= 40
    assert report.send.redelivered == TRAFFIC.redeliver
    # The first pass's faulty requests (8 % of it) were refused or, authentic but unreadable,
    # quarantined at the gateway; of the re-delivered ones, the genuine were accepted and then
    # dropped as duplicates, the faulty refused or quarantined again.
    first_pass = report.send.sent - report.send.redelivered
    refused = sum(gateway.refused_by_reason.values())
    duplicates = report.normalizer.by_outcome["duplicate"]
    assert duplicates > 0
    faulty = refused + gateway.quarantined
    assert (faulty - round(0.08 * first_pass)) + duplicates == TRAFFIC.redeliver
    assert gateway.accepted_requests == report.send.sent - faulty
    # All four providers made it to their webhook topics.
    assert set(topics.webhooks_by_provider) == {"stripe", "square", "adyen", "braintree"}
    # One decision per payment, on the topic and in the store.
    assert len(topics.payments_to_decide) >= 40
    assert sorted(topics.decisions_by_payment.values()) == [1] * len(topics.payments_to_decide)
    assert report.store.decided_payments == report.store.decision_rows == len(topics.payments_to_decide)
