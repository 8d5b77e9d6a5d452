"""A real Feast feature server for tests: a feature repo built in a temporary folder, applied and
materialized through Feast's own API, then `feast serve` started as a subprocess on a free port.
`build_platform_repo` builds the platform's own repo (`services/feast`) with given rows.

Sources, entities, views and services are described with `OnlineTable` and a mapping of feature
service names to views; paths in the repo are absolute (Feast resolves `FileSource` paths against
the current directory at query time).
"""

from testing.feast_server.platform import build_platform_repo
from testing.feast_server.repo import FeatureRepo, OnlineTable, build_feature_repo
from testing.feast_server.server import start_feature_server

__all__ = ["FeatureRepo", "OnlineTable", "build_feature_repo", "build_platform_repo", "start_feature_server"]
