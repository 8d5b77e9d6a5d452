"""Assets by domain: `ingest` (store -> bronze), `warehouse` (dbt), `training` (fraud model)."""
