"""Kill the server (SIGKILL) in the middle of a job and start it again: the job is run again and finishes once;
no review is lost; the ledger still verifies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx
from sqlalchemy import select

from hygeia.governance.accounts import Accounts
from hygeia.governance.jobs import JobQueue
from hygeia.governance.ledger import Ledger
from hygeia.store import Store
from hygeia.store.db import artifacts_table

from live_server import free_port


def start_server(env: dict[str, str], port: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "hygeia.cli", "serve", "--port", str(port), "--log-level",
                             "warning"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"server did not start: {proc.stderr.read().decode()[-2000:]}")


def wait(http: httpx.Client, job_id: str, until: tuple[str, ...], timeout: float = 240) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = http.get(f"/api/v1/jobs/{job_id}").json()
        if job["status"] in until:
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} never reached {until}: {job}")


def test_a_job_interrupted_by_a_crash_finishes_exactly_once(tmp_path, store_url, actg175):
    home = tmp_path / "home"
    env = {**os.environ, "HYGEIA_HOME": str(home), "HYGEIA_DATABASE_URL": store_url,
           "HYGEIA_JOB_STALE_SECONDS": "8"}
    store = Store(store_url)
    accounts = Accounts(store)
    steward, reviewer = accounts.add_user("ann", "steward"), accounts.add_user("dr.lee", "reviewer")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = start_server(env, port)
    try:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {steward}"}, timeout=60) as http:
            small = actg175.frame.head(300).to_csv(index=False).encode()
            dataset = http.post("/api/v1/datasets", files={"file": ("actg.csv", small)}).json()["id"]
            first = http.post("/api/v1/jobs", json={"kind": "synth_table", "params": {
                "dataset_id": dataset, "generator": "independent_marginals", "policy": "demo"}}).json()
            first = wait(http, first["id"], ("succeeded", "failed"))
            assert first["status"] == "succeeded", first["error"]
            with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {reviewer}"}) as review:
                assert review.post(f"/api/v1/artifacts/{first['result']['artifact_id']}/reviews",
                                   json={"decision": "approve", "trust": 4}).status_code == 201

            full = actg175.frame.to_csv(index=False).encode()
            big = http.post("/api/v1/datasets", files={"file": ("actg-full.csv", full)}).json()["id"]
            job = http.post("/api/v1/jobs", json={"kind": "synth_table", "params": {
                "dataset_id": big, "generator": "gaussian_copula", "policy": "demo", "seed": 5}}).json()
            wait(http, job["id"], ("running",))
            time.sleep(1.0)
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(10)
        assert JobQueue(store).get(job["id"]).status == "running"  # the crash left it mid-way

        server = start_server(env, port)
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {steward}"}, timeout=60) as http:
            done = wait(http, job["id"], ("succeeded", "failed"))
        assert done["status"] == "succeeded", done["error"]
        assert done["attempts"] == 2 and done["result"]["artifact_id"]
        folder = JobQueue(store, home / "jobs").folder(job["id"]) / "candidate"
        with store.engine.connect() as conn:
            stored = conn.execute(select(artifacts_table.c.id)
                                  .where(artifacts_table.c.location == str(folder.resolve()))).all()
        assert [row.id for row in stored] == [done["result"]["artifact_id"]]  # run twice, recorded once
        kept = store.reviews_for(first["result"]["artifact_id"])
        assert [(r.reviewer, r.decision, r.trust) for r in kept] == [("dr.lee", "approve", 4)]
        assert Ledger(store).verify().ok
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(10)
