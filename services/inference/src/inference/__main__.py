"""`python -m inference` / the `inference` pex: validate settings, then serve with uvicorn."""

import logging
import sys

import uvicorn

from inference.app import create_app
from inference.settings import ConfigurationError, get_settings


def main() -> None:
    try:
        settings = get_settings()
    except ConfigurationError as exc:
        print(f"inference: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=settings.access_log,
        server_header=False,
        log_level=settings.log_level.lower(),
    )


if __name__ == "__main__":
    main()
