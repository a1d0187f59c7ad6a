"""Event payloads the service publishes, and the projection of the registry's events."""
