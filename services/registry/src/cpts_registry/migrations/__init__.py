"""Alembic history of the registry database (PostgreSQL and SQLite)."""
