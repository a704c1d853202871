"""Load and crash-restart benchmark of `hygeia serve`: `python -m bench.server_load` from the repository root.

Everything runs on 127.0.0.1 over a fresh temporary store (SQLite under a temporary ``HYGEIA_HOME``, or the
PostgreSQL named by ``--database-url``, which must be an empty database or schema):

1. **Seed**: users through :class:`hygeia.governance.accounts.Accounts` (one per client, plus a steward, an
   auditor and a spare reviewer for the checks), then review candidates through the real governance code,
   :func:`hygeia.governance.clinical_text.draft_candidate` with the ``extractive`` backend on the notes bundled in
   ``hygeia/text/examples`` (three notes x three tasks, a new patient key each time). The seeding time is printed.
2. **Serve**: ``hygeia serve --host 127.0.0.1 --port P`` as a subprocess (its own process group); the benchmark
   waits for ``GET /api/v1/health``.
3. **Load**: ``--clients`` concurrent clients (asyncio + ``httpx.AsyncClient``, closed loop, each with its own
   token) for ``--duration`` seconds or ``--requests`` requests. Reviewers list the queue, read one of their
   candidates and review it when it is due (the candidates are partitioned among reviewers and the reviews spread
   over the run, so each candidate is decided exactly once and the queue does not empty at the start); stewards
   list the queue, read an artifact and list jobs; auditors read the ledger's last page and verify it. Every
   non-2xx answer is an error (none is expected here). Then a **contention** probe: ``--race-reviewers`` reviewers
   (default 8) decide the same candidate at the same instant, ten candidates in turn; exactly one decision may be
   accepted (201), every other must be refused (409).
4. **Restart**: a steward uploads ACTG 175 as CSV and submits a ``synth_table`` job (``vae`` with a training time
   budget, so it runs for tens of seconds); once it is ``running`` (fitting), reviews are posted and the server is
   killed with SIGKILL while some are still in flight; a new server on the same store must finish the job exactly
   once (one artifact in the job's folder, ``attempts`` 2, each ledger event of that artifact once), keep every
   review acknowledged before the kill, and the ledger must verify. A second job killed twice must end ``failed``
   with a message instead of running a third time.

Results: ``--out``/server_load.md, .json and .png (latency percentiles per endpoint). Bounded: about 5 minutes on
2 cores at the defaults; every server started is killed (process group) even when a step fails, and the temporary
``HYGEIA_HOME`` is removed unless ``--keep`` (or a step raised).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import platform
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
NOTES = ROOT / "hygeia" / "text" / "examples"
TASKS = ("discharge-summary", "note-summary", "patient-education")
API = "/api/v1"
HYGEIA = Path(sys.executable).parent / "hygeia"
#: Load-phase endpoints in report order.
ENDPOINTS = ("GET /artifacts?status=candidate", "GET /artifacts/{id}", "POST /artifacts/{id}/reviews", "GET /jobs",
             "GET /ledger", "GET /ledger/verify")
#: Long job for the restart checks: a VAE on ACTG 175 with a training time budget (one thread).
LONG_JOB = {"generator": "vae", "params": {"max_time": 20, "threads": 1}}
#: Candidates decided by several reviewers at the same instant (the contention probe).
RACE_CANDIDATES = 10
RESTART_REVIEWS = 16


# ------------------------------------------------------------------------------------------------ seeding
@dataclass
class Users:
    """Tokens by role: one per load client, plus the users the checks act as."""

    reviewers: list[tuple[str, str]] = field(default_factory=list)
    stewards: list[tuple[str, str]] = field(default_factory=list)
    auditors: list[tuple[str, str]] = field(default_factory=list)
    steward: str = ""
    auditor: str = ""
    spare_reviewer: str = ""


def client_mix(clients: int) -> dict[str, int]:
    """Reviewers 60 %, stewards 28 %, auditors the rest (at least one of each)."""
    reviewers = max(1, round(clients * 0.6))
    stewards = max(1, round(clients * 0.28))
    auditors = max(1, clients - reviewers - stewards)
    return {"reviewer": reviewers, "steward": stewards, "auditor": auditors}


def create_users(store: Any, mix: dict[str, int]) -> Users:
    """One user and token per client, via the same :class:`Accounts` that `hygeia users add` calls."""
    from hygeia.governance.accounts import Accounts

    accounts, users = Accounts(store), Users()
    for role, count in mix.items():
        for i in range(count):
            name = f"{role}-{i:02d}"
            getattr(users, f"{role}s").append((name, accounts.add_user(name, role)))
    users.steward = accounts.add_user("steward-checks", "steward")
    users.auditor = accounts.add_user("auditor-checks", "auditor")
    users.spare_reviewer = accounts.add_user("reviewer-checks", "reviewer")
    return users


def seed_candidates(store: Any, home: Path, count: int) -> tuple[list[str], float]:
    """``count`` drafted clinical texts awaiting review; their ids and the seconds it took (imports included)."""
    start = time.perf_counter()
    from hygeia.governance.clinical_text import draft_candidate, read_note

    notes = [(p.name, read_note(p)) for p in sorted(NOTES.glob("*.txt"))]
    ids = []
    for i in range(count):
        name, note = notes[i % len(notes)]
        task = TASKS[(i // len(notes)) % len(TASKS)]
        result = draft_candidate(note, task, out_dir=home / "seed" / f"cand-{i:04d}", backend="extractive",
                                 patient=f"bench-patient-{i}", seed=i, source=name, store=store, actor="steward-seed")
        ids.append(result.artifact_id)
    return ids, time.perf_counter() - start


# ------------------------------------------------------------------------------------------------ server
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """`hygeia serve` in a subprocess (its own process group) on 127.0.0.1:``port``; logs to ``log``."""

    def __init__(self, port: int, env: dict[str, str], log: Path) -> None:
        self.port, self.env, self.log = port, env, log
        self.url = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 90) -> float:
        """Start and wait for /health; the seconds it took."""
        start = time.perf_counter()
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [str(HYGEIA), "serve", "--host", "127.0.0.1", "--port", str(self.port), "--job-workers", "1",
                 "--log-level", "warning"], env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"hygeia serve exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.url}{API}/health", timeout=2).status_code == 200:
                    return time.perf_counter() - start
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"hygeia serve did not answer /health in {timeout} s:\n{self.log_tail()}")

    def kill9(self) -> None:
        """SIGKILL the whole process group (a crash, no shutdown handlers) and reap it."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        """SIGTERM (graceful), then SIGKILL after 10 s; safe to call twice."""
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.kill9()
        except ProcessLookupError:
            pass

    def cpu_seconds(self) -> float:
        """User + system CPU seconds the server process has used (Linux /proc)."""
        if self.proc is None or self.proc.poll() is not None:
            return float("nan")
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def log_tail(self, lines: int = 40) -> str:
        text = self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


# ------------------------------------------------------------------------------------------------ load
@dataclass(frozen=True)
class Sample:
    endpoint: str
    status: str  # HTTP status, or the exception's class name
    ms: float


class Clock:
    """When the load phase ends: after ``duration`` seconds, or after ``requests`` requests when given."""

    def __init__(self, duration: float | None, requests: int | None) -> None:
        self.duration, self.requests = duration, requests
        self.start = time.perf_counter()
        self.issued = 0

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def progress(self) -> float:
        """0 at the start, 1 at the end (whichever bound comes first)."""
        by_time = self.elapsed() / self.duration if self.duration else 0.0
        by_count = self.issued / self.requests if self.requests else 0.0
        return min(1.0, max(by_time, by_count))

    def done(self) -> bool:
        return self.progress() >= 1.0 or self.elapsed() > 600


async def call(http: httpx.AsyncClient, samples: list[Sample], endpoint: str, method: str, url: str,
               clock: Clock | None = None, **kwargs: Any) -> httpx.Response | None:
    """One timed request; its sample is appended (an exception is a sample too, with no response)."""
    if clock is not None:
        clock.issued += 1
    start = time.perf_counter()
    try:
        response = await http.request(method, url, **kwargs)
        status = str(response.status_code)
    except httpx.HTTPError as exc:
        response, status = None, type(exc).__name__
    samples.append(Sample(endpoint, status, (time.perf_counter() - start) * 1000))
    return response


def review_body(artifact_id: str) -> dict[str, Any]:
    """A decision as a reviewer would give it: mostly approvals, a reasoned rejection one time in five."""
    rng = random.Random(artifact_id)
    if rng.random() < 0.2:
        return {"decision": "reject", "comment": "unsupported dose in the summary", "usefulness": 2, "trust": 2}
    return {"decision": "approve", "comment": "checked against the source", "usefulness": rng.randint(3, 5),
            "trust": rng.randint(3, 5)}


async def reviewer(http: httpx.AsyncClient, mine: list[str], clock: Clock, samples: list[Sample],
                   think: float) -> int:
    """List the queue, read the next own candidate, review it when due; the number of reviews posted."""
    done = 0
    while not clock.done():
        await call(http, samples, ENDPOINTS[0], "GET", f"{API}/artifacts", clock, params={"status": "candidate"})
        if mine:
            current = mine[min(done, len(mine) - 1)]
            await call(http, samples, ENDPOINTS[1], "GET", f"{API}/artifacts/{current}", clock)
            if done < len(mine) and clock.progress() >= (done + 1) / (len(mine) + 1):
                await call(http, samples, ENDPOINTS[2], "POST", f"{API}/artifacts/{current}/reviews", clock,
                           json=review_body(current))
                done += 1
        await asyncio.sleep(think)
    return done


async def steward(http: httpx.AsyncClient, all_ids: list[str], clock: Clock, samples: list[Sample],
                  think: float, rng: random.Random) -> int:
    """List the queue, read any artifact, list the jobs."""
    while not clock.done():
        await call(http, samples, ENDPOINTS[0], "GET", f"{API}/artifacts", clock, params={"status": "candidate"})
        await call(http, samples, ENDPOINTS[1], "GET", f"{API}/artifacts/{rng.choice(all_ids)}", clock)
        await call(http, samples, ENDPOINTS[3], "GET", f"{API}/jobs", clock)
        await asyncio.sleep(think)
    return 0


async def auditor(http: httpx.AsyncClient, clock: Clock, samples: list[Sample], think: float) -> int:
    """Read the ledger's first page and verify the whole chain."""
    while not clock.done():
        await call(http, samples, ENDPOINTS[4], "GET", f"{API}/ledger", clock, params={"limit": 200})
        await call(http, samples, ENDPOINTS[5], "GET", f"{API}/ledger/verify", clock)
        await asyncio.sleep(think)
    return 0


