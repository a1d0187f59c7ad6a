"""Fixtures shared by every test of the repository (real broker, throw-away PostgreSQL)."""

pytest_plugins = ["cpts_kit.testing"]
