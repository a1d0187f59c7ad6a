"""Registry rules in plain Python: identifiers, lifecycle, size tiers, professions, coverage."""
