"""Release: only an artifact whose gate passed *and* that a reviewer approved leaves Hygeia.

Before writing anything the candidate's files are re-hashed against what the ledger
recorded at generation time, and the ledger itself is verified, so neither an edited
synthetic table nor a doctored history can be released.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd

from hygeia.data.schema import Schema
from hygeia.errors import NotFoundError, ReleaseError
from hygeia.evaluate.metric import Scorecard
from hygeia.governance import fhir_cohort
from hygeia.governance.clinical_text import KIND, write_text_release
from hygeia.governance.ledger import Ledger
from hygeia.governance.model_card import build_model_card, render_markdown
from hygeia.governance.synthesize import publish, staging_dir
from hygeia.data.dataset import file_sha256
from hygeia.release.export import write_manifest, write_table
from hygeia.release.report import ReportContext, write_report
from hygeia.store.db import ArtifactRecord, Store, now_iso


def check_releasable(store: Store, artifact: ArtifactRecord) -> None:
    """Raise :class:`ReleaseError` naming the first reason this artifact may not leave."""
    if not artifact.gate_passed:
        reasons = "; ".join(artifact.record["verdict"]["reasons"][:3]) or "its edit failed; see `hygeia review show`"
        raise ReleaseError(f"artifact {artifact.id} failed the gate ({reasons}); it cannot be released")
    if artifact.status == "rejected":
        last = store.reviews_for(artifact.id)[-1]
        raise ReleaseError(f"artifact {artifact.id} was rejected by {last.reviewer}: {last.comment}")
    if artifact.status not in ("approved", "released"):
        raise ReleaseError(f"artifact {artifact.id} has not been approved; a reviewer must run "
                           f"`hygeia review approve {artifact.id} --reviewer NAME` first")
    report = Ledger(store).verify()
    if not report.ok:
        raise ReleaseError(f"the ledger is broken ({report.message()}); nothing can be released until it is restored")
    location = Path(artifact.location)
    for name, expected in artifact.record["files"].items():
        path = location / name
        if not path.is_file():
            raise ReleaseError(f"candidate file {path} is missing; regenerate the artifact")
        if file_sha256(path) != expected:
            raise ReleaseError(f"candidate file {path} changed after the gate ran (SHA-256 differs from the ledger); "
                               "regenerate the artifact instead of editing it")


def release_artifact(store: Store, artifact_id: str, out_dir: str | Path, *, actor: str = "steward") -> Path:
    """Write the release folder (data, report, model card, manifest) and record the release."""
    out_dir = Path(out_dir)
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise ReleaseError(f"{out_dir} already exists and is not empty; choose a new --out folder")
    artifact = store.get_artifact(artifact_id)
    check_releasable(store, artifact)
    reviews = [r for r in store.reviews_for(artifact.id) if r.decision in ("approve", "edit")]
    ledger = Ledger(store)
    released_at = now_iso()
    tmp = staging_dir(out_dir)
    try:
        if artifact.kind == KIND:
            write_text_release(tmp, store, artifact, reviews, released_at, ledger.head()[1])
        elif artifact.kind == fhir_cohort.KIND:
            fhir_cohort.write_cohort_release(tmp, artifact, reviews, released_at, ledger.head()[1])
        else:
            _write_release(tmp, artifact, reviews, released_at, ledger.head()[1])
        manifest = write_manifest(tmp, {"artifact_id": artifact.id, "released_at": released_at,
                                        "gate_passed": True, "reviewers": [r.reviewer for r in reviews]})
        with store.begin() as conn:
            store.set_status(conn, artifact.id, "released")
            ledger.append("release", {"out_dir": str(out_dir.resolve()),
                                      "files": {k: v["sha256"] for k, v in manifest["files"].items()}},
                          actor=actor, artifact_id=artifact.id, conn=conn)
            publish(tmp, out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out_dir


def _write_release(folder: Path, artifact: ArtifactRecord, reviews: list, released_at: str, head: str) -> None:
    rec = artifact.record
    location = Path(artifact.location)
    frame = pd.read_csv(location / "synthetic.csv")
    write_table(frame, folder)
    card = build_model_card(artifact, reviews, released_at=released_at, ledger_head=head)
    (folder / "model_card.json").write_text(json.dumps(card, indent=2, default=str), encoding="utf-8")
    (folder / "model_card.md").write_text(render_markdown(card), encoding="utf-8")
    figures = {p.stem: p.read_bytes() for p in sorted((location / "figures").glob("*.png"))}
    last = reviews[-1]
    schema = Schema.model_validate(rec["schema"])
    ctx = ReportContext(
        title=rec["title"], artifact_id=artifact.id, status=f"Released {released_at}",
        verdict_passed=True, verdict_reasons=[], scorecard=Scorecard.from_dict(rec["scorecard"]), schema=schema,
        real=None, synthetic=frame[[c for c in schema.names if c in frame]], findings=rec["findings"], identifier_actions=rec["identifiers"],
        provenance=rec["provenance"],
        review={"reviewer": last.reviewer, "role": last.role, "decision": last.decision, "comment": last.comment,
                "time": last.created_at})
    write_report(ctx, folder / "report.html", figures)


def released_folder(store: Store, artifact_id: str) -> tuple[ArtifactRecord, Path]:
    """A released artifact and the folder its release was written to (the ledger's ``release`` entry says where)."""
    artifact = store.get_artifact(artifact_id)
    entries = [e for e in Ledger(store).entries(artifact.id) if e.event == "release"]
    if artifact.status != "released" or not entries:
        raise NotFoundError(f"artifact {artifact.id} has not been released")
    folder = Path(entries[-1].content["payload"]["out_dir"])
    if not (folder / "manifest.json").is_file():
        raise NotFoundError(f"the release folder of {artifact.id} is no longer at {folder}")
    return artifact, folder


def record_access(store: Store, artifact_id: str | None, what: str, *, actor: str, role: str,
                  **details: object) -> None:
    """Who read released data or raw source text, and what: every such read is a ledger entry."""
    Ledger(store).append("access", {"what": what, "role": role, **details}, actor=actor, artifact_id=artifact_id)
