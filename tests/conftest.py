"""Shared fixtures: real clinical tables, never toy frames, for behaviour tests."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from hygeia.data.dataset import Dataset
from hygeia.data.demo import load_demo

# Helper modules beside the text and server tests (a real chat-completions server, sample notes, a live uvicorn)
# are imported by name from
# any test folder: tests/ is no package and pytest imports test files in importlib mode.
sys.path.insert(0, str(Path(__file__).parent / "text"))
sys.path.insert(0, str(Path(__file__).parent / "server"))


@pytest.fixture(scope="session")
def actg175() -> Dataset:
    """ACTG 175 HIV trial (2,139 x 28), shipped in the lifelines wheel."""
    return load_demo("actg175")


@pytest.fixture(scope="session")
def actg175_split(actg175: Dataset) -> tuple[Dataset, Dataset]:
    """A fixed 70/30 train/holdout split of ACTG 175 (modelled columns only)."""
    frame = actg175.modelled_frame().sample(frac=1.0, random_state=0).reset_index(drop=True)
    cut = int(len(frame) * 0.7)
    return (actg175.replace_frame(frame.iloc[:cut]), actg175.replace_frame(frame.iloc[cut:]))


# -- stores: every store test runs on SQLite and on a real PostgreSQL --------------------------------
import os
import uuid

from sqlalchemy import create_engine, text


def _postgres_url_or_skip() -> str:
    url = os.environ.get("HYGEIA_TEST_DATABASE_URL")
    if not url:
        if os.environ.get("HYGEIA_REQUIRE_POSTGRES"):
            pytest.fail("HYGEIA_REQUIRE_POSTGRES is set but HYGEIA_TEST_DATABASE_URL is not")
        pytest.skip("PostgreSQL not configured: `make test` starts one and sets HYGEIA_TEST_DATABASE_URL")
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """A fresh, empty database URL: a SQLite file, or a private schema in the test PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'hygeia.db'}"
        return
    base = _postgres_url_or_skip()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    yield f"{base}{sep}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def hygeia_env(tmp_path, monkeypatch, store_url: str):
    """Point HYGEIA_HOME and HYGEIA_DATABASE_URL at a fresh store for CLI-level tests."""
    monkeypatch.setenv("HYGEIA_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HYGEIA_DATABASE_URL", store_url)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def run(capsys):
    """Run ``hygeia ARGS...`` in-process; returns (exit code, stdout, stderr)."""
    from hygeia.cli import main

    def invoke(*args: object) -> tuple[int, str, str]:
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return invoke
