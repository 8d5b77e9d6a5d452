"""Assets by domain: `ingest` (store -> bronze), `warehouse` (dbt), `features` (Feast, through
Pipes), `training` (fraud model)."""
