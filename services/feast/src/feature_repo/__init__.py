"""The Feast feature repo of the platform: entities, views over the dbt feature tables, the
velocity push source, and the `fraud_v1` / `churn_v1` feature services."""