def client(url: str, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60,
                             limits=httpx.Limits(max_connections=2))


async def run_load(url: str, users: Users, candidates: list[str], args: argparse.Namespace) -> dict[str, Any]:
    """Every client at once until the clock ends; samples, wall time and reviews posted."""
    clock, samples = Clock(args.duration, args.requests), []
    shares = [candidates[i::len(users.reviewers)] for i in range(len(users.reviewers))]
    http = [client(url, token) for _, token in users.reviewers + users.stewards + users.auditors]
    tasks = [reviewer(h, share, clock, samples, args.think) for h, share in zip(http, shares)]
    rest = http[len(users.reviewers):]
    tasks += [steward(h, candidates, clock, samples, args.think, random.Random(i))
              for i, h in enumerate(rest[:len(users.stewards)])]
    tasks += [auditor(h, clock, samples, args.think) for h in rest[len(users.stewards):]]
    try:
        posted = await asyncio.gather(*tasks)
    finally:
        await asyncio.gather(*(h.aclose() for h in http))
    return {"samples": samples, "wall": clock.elapsed(), "reviews_posted": sum(posted)}


async def race(url: str, tokens: list[str], ids: list[str]) -> dict[str, Any]:
    """All ``tokens`` decide each candidate at the same instant (half approve, half reject): one 201 is expected,
    every other answer a 409."""
    http = [client(url, token) for token in tokens]
    statuses: Counter[str] = Counter()
    accepted = []
    try:
        await asyncio.gather(*(h.get(f"{API}/me") for h in http))  # open every connection first
        for artifact_id in ids:
            samples: list[Sample] = []
            await asyncio.gather(*(
                call(h, samples, "race", "POST", f"{API}/artifacts/{artifact_id}/reviews",
                     json={"decision": "reject", "comment": f"race {i}"} if i % 2 else
                     {"decision": "approve", "comment": f"race {i}"}) for i, h in enumerate(http)))
            statuses.update(s.status for s in samples)
            accepted.append(sum(s.status == "201" for s in samples))
    finally:
        await asyncio.gather(*(h.aclose() for h in http))
    return {"candidates": len(ids), "reviewers_at_once": len(tokens), "exactly_one_201": accepted.count(1),
            "more_than_one_201": sum(n > 1 for n in accepted), "none_201": accepted.count(0),
            "statuses": dict(sorted(statuses.items()))}


