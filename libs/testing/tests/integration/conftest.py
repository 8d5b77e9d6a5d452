from testing.kafka import kafka, kafka_server  # noqa: F401  (re-exported fixtures)
from testing.postgres import postgres, postgres_server  # noqa: F401  (re-exported fixtures)
from testing.temporal import temporal, temporal_server  # noqa: F401  (re-exported fixtures)
