"""Persisted jobs: queued, claimed once, recovered after an interruption, never lost and never run twice."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from hygeia.errors import DataError, HygeiaError
from hygeia.governance.datasets import Datasets
from hygeia.governance.jobs import MAX_ATTEMPTS, JobQueue
from hygeia.governance.ledger import Ledger
from hygeia.store import Store
from hygeia.store.db import artifacts_table, jobs_table

NOTE = Path(__file__).parents[2] / "hygeia" / "text" / "examples" / "pneumonia_discharge.txt"


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("HYGEIA_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture
def queue(store_url, home) -> JobQueue:
    return JobQueue(Store(store_url))


def _age_heartbeat(queue: JobQueue, job_id: str, seconds: float) -> None:
    with queue.store.engine.begin() as conn:
        conn.execute(update(jobs_table).where(jobs_table.c.id == job_id).values(heartbeat_at=time.time() - seconds))


def test_parameters_are_checked_before_a_job_is_queued(queue):
    with pytest.raises(HygeiaError, match="unknown job kind 'synth'"):
        queue.submit("synth", {}, actor="ann")
    with pytest.raises(DataError, match="dataset_id"):
        queue.submit("synth_table", {}, actor="ann")
    with pytest.raises(DataError, match="generatr"):
        queue.submit("synth_table", {"dataset_id": "ds-1", "generatr": "gan"}, actor="ann")
    with pytest.raises(DataError, match="policy"):
        queue.submit("synth_table", {"dataset_id": "ds-1", "policy": "../../etc/passwd"}, actor="ann")
    assert queue.list() == []


def test_a_job_is_claimed_by_one_worker_only(queue):
    job = queue.submit("deid", {"dataset_id": "ds-x"}, actor="ann")
    assert job.status == "queued"
    claimed = queue.claim("w1")
    assert (claimed.id, claimed.status, claimed.attempts) == (job.id, "running", 1)
    assert queue.claim("w2") is None


def test_a_deid_job_writes_its_output_and_records_counts_once(queue):
    note = Datasets(queue.store).add(NOTE.name, NOTE.read_bytes(), actor="ann")
    job = queue.submit("deid", {"dataset_id": note.id, "patient": "p1"}, actor="ann")
    queue.run(queue.claim("w1"), "w1")
    done = queue.get(job.id)
    assert done.status == "succeeded", done.error
    assert done.result["identifiers"] > 0 and "ledger_events" not in done.result
    output = (queue.folder(job.id) / done.result["output"]).read_text(encoding="utf-8")
    assert output != NOTE.read_text(encoding="utf-8")
    events = [e for e in Ledger(queue.store).entries() if e.event == "deidentify"]
    assert len(events) == 1 and events[0].content["payload"]["categories"] == done.result["categories"]


def test_a_user_error_fails_the_job_with_its_message(queue):
    job = queue.submit("deid", {"dataset_id": "ds-missing"}, actor="ann")
    queue.run(queue.claim("w1"), "w1")
    failed = queue.get(job.id)
    assert failed.status == "failed" and "no dataset 'ds-missing'" in failed.error


def test_an_interrupted_job_is_queued_again_then_failed_after_the_last_attempt(queue):
    job = queue.submit("deid", {"dataset_id": "ds-x"}, actor="ann")
    queue.claim("dead-worker")
    assert queue.recover() == []  # its heartbeat is fresh
    _age_heartbeat(queue, job.id, 60)
    assert queue.recover() == [job.id]
    assert queue.get(job.id).status == "queued"
    for _ in range(MAX_ATTEMPTS - 1):
        queue.claim("dead-again")
        _age_heartbeat(queue, job.id, 60)
        queue.recover()
    failed = queue.get(job.id)
    assert failed.status == "failed" and f"interrupted {MAX_ATTEMPTS} times" in failed.error
    assert not queue.finish(job.id, "dead-again", result={})  # the old worker cannot overwrite the outcome


def test_a_job_whose_artifact_was_stored_is_not_run_again(queue, actg175):
    table = actg175.frame.head(300).to_csv(index=False).encode()
    dataset = Datasets(queue.store).add("actg.csv", table, actor="ann")
    job = queue.submit("synth_table", {"dataset_id": dataset.id, "generator": "independent_marginals",
                                       "policy": "demo"}, actor="ann")
    queue.run(queue.claim("w1"), "w1")
    first = queue.get(job.id)
    assert first.status == "succeeded", first.error
    ledger_size = Ledger(queue.store).head()[0]
    # The worker died after the artifact was committed but before the job was marked done.
    with queue.store.engine.begin() as conn:
        conn.execute(update(jobs_table).where(jobs_table.c.id == job.id).values(status="running", result=None))
    _age_heartbeat(queue, job.id, 60)
    queue.recover()
    queue.run(queue.claim("w2"), "w2")
    again = queue.get(job.id)
    assert again.status == "succeeded" and again.result == {"artifact_id": first.result["artifact_id"],
                                                            "recovered": True}
    with queue.store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(artifacts_table)).scalar() == 1
    assert Ledger(queue.store).head()[0] == ledger_size
