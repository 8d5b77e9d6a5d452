"""`python -m gateway` / the `gateway` pex: validate settings, then serve with uvicorn.

A configuration problem (e.g. a provider without a secret) stops the process before it binds a
port, with a message that names the variable.
"""

from __future__ import annotations

import math

from service_kit import run_server, settings_or_exit

from gateway.asgi import create_app
from gateway.settings import get_settings


def main() -> None:
    settings = settings_or_exit("gateway", get_settings)
    run_server(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        # In-flight webhooks wait for their acknowledgement before the process exits.
        graceful_shutdown_seconds=math.ceil(settings.publish_timeout_seconds) + 5,
    )


if __name__ == "__main__":
    main()
