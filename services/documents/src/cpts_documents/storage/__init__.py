"""SQLAlchemy models (the documents database only) and the store of raw bytes."""
