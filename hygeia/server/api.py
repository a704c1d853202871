"""The REST API (``/api/v1``): thin routes over the governance modules the CLI uses; no logic of its own."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Body, Depends, File, Query, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, Field

from hygeia import __version__
from hygeia.errors import DataError, NotFoundError, ReviewError
from hygeia.governance.accounts import PERMISSIONS, ROLES, Accounts, User
from hygeia.governance.datasets import Datasets
from hygeia.governance.jobs import JOB_KINDS, JobQueue
from hygeia.governance.ledger import Ledger
from hygeia.governance.release import record_access, release_artifact, released_folder
from hygeia.governance.review import ReviewQueue
from hygeia.release.export import zip_folder
from hygeia.server import problems
from hygeia.server.auth import current_user, require
from hygeia.store.db import ArtifactRecord, Store, hygeia_home

router = APIRouter(prefix="/api/v1", responses=problems.ERRORS)
FHIR_JSON = "application/fhir+json"


def store_of(request: Request) -> Store:
    return request.app.state.store


# -- request bodies -------------------------------------------------------------------------------------
class JobRequest(BaseModel):
    kind: Literal["synth_table", "synth_fhir", "deid", "draft"]
    params: dict[str, Any] = Field(default_factory=dict, description="See GET /api/v1/job-kinds for each kind.")


class ReviewRequest(BaseModel):
    decision: Literal["approve", "reject", "edit"]
    comment: str = Field("", max_length=10_000, description="Required for a rejection.")
    text: str | None = Field(None, max_length=200_000, description="The edited text (decision 'edit', drafts only).")
    usefulness: int | None = Field(None, ge=1, le=5, description="How useful the artifact is, 1-5.")
    trust: int | None = Field(None, ge=1, le=5, description="How far the reviewer trusts it, 1-5.")


class NewUser(BaseModel):
    name: str = Field(min_length=1, max_length=128)
    role: Literal["steward", "reviewer", "researcher", "auditor", "admin"]


class UserPatch(BaseModel):
    disabled: bool


# -- service -----------------------------------------------------------------------------------------
@router.get("/health", tags=["service"], summary="Liveness; no token needed.")
def health() -> dict[str, str]:
    return {"status": "ok", "version": __version__}


@router.get("/me", tags=["service"], summary="The caller's user, role and permissions.")
def me(user: User = Depends(current_user)) -> dict[str, Any]:
    return {"name": user.name, "role": user.role, "permissions": sorted(PERMISSIONS[user.role])}


# -- datasets ----------------------------------------------------------------------------------------
@router.post("/datasets", status_code=201, tags=["datasets"],
             summary="Upload a table (.csv, .parquet), FHIR R4 (.json Bundle, .ndjson, also .gz) or a note (.txt).")
def upload_dataset(request: Request, file: UploadFile = File(...),
                   user: User = Depends(require("datasets:write"))) -> dict[str, Any]:
    content = file.file.read()
    record = Datasets(store_of(request)).add(file.filename or "upload", content, actor=user.name)
    return record.summary()


@router.post("/fhir", status_code=201, tags=["fhir"], summary="POST a FHIR R4 Bundle; it becomes a dataset.",
             openapi_extra={"requestBody": {"required": True, "content": {
                 FHIR_JSON: {"schema": {"type": "object"}}, "application/json": {"schema": {"type": "object"}}}}})
async def post_bundle(request: Request, user: User = Depends(require("datasets:write"))) -> dict[str, Any]:
    raw = await request.body()
    try:
        bundle = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise DataError("the request body is not JSON; POST a FHIR R4 Bundle as application/fhir+json") from None
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise DataError("the body is not a FHIR Bundle (resourceType must be 'Bundle')")
    return Datasets(store_of(request)).add(f"bundle-{len(raw)}.json", raw, actor=user.name, kind="fhir").summary()


@router.get("/datasets", tags=["datasets"], summary="Uploaded datasets with their profiles.")
def list_datasets(request: Request, user: User = Depends(require("datasets:read"))) -> list[dict[str, Any]]:
    return [d.summary() for d in Datasets(store_of(request)).list()]


@router.get("/datasets/{dataset_id}", tags=["datasets"], summary="One dataset and its profile.")
def get_dataset(dataset_id: str, request: Request, user: User = Depends(require("datasets:read"))) -> dict[str, Any]:
    return Datasets(store_of(request)).get(dataset_id).summary()


@router.get("/datasets/{dataset_id}/content", tags=["datasets"], response_class=FileResponse,
            summary="The raw upload (may hold PHI: stewards and reviewers only; each read is in the ledger).")
def dataset_content(dataset_id: str, request: Request, user: User = Depends(require("source:read"))) -> FileResponse:
    record = Datasets(store_of(request)).get(dataset_id)
    record_access(store_of(request), None, "dataset source", actor=user.name, role=user.role, dataset_id=record.id)
    return FileResponse(record.path, filename=record.name)


# -- jobs ---------------------------------------------------------------------------------------------
@router.get("/job-kinds", tags=["jobs"], summary="The kinds of job and the parameters each takes.")
def job_kinds(user: User = Depends(current_user)) -> dict[str, Any]:
    return {name: {"description": k.description, "params": k.params.model_json_schema()}
            for name, k in JOB_KINDS.items()}


@router.post("/jobs", status_code=202, tags=["jobs"], summary="Queue a job; poll GET /jobs/{id} for progress.")
def submit_job(body: JobRequest, request: Request, response: Response,
               user: User = Depends(require("jobs:write"))) -> dict[str, Any]:
    job = JobQueue(store_of(request)).submit(body.kind, body.params, actor=user.name)
    runner = getattr(request.app.state, "runner", None)
    if runner is not None:
        runner.wake()
    response.headers["Location"] = f"/api/v1/jobs/{job.id}"
    return job.to_dict()


@router.get("/jobs", tags=["jobs"], summary="Recent jobs, newest first.")
def list_jobs(request: Request, status: Literal["queued", "running", "succeeded", "failed"] | None = None,
              user: User = Depends(require("jobs:read"))) -> list[dict[str, Any]]:
    return [j.to_dict() for j in JobQueue(store_of(request)).list(status)]


@router.get("/jobs/{job_id}", tags=["jobs"], summary="A job's status, progress and result.")
def get_job(job_id: str, request: Request, user: User = Depends(require("jobs:read"))) -> dict[str, Any]:
    return JobQueue(store_of(request)).get(job_id).to_dict()


@router.get("/jobs/{job_id}/output", tags=["jobs"], response_class=PlainTextResponse,
            summary="A de-identification job's de-identified text.")
def job_output(job_id: str, request: Request, user: User = Depends(require("jobs:read"))) -> PlainTextResponse:
    queue = JobQueue(store_of(request))
    job = queue.get(job_id)
    name = (job.result or {}).get("output")
    if job.status != "succeeded" or not name:
        raise NotFoundError(f"job {job_id} has no text output (status {job.status}, kind {job.kind})")
    return PlainTextResponse((queue.folder(job.id) / name).read_text(encoding="utf-8"))


# -- artifacts and reviews -----------------------------------------------------------------------------
def artifact_summary(a: ArtifactRecord) -> dict[str, Any]:
    rec = a.record
    return {"id": a.id, "kind": a.kind, "status": a.status, "created_at": a.created_at, "gate_passed": a.gate_passed,
            "title": rec.get("title"), "reasons": rec.get("verdict", {}).get("reasons", []),
            "headline": rec.get("headline", {})}


@router.get("/artifacts", tags=["artifacts"], summary="Artifacts, filtered by kind and status.")
def list_artifacts(request: Request, kind: str | None = None,
                   status: Literal["candidate", "approved", "rejected", "released"] | None = None,
                   user: User = Depends(require("artifacts:read"))) -> list[dict[str, Any]]:
    items = store_of(request).list_artifacts(status)
    return [artifact_summary(a) for a in items if kind is None or a.kind == kind]


@router.get("/artifacts/{artifact_id}", tags=["artifacts"], summary="Scorecard, gate verdict, provenance, reviews.")
def get_artifact(artifact_id: str, request: Request, user: User = Depends(require("artifacts:read"))) -> dict[str, Any]:
    artifact, reviews = ReviewQueue(store_of(request)).show(artifact_id)
    rec = artifact.record
    return {**artifact_summary(artifact), "scorecard": rec.get("scorecard"), "verdict": rec.get("verdict"),
            "provenance": rec.get("provenance"), "files": rec.get("files"),
            "figures": sorted(p.stem for p in (Path(artifact.location) / "figures").glob("*.png")),
            "reviews": [r.__dict__ for r in reviews]}


@router.get("/artifacts/{artifact_id}/report", tags=["artifacts"], response_class=HTMLResponse,
            summary="The candidate's HTML report with its plots.")
def artifact_report(artifact_id: str, request: Request, user: User = Depends(require("artifacts:read"))) -> HTMLResponse:
    artifact = store_of(request).get_artifact(artifact_id)
    path = Path(artifact.location) / "report.html"
    if not path.is_file():
        raise NotFoundError(f"artifact {artifact.id} has no report.html")
    return HTMLResponse(path.read_text(encoding="utf-8"))


@router.get("/artifacts/{artifact_id}/figures/{name}", tags=["artifacts"], response_class=FileResponse,
            summary="One of the report's plots (PNG).")
def artifact_figure(artifact_id: str, name: str, request: Request,
                    user: User = Depends(require("artifacts:read"))) -> FileResponse:
    artifact = store_of(request).get_artifact(artifact_id)
    figures = {p.stem: p for p in (Path(artifact.location) / "figures").glob("*.png")}
    if name.removesuffix(".png") not in figures:
        raise NotFoundError(f"artifact {artifact.id} has no figure {name!r}; its figures: {', '.join(figures) or 'none'}")
    return FileResponse(figures[name.removesuffix(".png")], media_type="image/png")


@router.get("/artifacts/{artifact_id}/text", tags=["artifacts"],
            summary="A draft beside its de-identified source, grounding and flags; reidentify=true maps surrogates "
                    "back (recorded in the ledger).")
def artifact_text(artifact_id: str, request: Request, reidentify: bool = False,
                  user: User = Depends(require("source:read"))) -> dict[str, Any]:
    from hygeia.governance.clinical_text import record_reidentified_view, text_view

    store = store_of(request)
    artifact = store.get_artifact(artifact_id)
    view = text_view(artifact, reidentify=reidentify)
    if reidentify:
        record_reidentified_view(store, artifact.id, user.name)
    return view


@router.get("/artifacts/{artifact_id}/reviews", tags=["reviews"], summary="Decisions taken on an artifact.")
def list_reviews(artifact_id: str, request: Request, user: User = Depends(require("artifacts:read"))) -> list[dict[str, Any]]:
    return [r.__dict__ for r in ReviewQueue(store_of(request)).show(artifact_id)[1]]


@router.post("/artifacts/{artifact_id}/reviews", status_code=201, tags=["reviews"],
             summary="Approve, reject (with a reason) or edit (drafts: the edited text is gated again).")
def review(artifact_id: str, body: ReviewRequest, request: Request,
           user: User = Depends(require("reviews:write"))) -> dict[str, Any]:
    store = store_of(request)
    ratings = {"usefulness": body.usefulness, "trust": body.trust}
    if body.decision == "edit":
        from hygeia.governance.clinical_text import edit_draft

        if body.text is None:
            raise ReviewError("an edit needs the edited text in 'text'")
        record, verdict = edit_draft(store, artifact_id, body.text, reviewer=user.name, role=user.role,
                                     comment=body.comment, **ratings)
        return {**record.__dict__, "gate_passed": verdict.passed, "reasons": verdict.reasons}
    if body.text is not None:
        raise ReviewError("'text' goes with decision 'edit' only")
    record = ReviewQueue(store).decide(artifact_id, body.decision, reviewer=user.name, role=user.role,
                                       comment=body.comment, **ratings)
    return record.__dict__


# -- releases ------------------------------------------------------------------------------------------
@router.post("/artifacts/{artifact_id}/release", status_code=201, tags=["releases"],
             summary="Release an approved artifact whose gate passed (the files are re-checked first).")
def release(artifact_id: str, request: Request, user: User = Depends(require("releases:write"))) -> dict[str, Any]:
    store = store_of(request)
    artifact = store.get_artifact(artifact_id)
    folder = release_artifact(store, artifact.id, hygeia_home() / "releases" / artifact.id, actor=user.name)
    return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))


@router.get("/releases", tags=["releases"], summary="Released artifacts.")
def list_releases(request: Request, user: User = Depends(require("releases:read"))) -> list[dict[str, Any]]:
    return [artifact_summary(a) for a in store_of(request).list_artifacts("released")]


@router.get("/releases/{artifact_id}", tags=["releases"], summary="A release's manifest and model card.")
def get_release(artifact_id: str, request: Request, user: User = Depends(require("releases:read"))) -> dict[str, Any]:
    artifact, folder = released_folder(store_of(request), artifact_id)
    card = folder / "model_card.json"
    return {"manifest": json.loads((folder / "manifest.json").read_text(encoding="utf-8")),
            "model_card": json.loads(card.read_text(encoding="utf-8")) if card.is_file() else None}


@router.get("/releases/{artifact_id}/download", tags=["releases"], response_class=Response,
            responses={200: {"content": {"application/zip": {}}}},
            summary="The whole release as a zip (manifest inside); the download is recorded in the ledger.")
def download_release(artifact_id: str, request: Request, user: User = Depends(require("releases:read"))) -> Response:
    store = store_of(request)
    artifact, folder = released_folder(store, artifact_id)
    content = zip_folder(folder, artifact.id)
    record_access(store, artifact.id, "release download", actor=user.name, role=user.role)
    return Response(content, media_type="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="{artifact.id}.zip"'})


@router.get("/releases/{artifact_id}/fhir", tags=["fhir", "releases"], response_class=JSONResponse,
            responses={200: {"content": {FHIR_JSON: {}}}},
            summary="A released synthetic cohort's patients as one FHIR R4 Bundle (type collection).")
def release_fhir(artifact_id: str, request: Request, limit: int = Query(1000, ge=1, le=100_000),
                 user: User = Depends(require("releases:read"))) -> JSONResponse:
    from hygeia.release.fhir_export import collection_bundle

    store = store_of(request)
    artifact, folder = released_folder(store, artifact_id)
    if artifact.kind != "fhir_cohort":
        raise NotFoundError(f"release {artifact.id} is a {artifact.kind}, not a FHIR cohort")
    bundle = collection_bundle(folder / "fhir", limit)
    record_access(store, artifact.id, "release FHIR bundle", actor=user.name, role=user.role)
    return JSONResponse(bundle, media_type=FHIR_JSON)


# -- ledger ---------------------------------------------------------------------------------------------
@router.get("/ledger", tags=["ledger"], summary="Ledger entries (newest last), optionally for one artifact.")
def ledger_entries(request: Request, artifact_id: str | None = None, after: int = Query(0, ge=0),
                   limit: int = Query(200, ge=1, le=5000),
                   user: User = Depends(require("ledger:read"))) -> list[dict[str, Any]]:
    entries = [e for e in Ledger(store_of(request)).entries(artifact_id) if e.seq > after][:limit]
    return [{"seq": e.seq, "hash": e.hash, "prev_hash": e.prev_hash, **e.content} for e in entries]


@router.get("/ledger/verify", tags=["ledger"], summary="Recompute the hash chain and check signed checkpoints.")
def ledger_verify(request: Request, user: User = Depends(require("ledger:read"))) -> dict[str, Any]:
    report = Ledger(store_of(request)).verify()
    return {"ok": report.ok, "size": report.size, "head": report.head, "first_bad": report.first_bad,
            "reason": report.reason, "checkpoints_checked": report.checkpoints_checked, "message": report.message()}


# -- users (admin) -------------------------------------------------------------------------------------
@router.get("/users", tags=["users"], summary="Users and their roles.")
def list_users(request: Request, user: User = Depends(require("users:manage"))) -> list[dict[str, Any]]:
    return [u.__dict__ for u in Accounts(store_of(request)).users()]


@router.post("/users", status_code=201, tags=["users"], summary="Create a user; the token is shown once.")
def create_user(body: NewUser, request: Request, user: User = Depends(require("users:manage"))) -> dict[str, Any]:
    token = Accounts(store_of(request)).add_user(body.name, body.role)
    return {"name": body.name, "role": body.role, "token": token}


@router.patch("/users/{name}", tags=["users"], summary="Disable or re-enable a user.")
def patch_user(name: str, body: UserPatch, request: Request, user: User = Depends(require("users:manage"))) -> dict[str, Any]:
    accounts = Accounts(store_of(request))
    accounts.set_disabled(name, body.disabled)
    return accounts.get_user(name).__dict__


@router.post("/users/{name}/tokens", status_code=201, tags=["users"], summary="Issue another token (shown once).")
def new_token(name: str, request: Request, label: str = Body("", embed=True, max_length=128),
              user: User = Depends(require("users:manage"))) -> dict[str, Any]:
    return {"name": name, "token": Accounts(store_of(request)).issue_token(name, label=label)}


@router.get("/tokens", tags=["users"], summary="Tokens (never their values).")
def list_tokens(request: Request, user: User = Depends(require("users:manage"))) -> list[dict[str, Any]]:
    return [t.__dict__ for t in Accounts(store_of(request)).tokens()]


@router.delete("/tokens/{token_id}", status_code=204, tags=["users"], summary="Revoke a token.")
def revoke_token(token_id: str, request: Request, user: User = Depends(require("users:manage"))) -> Response:
    Accounts(store_of(request)).revoke_token(token_id)
    return Response(status_code=204)


__all__ = ["router", "ROLES"]
