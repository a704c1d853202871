"""Errors as RFC 9457 problem details (``application/problem+json``): the same one-line messages the CLI prints.

Every :class:`~hygeia.errors.HygeiaError` maps to a status by its class; an unexpected error becomes a 500 whose
body names no internals (the traceback goes to the server log).
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from hygeia.errors import (AuthError, HygeiaError, LedgerIntegrityError, NotFoundError, PermissionDenied,
                           ReleaseError, ReviewError, StoreError)

log = logging.getLogger("hygeia.server")
MEDIA_TYPE = "application/problem+json"

#: Most specific class first.
STATUS: list[tuple[type[HygeiaError], int, str]] = [
    (AuthError, 401, "unauthorized"),
    (PermissionDenied, 403, "forbidden"),
    (NotFoundError, 404, "not-found"),
    (LedgerIntegrityError, 409, "ledger-broken"),
    (ReviewError, 409, "review-not-allowed"),
    (ReleaseError, 409, "release-not-allowed"),
    (StoreError, 503, "store-unavailable"),
    (HygeiaError, 422, "invalid-input"),
]
TITLES = {401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 409: "Conflict",
          413: "Content Too Large", 415: "Unsupported Media Type", 422: "Unprocessable Content",
          500: "Internal Server Error", 503: "Service Unavailable"}


class Problem(BaseModel):
    """RFC 9457 problem details, as every error is sent."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[dict[str, str]] | None = None


def documented(*statuses: int) -> dict[int | str, dict]:
    """OpenAPI ``responses`` entries for these error statuses, as problem details."""
    schema = Problem.model_json_schema()
    return {status: {"description": TITLES[status], "content": {MEDIA_TYPE: {"schema": schema}}}
            for status in statuses}


#: What any API route may answer besides its success.
ERRORS = documented(401, 403, 404, 409, 422, 500, 503)


def problem(status: int, detail: str, *, slug: str | None = None, instance: str | None = None,
            headers: dict[str, str] | None = None, **extra: object) -> JSONResponse:
    body = {"type": f"urn:hygeia:problem:{slug}" if slug else "about:blank",
            "title": TITLES.get(status, "Error"), "status": status, "detail": detail}
    if instance:
        body["instance"] = instance
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def status_of(exc: HygeiaError) -> tuple[int, str]:
    return next((status, slug) for cls, status, slug in STATUS if isinstance(exc, cls))


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    @app.exception_handler(HygeiaError)
    async def _hygeia(request: Request, exc: HygeiaError) -> JSONResponse:
        status, slug = status_of(exc)
        headers = {"WWW-Authenticate": 'Bearer realm="hygeia"'} if status == 401 else None
        return problem(status, str(exc), slug=slug, instance=request.url.path, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"where": ".".join(str(p) for p in e.get("loc", ())), "problem": e.get("msg", "")}
                  for e in exc.errors()]
        first = errors[0] if errors else {"where": "request", "problem": "invalid"}
        return problem(422, f"{first['where']}: {first['problem']}", slug="invalid-request",
                       instance=request.url.path, errors=errors)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        return problem(exc.status_code, str(exc.detail), instance=request.url.path,
                       headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(500, "internal error; the server log has the details", instance=request.url.path)
