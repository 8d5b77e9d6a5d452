"""Throughput and latency of the gateway: signed Stripe webhooks over real HTTP to a real server
publishing to a real Kafka broker, compared with a bare Litestar endpoint in the same run."""
