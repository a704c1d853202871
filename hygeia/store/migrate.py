"""Schema migrations (Alembic): every store, SQLite or PostgreSQL, is brought to the latest schema when opened.

A database made before migrations existed (by ``create_all``, Hygeia 0.1-0.5) holds exactly the first revision's
tables; it is stamped with that revision and then upgraded, so nothing already stored is touched.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine

MIGRATIONS = Path(__file__).with_name("migrations")
FIRST_REVISION = "0001"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def migrate(engine: Engine) -> str:
    """Upgrade ``engine``'s database to the latest revision; returns it. Cheap when already current."""
    head = head_revision()
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":  # two processes opening a new database at once: one migrates
            conn.execute(text("SELECT pg_advisory_xact_lock(7461)"))
        current = MigrationContext.configure(conn).get_current_revision()
        if current == head:
            return head
        config = alembic_config()
        config.attributes["connection"] = conn
        if current is None and inspect(conn).has_table("ledger"):
            command.stamp(config, FIRST_REVISION)
        command.upgrade(config, "head")
    return head
