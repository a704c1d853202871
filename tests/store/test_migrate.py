"""Schema migrations: a new store gets the latest schema; a store made before migrations keeps its data."""

from __future__ import annotations

import json

from sqlalchemy import create_engine, inspect, text

from hygeia.governance.ledger import Ledger
from hygeia.store import Store
from hygeia.store.migrate import head_revision, migrate

# The four tables exactly as Hygeia 0.1-0.5 created them (metadata.create_all, no alembic_version table).
OLD_SCHEMA = [
    "CREATE TABLE ledger (seq INTEGER NOT NULL PRIMARY KEY, event VARCHAR(64) NOT NULL, artifact_id VARCHAR(64), "
    "body TEXT NOT NULL, prev_hash VARCHAR(64) NOT NULL, hash VARCHAR(64) NOT NULL UNIQUE)",
    "CREATE TABLE artifacts (id VARCHAR(64) NOT NULL PRIMARY KEY, kind VARCHAR(32) NOT NULL, status VARCHAR(32) "
    "NOT NULL, created_at VARCHAR(40) NOT NULL, location TEXT NOT NULL, gate_passed BOOLEAN NOT NULL, record TEXT NOT NULL)",
    "CREATE TABLE reviews (id INTEGER NOT NULL PRIMARY KEY, artifact_id VARCHAR(64) NOT NULL, reviewer VARCHAR(128) "
    "NOT NULL, role VARCHAR(64) NOT NULL, decision VARCHAR(16) NOT NULL, comment TEXT NOT NULL, diff TEXT NOT NULL, "
    "created_at VARCHAR(40) NOT NULL)",
    "CREATE TABLE ledger_checkpoints (size INTEGER NOT NULL PRIMARY KEY, body TEXT NOT NULL)",
]


def test_a_new_store_has_the_latest_schema(store_url):
    store = Store(store_url)
    tables = set(inspect(store.engine).get_table_names())
    assert {"ledger", "artifacts", "reviews", "users", "api_tokens", "datasets", "jobs", "alembic_version"} <= tables
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == head_revision()
    assert migrate(store.engine) == head_revision()  # opening again changes nothing


def test_a_store_from_before_migrations_is_upgraded_without_losing_anything(store_url):
    engine = create_engine(store_url)
    with engine.begin() as conn:
        for statement in OLD_SCHEMA:
            conn.execute(text(statement.replace("INTEGER NOT NULL PRIMARY KEY, artifact_id", "SERIAL PRIMARY KEY, "
                                                "artifact_id") if engine.dialect.name == "postgresql" else statement))
        conn.execute(text("INSERT INTO artifacts VALUES ('tab-1', 'synthetic_table', 'candidate', '2026-01-01', "
                          "'/tmp/x', :passed, :record)"), {"passed": True, "record": json.dumps({"title": "old"})})
        conn.execute(text("INSERT INTO reviews (artifact_id, reviewer, role, decision, comment, diff, created_at) "
                          "VALUES ('tab-1', 'dr.old', 'reviewer', 'approve', 'fine', '', '2026-01-02')"))
    engine.dispose()
    Ledger(Store(store_url)).append("ingest", {"sha256": "ab"}, actor="x")  # opening migrates; the ledger works

    store = Store(store_url)
    assert store.get_artifact("tab-1").record == {"title": "old"}
    review = store.reviews_for("tab-1")[0]
    assert (review.reviewer, review.comment, review.usefulness, review.trust) == ("dr.old", "fine", None, None)
    assert Ledger(store).verify().ok
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == head_revision()
