from testing.postgres import postgres  # noqa: F401  (re-exported fixture)
from testing.stack import owned_stack  # noqa: F401  (re-exported fixture)
