"""A tiny materialized Feast repo holding one customer, card and merchant: what the Feast-lookup
runs read through a real `feast serve`."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

from contracts.schemas.features import FRAUD_FEATURE_NAMES
from inference_bench.workload import Rows


def feast_repo(work: Path, rows: Rows) -> Path:
    from testing.feast_server import OnlineTable, build_feature_repo

    row = dict(zip(FRAUD_FEATURE_NAMES, map(float, rows[0]), strict=True))
    written = datetime.now(UTC) - timedelta(minutes=5)
    customer = [n for n in FRAUD_FEATURE_NAMES if n.startswith("customer_")] + ["is_new_country_for_customer"]
    card = [n for n in FRAUD_FEATURE_NAMES if n.startswith("card_")]
    tables = [
        OnlineTable(
            "customer_fraud",
            ("customer_id",),
            tuple(customer),
            [{"customer_id": "cus_1", **{n: row[n] for n in customer}}],
            written,
        ),
        OnlineTable(
            "card_fraud",
            ("card_fingerprint",),
            tuple(card),
            [{"card_fingerprint": "card_1", **{n: row[n] for n in card}}],
            written,
        ),
        OnlineTable(
            "customer_card",
            ("customer_id", "card_fingerprint"),
            ("is_new_card_for_customer",),
            [
                {
                    "customer_id": "cus_1",
                    "card_fingerprint": "card_1",
                    "is_new_card_for_customer": row["is_new_card_for_customer"],
                }
            ],
            written,
        ),
        OnlineTable(
            "merchant_risk",
            ("merchant_id",),
            ("merchant_risk_score",),
            [{"merchant_id": "mer_1", "merchant_risk_score": row["merchant_risk_score"]}],
            written,
        ),
    ]
    services = {"fraud_v1": ["customer_fraud", "card_fraud", "customer_card", "merchant_risk"]}
    return build_feature_repo(work / "feature_repo", tables, services, project="bench").path
