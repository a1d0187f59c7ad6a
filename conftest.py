"""Fixtures shared by every test of the repository (real broker, throw-away PostgreSQL)."""

import pytest

pytest_plugins = ["cpts_kit.testing"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slow tests first: with workers (`make test` runs pytest -n), `make run` from a fresh
    clone then runs beside the rest of the suite instead of after it."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
