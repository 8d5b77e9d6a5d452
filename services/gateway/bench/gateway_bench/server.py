"""The server under test, run in its own process: the gateway or a bare Litestar endpoint.

`python -m gateway_bench.server {gateway|bare} --port P [--server uvicorn|granian]`; the gateway
reads its `GATEWAY_*` settings from the environment like in production.
"""

from __future__ import annotations

import argparse
from typing import Any

import uvicorn
from litestar import Litestar, Request, post

from gateway.asgi import create_app_from_env


@post("/webhooks/stripe", status_code=200)
async def bare_receive(request: Request[Any, Any, Any]) -> dict[str, str]:
    """What any Litestar endpoint does at least: read the body and answer JSON."""
    await request.body()
    return {"status": "accepted"}


def bare_app() -> Litestar:
    return Litestar(route_handlers=[bare_receive], openapi_config=None)


FACTORIES = {"gateway": create_app_from_env, "bare": bare_app}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("app", choices=sorted(FACTORIES))
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--server", choices=["uvicorn", "granian"], default="uvicorn")
    args = parser.parse_args()
    if args.server == "granian":
        from granian.constants import Interfaces, Loops
        from granian.server import Server

        Server(
            target=f"gateway_bench.server:{FACTORIES[args.app].__name__}",
            factory=True,
            address="127.0.0.1",
            port=args.port,
            interface=Interfaces.ASGI,
            workers=1,
            loop=Loops.uvloop,
            log_enabled=False,
        ).serve()
        return
    uvicorn.run(
        FACTORIES[args.app](),
        host="127.0.0.1",
        port=args.port,
        loop="uvloop",
        http="httptools",
        workers=1,
        access_log=False,
        log_level="warning",
        server_header=False,
    )


if __name__ == "__main__":
    main()