# ------------------------------------------------------------------------------------------------ summary
def percentiles(ms: list[float]) -> dict[str, float]:
    p50, p95, p99 = np.percentile(ms, [50, 95, 99]) if ms else (float("nan"),) * 3
    return {"p50_ms": round(float(p50), 1), "p95_ms": round(float(p95), 1), "p99_ms": round(float(p99), 1)}


def summarise(samples: list[Sample], wall: float) -> dict[str, Any]:
    """Per endpoint and overall: requests, latency percentiles, throughput, errors by status."""
    groups: dict[str, list[Sample]] = defaultdict(list)
    for s in samples:
        groups[s.endpoint].append(s)
    rows = {}
    for name in [e for e in ENDPOINTS if e in groups] + ["overall"]:
        group = samples if name == "overall" else groups[name]
        errors = Counter(s.status for s in group if not s.status.startswith("2"))
        rows[name] = {"requests": len(group), **percentiles([s.ms for s in group]),
                      "throughput_rps": round(len(group) / wall, 1), "errors": sum(errors.values()),
                      "errors_by_status": dict(sorted(errors.items()))}
    return rows


# ------------------------------------------------------------------------------------------------ restart checks
def table_counts(store: Any) -> dict[str, int]:
    """Rows in the reviews, artifacts and ledger tables, and ledger review events (read straight from the store)."""
    from sqlalchemy import func, select

    from hygeia.store.db import artifacts_table, ledger_table, reviews_table

    with store.engine.connect() as conn:
        def count(query: Any) -> int:
            return int(conn.execute(query).scalar_one())

        return {"reviews": count(select(func.count()).select_from(reviews_table)),
                "artifacts": count(select(func.count()).select_from(artifacts_table)),
                "ledger": count(select(func.count()).select_from(ledger_table)),
                "ledger_reviews": count(select(func.count()).select_from(ledger_table)
                                        .where(ledger_table.c.event == "review"))}


