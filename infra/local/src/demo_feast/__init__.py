"""A Feast feature server for the demo: `fraud_v1` and `churn_v1` served from an empty online store."""
