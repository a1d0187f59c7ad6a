"""The CPTS registry: identity, lifecycle, territory, coverage, members and governance."""
