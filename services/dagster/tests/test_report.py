"""`--reuse-store` reuses a store only when everything it was generated from is the same."""

import hashlib
from pathlib import Path

from pipelines import synthetic
from pipelines.report import store_identity
from pipelines.synthetic import SyntheticConfig


def test_the_store_identity_covers_the_whole_config_the_generator_and_the_ddl() -> None:
    config = SyntheticConfig(payments=1000, days=30, seed=3)
    identity = store_identity(config)

    assert identity == store_identity(SyntheticConfig(payments=1000, days=30, seed=3))
    # Fields the old card (payments, days, seed) left out.
    assert identity != store_identity(SyntheticConfig(payments=1000, days=30, seed=3, fraud_rate=0.1))
    assert identity != store_identity(SyntheticConfig(payments=1000, days=30, seed=3, churn_rate=0.5))
    assert identity["config"]["fraud_rate"] == 0.05
    assert identity["config"]["start"] == "2026-01-05 00:00:00+00:00"
    assert identity["synthetic_sha256"] == hashlib.sha256(Path(synthetic.__file__).read_bytes()).hexdigest()
    assert len(identity["store_ddl_sha256"]) == 64