def decided_consistency(store: Any) -> dict[str, int]:
    """Artifacts decided without a review, candidates with one, and artifacts with more than one review."""
    from sqlalchemy import func, select

    from hygeia.store.db import artifacts_table, reviews_table

    with store.engine.connect() as conn:
        per = dict(conn.execute(select(reviews_table.c.artifact_id, func.count())
                                .group_by(reviews_table.c.artifact_id)).all())
        status = dict(conn.execute(select(artifacts_table.c.id, artifacts_table.c.status)).all())
    return {"decided_without_review": sum(s != "candidate" and a not in per for a, s in status.items()),
            "candidate_with_review": sum(s == "candidate" and a in per for a, s in status.items()),
            "reviewed_more_than_once": sum(n > 1 for n in per.values())}


def artifacts_of_job(store: Any, home: Path, job_id: str) -> list[dict[str, Any]]:
    """Artifacts stored anywhere in the job's folder, with the count of each ledger event recorded for them."""
    from sqlalchemy import select

    from hygeia.store.db import artifacts_table, ledger_table

    folder = str((home / "jobs" / job_id).resolve())
    with store.engine.connect() as conn:
        rows = conn.execute(select(artifacts_table.c.id, artifacts_table.c.location)
                            .where(artifacts_table.c.location.like(f"{folder}%"))).all()
        found = []
        for row in rows:
            events = Counter(e for (e,) in conn.execute(select(ledger_table.c.event)
                                                        .where(ledger_table.c.artifact_id == row.id)))
            found.append({"id": row.id, "location": row.location, "ledger_events": dict(events)})
    return found


def upload_actg175(http: httpx.Client) -> str:
    """ACTG 175 (2,139 rows) as a CSV upload; the dataset id."""
    from hygeia.data.demo import load_demo

    frame = load_demo("actg175").frame.drop(columns=["Unnamed: 0"], errors="ignore")
    buffer = io.BytesIO(frame.to_csv(index=False).encode())
    response = http.post(f"{API}/datasets", files={"file": ("actg175.csv", buffer, "text/csv")})
    response.raise_for_status()
    return response.json()["id"]


def submit_long_job(http: httpx.Client, dataset_id: str, seed: int) -> str:
    response = http.post(f"{API}/jobs", json={"kind": "synth_table",
                                               "params": {"dataset_id": dataset_id, "seed": seed, **LONG_JOB}})
    response.raise_for_status()
    return response.json()["id"]


def wait_job(http: httpx.Client, job_id: str, until: Any, timeout: float) -> dict[str, Any]:
    """Poll the job until ``until(job)`` holds; the job (raises after ``timeout`` seconds)."""
    deadline, job = time.monotonic() + timeout, {}
    while time.monotonic() < deadline:
        try:
            job = http.get(f"{API}/jobs/{job_id}").json()
            if until(job):
                return job
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"job {job_id} did not reach the expected state in {timeout} s; last seen: {job}")


def fitting(job: dict[str, Any]) -> bool:
    return job.get("status") == "running" and str(job.get("progress", "")).startswith("fitting")


def finished(job: dict[str, Any]) -> bool:
    return job.get("status") in ("succeeded", "failed")


def verify_ledger(url: str, token: str) -> dict[str, Any]:
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=120) as http:
        return http.get(f"{API}/ledger/verify").json()


