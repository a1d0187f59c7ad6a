"""Events the registry publishes on ``cpts.registry.events`` (key = CPTS id)."""
