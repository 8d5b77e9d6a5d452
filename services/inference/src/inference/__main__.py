"""`python -m inference` / the `inference` pex: validate settings, then serve with uvicorn."""

from service_kit import run_server, settings_or_exit

from inference.app import create_app
from inference.settings import get_settings


def main() -> None:
    settings = settings_or_exit("inference", get_settings)
    run_server(create_app(settings), host=settings.host, port=settings.port, log_level=settings.log_level)


if __name__ == "__main__":
    main()
