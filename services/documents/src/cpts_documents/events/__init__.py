"""Events the documents service publishes on ``cpts.documents.events`` (key = CPTS id), and
the tolerant reader of the registry's events it projects."""
