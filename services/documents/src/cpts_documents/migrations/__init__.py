"""Alembic history of the documents database (PostgreSQL and SQLite)."""
