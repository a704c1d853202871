"""A real uvicorn serving Hygeia on 127.0.0.1 (a free port), with one user per role."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import uvicorn

from hygeia.governance.accounts import ROLES, Accounts
from hygeia.server import create_app
from hygeia.store import Store


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LiveServer:
    url: str
    store: Store
    home: Path
    tokens: dict[str, str] = field(default_factory=dict)

    def client(self, role: str | None = None, **kwargs) -> httpx.Client:
        """An HTTP client authenticated as the user holding ``role`` (none: anonymous)."""
        headers = {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60, **kwargs)

    def wait_job(self, job_id: str, timeout: float = 240) -> dict:
        with self.client("steward") as http:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                job = http.get(f"/api/v1/jobs/{job_id}").json()
                if job["status"] in ("succeeded", "failed"):
                    return job
                time.sleep(0.3)
        raise AssertionError(f"job {job_id} did not finish in {timeout} s: {job}")


def serve_in_thread(app, port: int) -> tuple[uvicorn.Server, threading.Thread]:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    return server, thread


@pytest.fixture
def live(tmp_path, monkeypatch, store_url: str) -> LiveServer:
    """The app on a real uvicorn over a fresh store (SQLite and PostgreSQL), job worker running."""
    home = tmp_path / "home"
    monkeypatch.setenv("HYGEIA_HOME", str(home))
    monkeypatch.setenv("HYGEIA_DATABASE_URL", store_url)
    store = Store(store_url)
    accounts = Accounts(store)
    tokens = {role: accounts.add_user(f"{role}-1", role) for role in ROLES}
    port = free_port()
    server, thread = serve_in_thread(create_app(store), port)
    yield LiveServer(url=f"http://127.0.0.1:{port}", store=store, home=home, tokens=tokens)
    server.should_exit = True
    thread.join(15)
    store.engine.dispose()
