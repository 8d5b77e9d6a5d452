"""Inference benchmark: `./pants run services/inference/bench:bench -- [--rates 1000,2000] [--no-feast]`.

1. `workload`: trains a fraud booster here (synthetic rows, 100 trees of depth 6), registers and
   promotes it in a temporary model registry.
2. `in_process`: single-row latency of `ScoringService.score_fraud` and of the raw
   `Booster.inplace_predict` on the same model, interleaved (and the raw call after 5 ms idle);
   batch rows/s of `ScoringService.score_fraud_batch` (10,000 rows, contract objects in, the
   encoded JSON document out) against raw `inplace_predict` on the same matrix.
3. `http_runs`: first a bare Litestar POST at saturation (`bare_litestar`, `POST /bare`), the
   issue's calibration of this machine (~15,000/s when the targets were set), from our load
   generator and, when it is installed, from `wrk` (`wrk.py`: a C client, little CPU). Then a real server
   process (`python -m inference`, uvicorn, one worker) and an open-loop load generator in
   another process (`loadgen`) at a fixed rate, features in the request, `--repeat` times per
   rate. Right before each run, the same load against the HTTP yardstick (`bare_litestar`: the
   same request contract validated, a constant answer, served the same way). Each run also
   reports the server's CPU per request and the share of CPU the hypervisor stole meanwhile
   (`host`), so that a slower host can be told from a slower service; the service's runs report
   rows per model call.
4. The same with the Feast lookup (a real `feast serve` over a tiny materialized repo,
   `feast_repo`), at a rate one Feast worker can serve, and the same lookup sent to Feast
   directly, so that what Feast costs and what the service adds can be told apart.
5. `report`: prints the numbers and writes a latency histogram PNG (matplotlib) next to a JSON
   of them.
"""

import argparse
import asyncio
import sys
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from contracts.schemas.features import FRAUD_FEATURE_NAMES
from inference_bench.feast_repo import feast_repo
from inference_bench.http_runs import http_batch, load, load_service, start_inference, start_yardstick
from inference_bench.in_process import BATCH_ROWS, in_process
from inference_bench.report import report, write_results
from inference_bench.workload import champion_registry
from inference_bench.wrk import wrk_saturate
from testing.processes import free_port

SATURATION_SECONDS = 5.0
SATURATION_CONNECTIONS = 48


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of measured HTTP load per run")
    parser.add_argument(
        "--rates", default="2000", help="comma-separated req/s with features in the request (one run each)"
    )
    parser.add_argument(
        "--feast-rate",
        type=float,
        default=50.0,
        help="req/s with the Feast lookup (one `feast serve` worker saturates near 100 req/s here)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="runs per rate, each right after a yardstick run: on shared vCPUs one run is one draw of the host",
    )
    parser.add_argument("--samples", type=int, default=5000, help="in-process single-row samples")
    parser.add_argument("--no-feast", action="store_true", help="skip the Feast run")
    parser.add_argument("--out", type=Path, default=Path("dist/inference-bench"))
    args = parser.parse_args(argv)
    out_dir = args.out.resolve()
    out_dir.mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory(prefix="inference-bench-") as tmp:
        work = Path(tmp)
        registry, version, holdout = champion_registry(work / "registry")
        results: dict[str, Any] = {"model_version": version}
        print("in-process runs ...", file=sys.stderr, flush=True)
        results["in_process"] = asyncio.run(in_process(registry, version, holdout, args.samples))

        body = {"payment_id": "pay_1", "features": dict(zip(FRAUD_FEATURE_NAMES, map(float, holdout[0]), strict=True))}
        results["http"], results["http_yardstick"] = [], []
        with (
            start_yardstick(work) as yardstick,
            start_inference(registry, work, f"http://127.0.0.1:{free_port()}") as server,
        ):
            print("a bare Litestar POST at saturation ...", file=sys.stderr, flush=True)
            results["bare_saturated"] = load(
                yardstick, "/bare", {"ping": 1}, None, SATURATION_SECONDS, work, connections=SATURATION_CONNECTIONS
            )
            print("the same with wrk, if installed ...", file=sys.stderr, flush=True)
            results["bare_saturated_wrk"] = wrk_saturate(
                yardstick, "/bare", {"ping": 1}, SATURATION_SECONDS, SATURATION_CONNECTIONS, work
            )
            for rate in (float(part) for part in args.rates.split(",")):
                for repeat in range(1, args.repeat + 1):
                    which = f"{rate:.0f} req/s, run {repeat} of {args.repeat}"
                    print(f"HTTP yardstick at {which} ...", file=sys.stderr, flush=True)
                    run = load(yardstick, "/v1/fraud/score", body, rate, args.duration, work)
                    results["http_yardstick"].append(run | {"rate": rate, "duration": args.duration})
                    print(f"HTTP service at {which} ...", file=sys.stderr, flush=True)
                    run = load_service(server, "/v1/fraud/score", body, rate, args.duration, work)
                    results["http"].append(run | {"rate": rate, "duration": args.duration})
            print(f"HTTP batches of {BATCH_ROWS:,} rows ...", file=sys.stderr, flush=True)
            results["http_batch"] = http_batch(server, holdout[:BATCH_ROWS], repeats=7)

        if args.no_feast:
            results["http_feast_skipped"] = results["feast_alone_skipped"] = "--no-feast"
        else:
            print("building and serving a Feast repo ...", file=sys.stderr, flush=True)
            from testing.feast_server import start_feature_server

            with (
                start_feature_server(feast_repo(work, holdout)) as feast_server,
                start_inference(registry, work, feast_server.base_url) as server,
            ):
                lookup = {
                    "payment_id": "pay_1",
                    "customer_id": "cus_1",
                    "card_fingerprint": "card_1",
                    "context": {
                        "amount_minor": 4200,
                        "currency": "USD",
                        "occurred_at": datetime.now(UTC).isoformat(),
                        "merchant_id": "mer_1",
                    },
                }
                print(f"HTTP run with Feast at {args.feast_rate:.0f} req/s ...", file=sys.stderr, flush=True)
                run = load(server, "/v1/fraud/score", lookup, args.feast_rate, args.duration, work)
                results["http_feast"] = [run | {"rate": args.feast_rate, "duration": args.duration}]
                # The same lookup sent to Feast directly: what the feature server alone costs.
                print(f"Feast alone at {args.feast_rate:.0f} req/s ...", file=sys.stderr, flush=True)
                direct = {
                    "feature_service": "fraud_v1",
                    "entities": {"customer_id": ["cus_1"], "card_fingerprint": ["card_1"], "merchant_id": ["mer_1"]},
                }
                run = load(feast_server, "/get-online-features", direct, args.feast_rate, args.duration, work)
                results["feast_alone"] = [run | {"rate": args.feast_rate, "duration": args.duration}]
        write_results(results, out_dir)
        report(results, out_dir)


if __name__ == "__main__":
    main()
