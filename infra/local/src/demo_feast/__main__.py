"""`demo-feast.pex <repo folder> --port P`: build the feature repo, then `feast serve` in the foreground.

No pipeline has written features yet (the first wave), so each view holds one placeholder row
for an entity no payment has: every real customer, card and merchant is unknown to the online
store, and inference scores it with the contracts' no-history values (`features_defaulted`).
The views, features and services are the ones inference reads (`fraud_v1`, `churn_v1`).
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from contracts.schemas.features import CHURN_FEATURE_NAMES, FRAUD_FEATURE_NAMES
from contracts.schemas.no_history import FRAUD_CONTEXT_FEATURES
from testing.feast_server import OnlineTable, build_feature_repo

PLACEHOLDER = "__demo_placeholder__"


def _tables() -> list[OnlineTable]:
    written = datetime.now(UTC) - timedelta(minutes=1)
    stored = [name for name in FRAUD_FEATURE_NAMES if name not in FRAUD_CONTEXT_FEATURES]
    customer = tuple(n for n in stored if n.startswith("customer_") or n == "is_new_country_for_customer")
    card = tuple(n for n in stored if n.startswith("card_"))
    views = [
        ("customer_fraud", ("customer_id",), customer),
        ("card_fraud", ("card_fingerprint",), card),
        ("customer_card", ("customer_id", "card_fingerprint"), ("is_new_card_for_customer",)),
        ("merchant_risk", ("merchant_id",), ("merchant_risk_score",)),
        ("customer_churn", ("customer_id",), tuple(CHURN_FEATURE_NAMES)),
    ]
    covered = {feature for _, _, features in views[:4] for feature in features}
    missing = set(stored) - covered
    if missing:
        raise SystemExit(f"demo-feast: stored fraud features without a view: {sorted(missing)}")
    return [
        OnlineTable(view, keys, features, [{**dict.fromkeys(keys, PLACEHOLDER), **dict.fromkeys(features, 0.0)}], written)
        for view, keys, features in views
    ]


def main() -> int:
    parser = argparse.ArgumentParser(prog="demo-feast")
    parser.add_argument("repo", type=Path)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    services = {
        "fraud_v1": ["customer_fraud", "card_fraud", "customer_card", "merchant_risk"],
        "churn_v1": ["customer_churn"],
    }
    repo = build_feature_repo(args.repo, _tables(), services, project="demo")
    print(f"demo-feast: feature repo ready at {repo.path}", flush=True)
    os.environ.setdefault("FEAST_USAGE", "False")
    from feast.cli.cli import cli  # noqa: PLC0415 - imported once the repo exists

    # Runs in the foreground until the demo stops it; gunicorn's worker never recycles.
    cli.main(
        ["--chdir", str(repo.path), "serve", "--host", args.host, "--port", str(args.port),
         "--no-access-log", "--workers", "1", "--max-requests", "0"],
        prog_name="feast",
    )  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
