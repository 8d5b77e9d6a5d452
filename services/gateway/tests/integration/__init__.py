"""Tests against real servers (a package, so its conftest does not clash with the unit tests')."""
