"""The HTTP yardstick: a Litestar handler that only validates the request contract, served exactly
as the inference service is served.

`python -m inference_bench.bare_litestar --port P` answers `POST /v1/fraud/score` by validating
the body against the same `FraudScoreRequest` contract and returning one constant, pre-encoded
`FraudScoreResponse`: no model, no batching, no metrics, no dependency injection. The bench loads it
at the same rate, right before the real service, so the difference between the two is what the
service itself costs, and the yardstick's own tail is the floor this host allows at that rate.

`POST /bare` is the issue's own calibration, a bare Litestar POST (the body is read, a constant
answered): its throughput at saturation says how fast this host is against the ~15,000/s the
targets were set at.
"""

import argparse
import gc

import uvicorn
from litestar import Litestar, MediaType, Response, get, post
from litestar.params import JSONBody

from contracts.schemas.scoring import FeatureSource, FraudScoreRequest, FraudScoreResponse

_ANSWER = FraudScoreResponse(
    payment_id="pay_1",
    score=0.5,
    model_name="fraud",
    model_version="yardstick",
    feature_set_version="fraud_v1",
    feature_source=FeatureSource.REQUEST,
).model_dump_json()


@post("/v1/fraud/score", status_code=200, media_type=MediaType.JSON)
async def score(data: JSONBody[FraudScoreRequest]) -> Response[str]:
    return Response(_ANSWER, media_type=MediaType.JSON)


@post("/bare", status_code=200)
async def bare(body: bytes) -> dict[str, str]:
    return {"status": "ok"}


@get("/readyz")
async def ready() -> dict[str, str]:
    return {"status": "ready"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = Litestar([score, bare, ready], logging_config=None, debug=False)
    gc.collect()
    gc.freeze()  # as the service does after its start-up
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=args.port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,
        server_header=False,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
