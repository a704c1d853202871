"""The ``live`` fixture: a real uvicorn on 127.0.0.1 over a fresh store, with one user per role."""

from __future__ import annotations

import pytest

from hygeia.governance.accounts import ROLES, Accounts
from hygeia.server import create_app
from hygeia.store import Store
from live_server import LiveServer, free_port, serve_in_thread


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
