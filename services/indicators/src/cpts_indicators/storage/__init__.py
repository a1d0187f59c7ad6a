"""SQLAlchemy models of the indicators service (its own database only)."""
