"""A package only so that its conftest is `integration.conftest` to mypy: libs/testing's
integration conftest, in the same resolve, is already the top-level `conftest`."""
