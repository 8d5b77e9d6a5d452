"""`python -m normalizer`: check the settings, then run one Faust worker until stopped."""

from __future__ import annotations

import asyncio
import logging
import sys

from faust import Worker

from contracts.topics import Topic
from normalizer.app import create_app
from normalizer.settings import ConfigurationError, load_settings
from normalizer.topics import TOPICS, TopicMismatchError, TopicSpec, ensure_topics, faust_topic


class _Worker(Worker):
    def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
        """Faust leaves the root logger open to every level and filters in the handler: every
        debug call of the libraries then builds a record per message. Close it at the source."""
        super().on_setup_root_logger(logger, level)
        logger.setLevel(level)


def main() -> int:  # returns only on bad configuration; the worker exits the process itself
    try:
        settings = load_settings()
    except ConfigurationError as exc:
        print(exc, file=sys.stderr)
        return 2
    normalizer = create_app(settings)
    topics: list[Topic | TopicSpec] = [*TOPICS, *(faust_topic(topic) for topic in normalizer.internal_topics())]
    try:
        asyncio.run(ensure_topics(settings.kafka_bootstrap_servers, settings.replication_factor, topics))
    except TopicMismatchError as exc:
        print(exc, file=sys.stderr)
        return 2
    worker = _Worker(normalizer.app, loglevel=settings.log_level)
    worker.execute_from_commandline()  # exits the process with the worker's status


if __name__ == "__main__":
    raise SystemExit(main())