async def reviews_then_kill(server: Server, token: str, ids: list[str]) -> dict[str, Any]:
    """Post reviews on ``ids`` one per 20 ms (several in flight); SIGKILL the server once half are acknowledged."""
    acknowledged: list[int] = []
    samples: list[Sample] = []
    async with httpx.AsyncClient(base_url=server.url, headers={"Authorization": f"Bearer {token}"},
                                 timeout=60) as http:
        async def one(i: int, artifact_id: str) -> None:
            await asyncio.sleep(0.02 * i)
            response = await call(http, samples, "restart", "POST", f"{API}/artifacts/{artifact_id}/reviews",
                                  json=review_body(artifact_id))
            if response is not None and response.status_code == 201:
                acknowledged.append(response.json()["id"])

        tasks = [asyncio.create_task(one(i, a)) for i, a in enumerate(ids)]
        while len(acknowledged) < len(ids) // 2 and not all(t.done() for t in tasks):
            await asyncio.sleep(0.01)
        server.kill9()
        await asyncio.gather(*tasks, return_exceptions=True)
    return {"acknowledged_ids": acknowledged, "attempted": len(ids),
            "statuses": dict(Counter(s.status for s in samples))}


def restart_once(server: Server, users: Users, store: Any, home: Path, dataset_id: str,
                 reserved: list[str]) -> dict[str, Any]:
    """Kill -9 mid-job (reviews in flight), restart; the job must succeed exactly once and no review be lost."""
    steward_http = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {users.steward}"},
                                timeout=60)
    with steward_http:
        job_id = submit_long_job(steward_http, dataset_id, seed=1)
        seen = wait_job(steward_http, job_id, fitting, 120)
    before = table_counts(store)
    burst = asyncio.run(reviews_then_kill(server, users.spare_reviewer, reserved))
    killed_at = time.perf_counter()
    at_kill = table_counts(store)
    restart_s = server.start()
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {users.steward}"}, timeout=60) as http:
        job = wait_job(http, job_id, finished, 240)
    recovered_s = time.perf_counter() - killed_at
    after = table_counts(store)
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {users.spare_reviewer}"},
                      timeout=60) as http:
        present = {r["id"] for a in reserved for r in http.get(f"{API}/artifacts/{a}/reviews").json()}
    found = artifacts_of_job(store, home, job_id)
    expected_location = str((home / "jobs" / job_id / "candidate").resolve())
    ledger = verify_ledger(server.url, users.auditor)
    checks = {
        "job succeeded": job["status"] == "succeeded",
        "attempts == 2": job["attempts"] == 2,
        "exactly one artifact in the job's folder": len(found) == 1 and found[0]["location"] == expected_location,
        "job result names that artifact": bool(found) and (job.get("result") or {}).get("artifact_id") == found[0]["id"],
        "each ledger event of the artifact once": bool(found) and all(n == 1 for n in found[0]["ledger_events"].values()),
        "every acknowledged review kept": set(burst["acknowledged_ids"]) <= present,
        "reviews after >= reviews at kill": after["reviews"] >= at_kill["reviews"],
        "ledger review events == reviews": after["ledger_reviews"] == after["reviews"],
        "ledger verifies": bool(ledger.get("ok")),
    }
    return {"job_id": job_id, "progress_at_kill": seen.get("progress"), "job": {k: job.get(k) for k in (
                "status", "attempts", "error", "started_at", "finished_at")},
            "artifact": found, "reviews_before_burst": before["reviews"], "reviews_at_kill": at_kill["reviews"],
            "reviews_after": after["reviews"], "burst": {**burst, "acknowledged": len(burst["acknowledged_ids"])},
            "restart_to_health_s": round(restart_s, 1), "kill_to_job_done_s": round(recovered_s, 1),
            "ledger": {k: ledger.get(k) for k in ("ok", "size", "message")},
            "consistency": decided_consistency(store), "checks": checks}


def kill_twice(server: Server, users: Users, store: Any, home: Path, dataset_id: str) -> dict[str, Any]:
    """Kill -9 during the first and the second attempt; the job must end failed with a message, no artifact."""
    def steward_client() -> httpx.Client:
        return httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {users.steward}"}, timeout=60)

    start = time.perf_counter()
    with steward_client() as http:
        job_id = submit_long_job(http, dataset_id, seed=2)
        wait_job(http, job_id, fitting, 120)
    server.kill9()
    server.start()
    with steward_client() as http:
        second = wait_job(http, job_id, lambda j: fitting(j) and j.get("attempts") == 2 or finished(j), 120)
    server.kill9()
    server.start()
    with steward_client() as http:
        job = wait_job(http, job_id, finished, 120)
        time.sleep(2)  # a third run would have started by now
        job = http.get(f"{API}/jobs/{job_id}").json()
    found = artifacts_of_job(store, home, job_id)
    checks = {"second attempt ran": second.get("attempts") == 2 and second.get("status") == "running",
              "job failed": job["status"] == "failed", "attempts == 2": job["attempts"] == 2,
              "error names the interruption": "interrupted" in (job.get("error") or ""),
              "no artifact stored": not found}
    return {"job_id": job_id, "job": {k: job.get(k) for k in ("status", "attempts", "error", "progress")},
            "seconds": round(time.perf_counter() - start, 1), "checks": checks}


