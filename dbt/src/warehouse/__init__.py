"""The dbt warehouse's Python side: the FX seed from contracts, bronze loading, and running dbt."""
