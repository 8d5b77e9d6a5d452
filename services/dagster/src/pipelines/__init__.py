"""The payments platform's Dagster code location: store -> bronze -> dbt -> fraud model -> registry."""