# ------------------------------------------------------------------------------------------------ report
def machine() -> dict[str, Any]:
    import fastapi
    import uvicorn

    from hygeia import __version__

    def git(*args: str) -> str:
        return subprocess.run(["git", "--no-optional-locks", *args], cwd=ROOT, capture_output=True, text=True,
                              check=False).stdout.strip()

    changed = git("status", "--porcelain", "--", "hygeia").splitlines()
    return {"git_head": git("rev-parse", "--short", "HEAD"), "hygeia_uncommitted": [line[3:] for line in changed],
            "python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count(),
            "load_avg_at_start": [round(x, 2) for x in os.getloadavg()], "hygeia": __version__,
            "fastapi": fastapi.__version__, "uvicorn": uvicorn.__version__, "httpx": httpx.__version__}


def load_table(endpoints: dict[str, Any]) -> list[str]:
    """The load phase as Markdown table lines: one row per endpoint, then the overall row."""
    lines = ["| endpoint | requests | p50 ms | p95 ms | p99 ms | req/s | errors |", "|---|---:|---:|---:|---:|---:|---|"]
    for name, row in endpoints.items():
        errors = ", ".join(f"{k}: {v}" for k, v in row["errors_by_status"].items()) or "0"
        label = f"**{name}**" if name == "overall" else f"`{name}`"
        lines.append(f"| {label} | {row['requests']} | {row['p50_ms']} | {row['p95_ms']} | {row['p99_ms']} | "
                     f"{row['throughput_rps']} | {errors} |")
    return lines


def markdown(report: dict[str, Any]) -> str:
    """The results as Markdown: settings, the load table, the contention probe and the restart checks."""
    s, load, seed, race_ = report["settings"], report["load"], report["seeding"], report["contention"]
    cpu = load["cpu_s"]
    cpus, load_avg = report["machine"]["cpus"], report["machine"]["load_avg_at_start"][0]
    mix = ", ".join(f"{n} {r}s" for r, n in s["mix"].items())
    lines = [
        f"# `hygeia serve` under load, and after a crash ({report['date']})", "",
        f"Command: `{report['command']}`  ",
        f"Code: commit {report['machine']['git_head']}"
        + (f" plus uncommitted changes in {len(report['machine']['hygeia_uncommitted'])} files under hygeia/  "
           if report["machine"]["hygeia_uncommitted"] else "  "),
        (f"Store: {s['store']}. One `hygeia serve --job-workers 1` process and the load clients share the machine "
         f"({cpus} CPUs, load average {load_avg} at start)."), "",
        (f"Seeding: {seed['users']} users and {seed['candidates']} drafted candidates (extractive backend, the real "
         f"governance code) in {seed['seconds']:.1f} s."), "",
        f"## Load: {s['clients']} clients ({mix}), closed loop, think time {s['think']} s, {load['wall_s']:.1f} s",
        "", *load_table(load["endpoints"]), "",
        (f"Reviews posted: {load['reviews_posted']} (each candidate of the load phase at most once). CPU seconds "
         f"during the phase: server {cpu['server']}, load clients {cpu['clients']} (same machine)."), "",
        "## Contention: several reviewers decide the same candidate at once", "",
        (f"{race_['reviewers_at_once']} reviewers post a decision on the same candidate at the same instant (half "
         f"approve, half reject), {race_['candidates']} candidates in turn. Expected: one 201, every other answer "
         f"409. Got: exactly one 201 on {race_['exactly_one_201']}, **more than one 201 on "
         f"{race_['more_than_one_201']}**, none on {race_['none_201']}; answers {race_['statuses']}. Reviews stored "
         f"per candidate afterwards ({{reviews: candidates}}): {race_['reviews_per_artifact']}; ledger after the "
         f"probe: {race_['ledger']}."), ""]
    for title, key in (("Restart: kill -9 while a job runs and reviews are in flight", "restart"),
                       ("Killed twice: the job must fail, not loop", "double_kill")):
        lines += [f"## {title}", "", *check_lines(report.get(key))]
    lines += [f"Total run time: {report['total_s']:.0f} s."]
    return "\n".join(lines) + "\n"


