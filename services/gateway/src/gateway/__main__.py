"""`python -m gateway` / the `gateway` pex: validate settings, then serve with uvicorn.

A configuration problem (e.g. a provider without a secret) stops the process before it binds a
port, with a message that names the variable.
"""

from __future__ import annotations

import math
import sys

import uvicorn

from gateway.asgi import create_app
from gateway.settings import ConfigurationError, get_settings


def main() -> None:
    try:
        settings = get_settings()
    except ConfigurationError as exc:
        print(f"gateway: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        # Requests are logged by the app (GATEWAY_ACCESS_LOG), with signature headers obfuscated.
        access_log=False,
        server_header=False,
        log_level=settings.log_level.lower(),
        timeout_graceful_shutdown=math.ceil(settings.publish_timeout_seconds) + 5,
    )


if __name__ == "__main__":
    main()
