"""Persistence: one SQLAlchemy schema for SQLite (default) and PostgreSQL (by URL)."""

from hygeia.store.db import Store, database_url, hygeia_home

__all__ = ["Store", "database_url", "hygeia_home"]
