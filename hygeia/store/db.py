"""The store: artifacts, reviews and the ledger in one relational database.

SQLite file under ``$HYGEIA_HOME`` (default ``./.hygeia``) unless ``HYGEIA_DATABASE_URL``
names another database, e.g. ``postgresql+psycopg://user:pw@127.0.0.1:5432/hygeia``.
The same code runs on both; nothing here is dialect-specific except the ledger write lock.
"""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Iterator

from sqlalchemy import (Boolean, Column, Connection, Float, Integer, MetaData, String, Table, Text, create_engine, event,
                        select, text, update)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from hygeia.errors import NotFoundError, StoreError
from hygeia.store.migrate import migrate

metadata = MetaData()

ledger_table = Table(
    "ledger",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("event", String(64), nullable=False),
    Column("artifact_id", String(64), index=True),
    Column("body", Text, nullable=False),  # canonical JSON: the hashed content
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False, unique=True),
)

artifacts_table = Table(
    "artifacts",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("status", String(32), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("location", Text, nullable=False),
    Column("gate_passed", Boolean, nullable=False),
    Column("record", Text, nullable=False),  # JSON: provenance, verdict, scorecard, files
)

reviews_table = Table(
    "reviews",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("artifact_id", String(64), nullable=False, index=True),
    Column("reviewer", String(128), nullable=False),
    Column("role", String(64), nullable=False),
    Column("decision", String(16), nullable=False),
    Column("comment", Text, nullable=False, default=""),
    Column("diff", Text, nullable=False, default=""),
    Column("created_at", String(40), nullable=False),
    # A reviewer's rating of the artifact when deciding (1-5; optional): what a hospital tracks to judge the tool.
    Column("usefulness", Integer),
    Column("trust", Integer),
)

checkpoints_table = Table(
    "ledger_checkpoints",
    metadata,
    Column("size", Integer, primary_key=True, autoincrement=False),
    Column("body", Text, nullable=False),  # signed JSON checkpoint
)


# -- the service's tables (hygeia serve) -------------------------------------------------------------
users_table = Table(
    "users",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("role", String(32), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),
)

tokens_table = Table(
    "api_tokens",
    metadata,
    Column("id", String(16), primary_key=True),
    Column("user_name", String(128), nullable=False, index=True),
    Column("token_sha256", String(64), nullable=False, unique=True),  # the token itself is never stored
    Column("label", String(128), nullable=False, default=""),
    Column("created_at", String(40), nullable=False),
    Column("last_used_at", String(40)),
    Column("revoked", Boolean, nullable=False, default=False),
)

datasets_table = Table(
    "datasets",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("kind", String(16), nullable=False),  # table | fhir | note
    Column("name", String(256), nullable=False),
    Column("location", Text, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("size", Integer, nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("created_by", String(128), nullable=False),
    Column("profile", Text, nullable=False),  # JSON: what the reader and the quality checks found
)

jobs_table = Table(
    "jobs",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("status", String(16), nullable=False, index=True),  # queued | running | succeeded | failed
    Column("params", Text, nullable=False),
    Column("created_by", String(128), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("started_at", String(40)),
    Column("finished_at", String(40)),
    Column("heartbeat_at", Float),  # epoch seconds: a running job whose heartbeat stops was interrupted
    Column("worker", String(64)),
    Column("attempts", Integer, nullable=False, default=0),
    Column("progress", Text, nullable=False, default=""),
    Column("result", Text),
    Column("error", Text),
)


def hygeia_home() -> Path:
    return Path(os.environ.get("HYGEIA_HOME", ".hygeia"))


def database_url() -> str:
    url = os.environ.get("HYGEIA_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{hygeia_home() / 'hygeia.db'}"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class ArtifactRecord:
    """A stored artifact: where it lives, its gate outcome, status and full record."""

    id: str
    kind: str
    status: str
    created_at: str
    location: str
    gate_passed: bool
    record: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ReviewRecord:
    artifact_id: str
    reviewer: str
    role: str
    decision: str
    comment: str
    diff: str
    created_at: str
    id: int | None = None
    usefulness: int | None = None
    trust: int | None = None


class Store:
    """Tables and queries; callers group writes with :meth:`begin`.

    >>> store = Store("sqlite:///:memory:")
    >>> store.list_artifacts()
    []
    """

    def __init__(self, url: str | None = None) -> None:
        self.url = url or database_url()
        if self.url.startswith("sqlite:///") and ":memory:" not in self.url:
            Path(self.url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        try:
            self.engine: Engine = create_engine(self.url, future=True)
        except (SQLAlchemyError, ImportError, ValueError) as exc:
            raise StoreError(f"cannot use database URL {_redact(self.url)}: {exc}; check HYGEIA_DATABASE_URL") from None
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
            # Take the write lock at BEGIN so two writers serialise instead of failing mid-way.
            event.listen(self.engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
        try:
            migrate(self.engine)
        except OperationalError as exc:
            raise StoreError(f"cannot open the store at {_redact(self.url)} ({_first_line(exc)}); "
                             "check HYGEIA_DATABASE_URL or HYGEIA_HOME") from None

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """One transaction; on PostgreSQL it also serialises ledger appends."""
        try:
            with self.engine.begin() as conn:
                if self.engine.dialect.name == "postgresql":
                    conn.execute(text("LOCK TABLE ledger IN SHARE ROW EXCLUSIVE MODE"))
                yield conn
        except OperationalError as exc:
            raise StoreError(f"store unavailable ({_first_line(exc)}); nothing was written") from None

    # -- artifacts -------------------------------------------------------------------------
    def insert_artifact(self, conn: Connection, rec: ArtifactRecord) -> None:
        conn.execute(artifacts_table.insert().values(
            id=rec.id, kind=rec.kind, status=rec.status, created_at=rec.created_at, location=rec.location,
            gate_passed=rec.gate_passed, record=json.dumps(rec.record, sort_keys=True, default=str)))

    def set_status(self, conn: Connection, artifact_id: str, status: str, *, expected: str | tuple[str, ...] | None = None) -> bool:
        """Set the status; with ``expected``, only if the stored status is (one of) that, checked in the same
        statement, so that two people deciding at once cannot both succeed. True when a row changed."""
        query = update(artifacts_table).where(artifacts_table.c.id == artifact_id)
        if expected is not None:
            query = query.where(artifacts_table.c.status.in_((expected,) if isinstance(expected, str) else expected))
        return conn.execute(query.values(status=status)).rowcount == 1

    def set_gate_passed(self, conn: Connection, artifact_id: str, passed: bool) -> None:
        """The gate's verdict on the text that would be released (a reviewer's edit is gated again)."""
        conn.execute(update(artifacts_table).where(artifacts_table.c.id == artifact_id).values(gate_passed=passed))

    def get_artifact(self, artifact_id: str) -> ArtifactRecord:
        with self.engine.connect() as conn:
            row = conn.execute(select(artifacts_table).where(artifacts_table.c.id == artifact_id)).first()
            if row is None:
                # Allow an unambiguous prefix, as git does with hashes.
                rows = conn.execute(select(artifacts_table).where(artifacts_table.c.id.like(f"{artifact_id}%"))).all()
                if len(rows) == 1 and len(artifact_id) >= 4:
                    row = rows[0]
        if row is None:
            raise NotFoundError(f"no artifact {artifact_id!r}; `hygeia review list` shows the ids")
        return _artifact(row)

    def list_artifacts(self, status: str | None = None) -> list[ArtifactRecord]:
        query = select(artifacts_table).order_by(artifacts_table.c.created_at, artifacts_table.c.id)
        if status:
            query = query.where(artifacts_table.c.status == status)
        with self.engine.connect() as conn:
            return [_artifact(row) for row in conn.execute(query)]

    # -- reviews ---------------------------------------------------------------------------
    def insert_review(self, conn: Connection, rev: ReviewRecord) -> int:
        result = conn.execute(reviews_table.insert().values(
            artifact_id=rev.artifact_id, reviewer=rev.reviewer, role=rev.role, decision=rev.decision,
            comment=rev.comment, diff=rev.diff, created_at=rev.created_at, usefulness=rev.usefulness,
            trust=rev.trust))
        return int(result.inserted_primary_key[0])

    def reviews_for(self, artifact_id: str) -> list[ReviewRecord]:
        query = select(reviews_table).where(reviews_table.c.artifact_id == artifact_id).order_by(reviews_table.c.id)
        with self.engine.connect() as conn:
            return [_review(r) for r in conn.execute(query)]

    def all_reviews(self) -> list[ReviewRecord]:
        """Every decision, oldest first (the console's dashboard)."""
        with self.engine.connect() as conn:
            return [_review(r) for r in conn.execute(select(reviews_table).order_by(reviews_table.c.id))]


def _artifact(row: Any) -> ArtifactRecord:
    return ArtifactRecord(id=row.id, kind=row.kind, status=row.status, created_at=row.created_at,
                          location=row.location, gate_passed=bool(row.gate_passed), record=json.loads(row.record))


def _review(r: Any) -> ReviewRecord:
    return ReviewRecord(artifact_id=r.artifact_id, reviewer=r.reviewer, role=r.role, decision=r.decision,
                        comment=r.comment, diff=r.diff, created_at=r.created_at, id=r.id, usefulness=r.usefulness,
                        trust=r.trust)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # let SQLAlchemy's BEGIN IMMEDIATE drive transactions
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def _redact(url: str) -> str:
    head, sep, tail = url.partition("@")
    if not sep:
        return url
    scheme, _, _creds = head.partition("://")
    return f"{scheme}://***@{tail}"


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0][:200]
