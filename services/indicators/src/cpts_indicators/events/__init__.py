"""Events the indicators service publishes on ``cpts.indicators.events`` (key = CPTS id), and
its projections of the registry's, funding's and documents' events."""
