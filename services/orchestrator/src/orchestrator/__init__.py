"""The payment orchestrator: one durable Temporal workflow per payment."""

TASK_QUEUE = "orchestrator-payments"
"""The worker's default task queue (`ORCHESTRATOR_TASK_QUEUE` overrides it)."""
