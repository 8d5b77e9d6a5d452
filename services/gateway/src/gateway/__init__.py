"""The webhook gateway: verifies payment-provider webhooks and publishes them to Kafka."""

__version__ = "0.1.0"
