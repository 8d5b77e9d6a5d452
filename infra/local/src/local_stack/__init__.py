"""Real Kafka, Temporal and PostgreSQL, started natively for the local stack and for tests.

Stdlib only, so that any Pants resolve can reuse it: services' test fixtures (`libs/testing`)
start servers through `LocalStack` without pulling in a dependency.
"""

from local_stack.config import StackConfig
from local_stack.errors import LocalStackError
from local_stack.stack import SERVICE_NAMES, LocalStack
from local_stack.supervisor import ServiceStatus

__all__ = ["SERVICE_NAMES", "LocalStack", "LocalStackError", "ServiceStatus", "StackConfig"]
