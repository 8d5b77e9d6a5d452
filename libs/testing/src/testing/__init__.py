"""Shared test support: server fixtures (`testing.kafka`, `testing.temporal`,
`testing.postgres`) and hypothesis strategies for the contract models."""
