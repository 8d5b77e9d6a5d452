"""Contract governance: JSON Schema snapshots per major version and a compatibility checker."""