def check_lines(part: dict[str, Any] | None) -> list[str]:
    """One restart check as Markdown: a pass/fail table, then its details as JSON."""
    if part is None or "error" in part:
        return [f"Not completed: {part['error'] if part else 'skipped (--skip-restart)'}", ""]
    lines = ["| check | result |", "|---|---|"]
    lines += [f"| {name} | {'pass' if ok else '**FAIL**'} |" for name, ok in part["checks"].items()]
    shown = {k: v for k, v in part.items() if k != "checks"}
    if "burst" in shown:  # the review ids are in the JSON file; the count is enough here
        shown["burst"] = {k: v for k, v in shown["burst"].items() if k != "acknowledged_ids"}
    details = json.dumps(shown, indent=1, default=str)
    return [*lines, "", "```json", details, "```", ""]


def plot(endpoints: dict[str, Any], path: Path) -> None:
    """Grouped bars: p50 / p95 / p99 latency per endpoint (log scale)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(endpoints)
    x = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(10, 4.5))
    for i, key in enumerate(("p50_ms", "p95_ms", "p99_ms")):
        ax.bar(x + (i - 1) * 0.27, [endpoints[n][key] for n in names], 0.27, label=key.split("_")[0])
    ax.set_xticks(x, [n.replace(" /", "\n/") for n in names], fontsize=8)
    ax.set_yscale("log")
    ax.set_ylabel("latency (ms, log)")
    ax.set_title("hygeia serve: latency per endpoint under load")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ------------------------------------------------------------------------------------------------ main
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=50, help="Concurrent load clients (default 50).")
    bound = parser.add_mutually_exclusive_group()
    bound.add_argument("--duration", type=float, default=None, help="Load phase seconds (default 60).")
    bound.add_argument("--requests", type=int, default=None, help="Stop the load phase after this many requests.")
    parser.add_argument("--candidates", type=int, default=150, help="Review candidates to seed (default 150).")
    parser.add_argument("--think", type=float, default=0.0, help="Seconds each client waits between rounds.")
    parser.add_argument("--race-reviewers", type=int, default=8,
                        help="Reviewers deciding the same candidate at once in the contention probe (default 8).")
    parser.add_argument("--database-url", default=None,
                        help="A PostgreSQL URL instead of SQLite: the run uses a private schema, dropped at the end.")
    parser.add_argument("--skip-restart", action="store_true", help="Only the load phase and the contention probe.")
    parser.add_argument("--keep", action="store_true", help="Keep the temporary HYGEIA_HOME (it is kept on failure).")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results", help="Where the results go.")
    args = parser.parse_args(argv)
    if args.duration is None and args.requests is None:
        args.duration = 60.0
    return args


@contextmanager
def private_schema(base_url: str) -> Iterator[str]:
    """A fresh schema in the PostgreSQL at ``base_url`` (dropped afterwards); the URL whose search_path is it."""
    from sqlalchemy import create_engine, text

    schema = f"bench_load_{secrets.token_hex(6)}"
    admin = create_engine(base_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{base_url}{'&' if '?' in base_url else '?'}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def environment(home: Path, database_url: str | None) -> dict[str, str]:
    """The store's environment, set for this process; the servers' environment (one thread per numeric library)."""
    url = database_url or f"sqlite:///{home / 'hygeia.db'}"
    env = {"HYGEIA_HOME": str(home), "HYGEIA_DATABASE_URL": url, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "OPENBLAS_NUM_THREADS": "1"}
    os.environ.update(env)
    return {**os.environ, **env}


def load_phase(server: Server, users: Users, ids: list[str], args: argparse.Namespace) -> dict[str, Any]:
    """The load clients against the running server; the summary, with the CPU seconds each side used."""
    server_cpu, client_cpu = server.cpu_seconds(), time.process_time()
    result = asyncio.run(run_load(server.url, users, ids, args))
    cpu = {"server": round(server.cpu_seconds() - server_cpu, 1), "clients": round(time.process_time() - client_cpu, 1)}
    return {"wall_s": round(result["wall"], 1), "reviews_posted": result["reviews_posted"], "cpu_s": cpu,
            "endpoints": summarise(result["samples"], result["wall"])}


def contention_phase(server: Server, users: Users, store: Any, ids: list[str], reviewers: int) -> dict[str, Any]:
    """The contention probe, with what the store and the ledger hold afterwards."""
    tokens = [token for _, token in users.reviewers[:reviewers]]
    result = asyncio.run(race(server.url, tokens, ids))
    ledger = verify_ledger(server.url, users.auditor)
    return {**result, "reviews_per_artifact": reviews_per_artifact(store, ids),
            "ledger": {k: ledger.get(k) for k in ("ok", "size")}}


def restart_phases(server: Server, users: Users, store: Any, home: Path, ids: list[str]) -> dict[str, Any]:
    """Upload ACTG 175, then the kill-once and the kill-twice checks (each recorded even when it breaks)."""
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {users.steward}"}, timeout=120) as http:
        dataset_id = upload_actg175(http)
    restart = guarded(restart_once, server, users, store, home, dataset_id, ids)
    print("restart:", restart.get("checks", restart), flush=True)
    double = guarded(kill_twice, server, users, store, home, dataset_id)
    print("killed twice:", double.get("checks", double), flush=True)
    return {"restart": restart, "double_kill": double}


def run(args: argparse.Namespace, home: Path, database_url: str | None) -> dict[str, Any]:
    """Seed, serve, load, probe, restart; the report (every server is stopped before it returns or raises)."""
    env = environment(home, database_url)
    from hygeia.store import Store

    store, mix = Store(), client_mix(args.clients)
    report: dict[str, Any] = {"date": datetime.now(UTC).isoformat(timespec="seconds"), "machine": machine(),
                              "command": "python -m bench.server_load " + " ".join(sys.argv[1:]),
                              "settings": {"clients": args.clients, "mix": mix, "duration_s": args.duration,
                                           "requests": args.requests, "think": args.think,
                                           "candidates": args.candidates, "long_job": LONG_JOB,
                                           "store": "PostgreSQL" if database_url else "SQLite (WAL) file"}}
    users = create_users(store, mix)
    print(f"seeding {args.candidates} candidates under {home} ...", flush=True)
    ids, seconds = seed_candidates(store, home, args.candidates)
    report["seeding"] = {"candidates": len(ids), "users": sum(mix.values()) + 3, "seconds": round(seconds, 1)}
    print(f"seeded {len(ids)} candidates in {seconds:.1f} s", flush=True)
    race_ids, restart_ids = ids[:RACE_CANDIDATES], ids[RACE_CANDIDATES:RACE_CANDIDATES + RESTART_REVIEWS]
    load_ids = ids[RACE_CANDIDATES + (0 if args.skip_restart else RESTART_REVIEWS):]
    server = Server(free_port(), env, home / "server.log")
    try:
        print(f"server up in {server.start():.1f} s on {server.url}; {args.clients} clients ...", flush=True)
        report["load"] = load_phase(server, users, load_ids, args)
        print("\n".join(load_table(report["load"]["endpoints"])), flush=True)
        report["contention"] = contention_phase(server, users, store, race_ids, args.race_reviewers)
        print("contention:", {k: v for k, v in report["contention"].items() if k != "statuses"}, flush=True)
        if not args.skip_restart:
            report.update(restart_phases(server, users, store, home, restart_ids))
    except Exception:
        print(f"--- server log (last lines) ---\n{server.log_tail()}", file=sys.stderr)
        raise
    finally:
        server.stop()
        store.engine.dispose()
    return report


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    start = time.perf_counter()
    home = Path(tempfile.mkdtemp(prefix="hygeia-load-")).resolve()
    with ExitStack() as stack:
        url = stack.enter_context(private_schema(args.database_url)) if args.database_url else None
        report = run(args, home, url)
    report["total_s"] = round(time.perf_counter() - start, 1)
    write_results(report, args.out)
    if not args.keep:
        shutil.rmtree(home, ignore_errors=True)
    print(f"done in {report['total_s']:.0f} s; results in {args.out}"
          + (f"; store kept in {home}" if args.keep else ""), flush=True)
    return report


def guarded(step: Any, *args: Any) -> dict[str, Any]:
    """Run one check; a failure is recorded with its message instead of ending the benchmark."""
    try:
        return step(*args)
    except Exception as exc:  # noqa: BLE001 - a broken check is a finding to report
        return {"error": f"{type(exc).__name__}: {exc}"}


def reviews_per_artifact(store: Any, ids: list[str]) -> dict[str, int]:
    """How many reviews the store holds per artifact id, as a histogram {count: artifacts}."""
    from sqlalchemy import func, select

    from hygeia.store.db import reviews_table

    with store.engine.connect() as conn:
        per = dict(conn.execute(select(reviews_table.c.artifact_id, func.count())
                                .where(reviews_table.c.artifact_id.in_(ids))
                                .group_by(reviews_table.c.artifact_id)).all())
    return dict(sorted(Counter(per.get(i, 0) for i in ids).items()))


def write_results(report: dict[str, Any], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "server_load.json").write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
    (out / "server_load.md").write_text(markdown(report), encoding="utf-8")
    plot({k: v for k, v in report["load"]["endpoints"].items()}, out / "server_load.png")


if __name__ == "__main__":
    main()
