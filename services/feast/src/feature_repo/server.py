"""The feature server's entry point: settings validated first, then `feast serve` on the repo."""

import sys

from feature_repo.cli import serve
from feature_repo.settings import ConfigurationError, load_settings


def main() -> int:
    try:
        settings = load_settings()
    except ConfigurationError as error:
        print(error, file=sys.stderr)
        return 2
    serve(settings)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
