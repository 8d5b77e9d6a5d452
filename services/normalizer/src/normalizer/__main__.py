"""`python -m normalizer`: check the settings, then run one Faust worker until stopped."""

from __future__ import annotations

import asyncio
import sys

from faust import Worker

from normalizer.app import create_app
from normalizer.settings import ConfigurationError, load_settings
from normalizer.topics import TopicMismatchError, ensure_topics


def main() -> int:  # returns only on bad configuration; the worker exits the process itself
    try:
        settings = load_settings()
    except ConfigurationError as exc:
        print(exc, file=sys.stderr)
        return 2
    try:
        asyncio.run(ensure_topics(settings.kafka_bootstrap_servers, settings.replication_factor))
    except TopicMismatchError as exc:
        print(exc, file=sys.stderr)
        return 2
    normalizer = create_app(settings)
    worker = Worker(normalizer.app, loglevel=settings.log_level.lower())
    worker.execute_from_commandline()  # exits the process with the worker's status


if __name__ == "__main__":
    raise SystemExit(main())
