"""The service: ``create_app()`` builds the FastAPI app (REST API under ``/api/v1``, web console under ``/``).

>>> app = create_app(store=Store("sqlite:///:memory:"), run_jobs=False)  # doctest: +SKIP
>>> uvicorn.run(app, host="127.0.0.1", port=8700)                          # doctest: +SKIP
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import AsyncIterator

from fastapi import FastAPI, Request, Response

from hygeia import __version__
from hygeia.governance.jobs import JobQueue
from hygeia.server import problems
from hygeia.server.api import router as api_router
from hygeia.server.worker import JobRunner
from hygeia.store.db import Store

DESCRIPTION = """Hygeia's REST API: upload data, run jobs (synthesise a table or FHIR patients, de-identify, draft a
clinical text), read artifacts with their scorecards and reports, review them, release them and read the ledger.

Every request needs `Authorization: Bearer <token>` (issued by `hygeia users add NAME --role ROLE`); each role
may do only its part: steward (upload, run jobs, release), reviewer (review), researcher (download releases),
auditor (read the ledger), admin (users and tokens). Errors are RFC 9457 problem details."""


def create_app(store: Store | None = None, *, run_jobs: bool = True, job_workers: int = 1) -> FastAPI:
    """The app over ``store`` (default: ``HYGEIA_DATABASE_URL`` or the SQLite file under ``HYGEIA_HOME``).

    With ``run_jobs`` a background worker runs queued jobs (and resumes interrupted ones) while the app lives.
    """
    store = store or Store()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runner = JobRunner(JobQueue(store), workers=job_workers) if run_jobs else None
        app.state.runner = runner
        if runner is not None:
            runner.start()
        try:
            yield
        finally:
            if runner is not None:
                runner.stop()

    app = FastAPI(title="Hygeia", version=__version__, description=DESCRIPTION, lifespan=lifespan,
                  openapi_url="/api/openapi.json", docs_url=None, redoc_url=None)
    app.state.store = store
    app.state.runner = None
    problems.install(app)
    app.include_router(api_router)
    from hygeia.server.console import router as console_router, static_files

    app.include_router(console_router)
    app.mount("/static", static_files(), name="static")

    @app.middleware("http")
    async def security_headers(request: Request, call_next) -> Response:  # type: ignore[no-untyped-def]
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    return app
