"""Pydantic models of every message, API body and table row shared across teams."""
