"""SQLAlchemy models and queries of the registry (its own database only)."""
