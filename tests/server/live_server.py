"""A real uvicorn serving Hygeia on 127.0.0.1 (a free port): helpers shared by the server tests
(imported by name: tests/server is on sys.path, see tests/conftest.py)."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import uvicorn

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

    def client(self, role: str | None = None, headers: dict[str, str] | None = None) -> httpx.Client:
        """An HTTP client authenticated as the user holding ``role`` (none: anonymous, or your own ``headers``)."""
        auth = {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}
        return httpx.Client(base_url=self.url, headers={**auth, **(headers or {})}, timeout=60)

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
