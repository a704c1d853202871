"""The clinical-text path: note -> de-identification -> draft -> grounding and flags -> gate -> candidate.

Like :mod:`hygeia.governance.synthesize`, everything is computed in a staging folder that appears (by one
rename) only inside the transaction recording the artifact and its ledger events. Hygeia keeps no PHI in the
clear: the draft is made from the de-identified note, the ledger holds category counts only, and the map from
surrogates back to the originals is sealed with the de-identification key (:mod:`hygeia.privacy.keys`) for
the reviewer's screen.

>>> result = draft_candidate(note_text, "discharge-summary", out_dir="cand")  # doctest: +SKIP
>>> result.verdict.passed, result.grounding.critical_count  # doctest: +SKIP
(True, 0)
"""

from __future__ import annotations

import difflib
import json
import os
import re
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

from hygeia import __version__
from hygeia.data.dataset import file_sha256
from hygeia.errors import ReviewError, TextError
from hygeia.governance.artifact import Artifact, new_artifact_id
from hygeia.governance.gate import Gate, Verdict
from hygeia.governance.ledger import Ledger
from hygeia.governance.policy import Policy, load_policy
from hygeia.governance.review import ReviewQueue
from hygeia.governance.synthesize import UNRELEASED, check_out_dir, hash_files, publish, staging_dir, verdict_events
from hygeia.store.db import ArtifactRecord, ReviewRecord, Store, now_iso

KIND = "clinical_text"
TEXT_POLICY = "clinical-text"
#: Files of a text candidate: de-identified source, the draft, a reviewer's edit, the sealed surrogate map.
SOURCE, DRAFT, EDITED, SEALED = "source.deid.txt", "draft.txt", "draft.reviewed.txt", "surrogates.sealed"


@dataclass(frozen=True)
class TextResult:
    """One drafted, checked and gated candidate awaiting review."""

    artifact_id: str
    verdict: Verdict
    out_dir: Path
    draft: Any  # hygeia.text.drafting.Draft (imported lazily: the text stack is heavy)
    grounding: Any  # hygeia.text.grounding.GroundingReport
    phi_counts: dict[str, int]


def read_note(path: str | Path) -> str:
    """A clinical note as text, with one-line errors for a missing, empty, binary or non-UTF-8 file."""
    path = Path(path)
    if not path.exists():
        raise TextError(f"{path}: no such file; give the path of a plain-text note")
    if path.is_dir():
        raise TextError(f"{path} is a folder; give one plain-text note file")
    raw = path.read_bytes()
    if not raw.strip():
        raise TextError(f"{path} is empty; give a note with text in it")
    if b"\x00" in raw:
        raise TextError(f"{path} is a binary file, not a text note; export the note as plain text")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TextError(f"{path} is not UTF-8 text (bad byte at offset {exc.start}); convert it, e.g. "
                        f"`iconv -f latin1 -t utf-8 {path.name} > note.txt`") from None


def draft_candidate(
    note: str,
    task: str,
    *,
    out_dir: str | Path,
    backend: str = "extractive",
    backend_params: dict[str, Any] | None = None,
    policy: Policy | None = None,
    patient: str | None = None,
    options: dict[str, Any] | None = None,
    seed: int = 0,
    source: str = "<text>",
    store: Store | None = None,
    actor: str = "clinician",
    on_step: Callable[[str], None] = lambda step: None,
) -> TextResult:
    """De-identify ``note``, draft ``task`` with ``backend``, check it against the source, gate it, queue it.

    ``patient`` keys the surrogates (the same patient id gives the same surrogates and date shift across
    notes); ``options`` are task options such as ``{"target_grade": 6}``; ``source`` names the note in the
    provenance (a file name, never its text).
    """
    from hygeia.privacy.deid import Deidentifier
    from hygeia.privacy.keys import deid_key, seal
    from hygeia.text.backends import make_backend
    from hygeia.text.drafting import draft
    from hygeia.text.grounding import check_grounding
    from hygeia.text.scoring import score_draft
    from hygeia.text.tasks import get_task, task_options

    out_dir = Path(out_dir)
    check_out_dir(out_dir)
    policy = policy or load_policy(TEXT_POLICY)
    spec = get_task(task)
    options = task_options(spec, options or {})  # fail fast, before any model loads
    engine = make_backend(backend, **(backend_params or {}))
    if not note.strip():
        raise TextError("the note is empty; give the text of the note to draft from")
    store = store or Store()
    key = deid_key()

    on_step("de-identifying the note")
    deid = Deidentifier(key).deidentify(note, patient=patient)
    on_step(f"drafting a {spec.name} with the {engine.name} backend")
    made = draft(spec, deid, engine, seed=seed, **options)
    on_step("checking every drafted sentence against the source")
    grounding = check_grounding(deid.text, made.text)
    scorecard = score_draft(made, grounding)

    artifact_id = new_artifact_id(KIND)
    provenance = {**made.provenance(), "source": source, "seed": seed, "hygeia_version": __version__,
                  "created_at": now_iso(), "policy": policy.name, "policy_sha256": policy.digest()}
    artifact = Artifact(id=artifact_id, kind=KIND, provenance=provenance)
    verdict = Gate(policy).check(artifact, scorecard)
    flags = [asdict(f) for f in made.flags]
    checked, counts = grounding.to_dict(), deid.counts()
    title = f"{spec.name.replace('-', ' ').capitalize()} ({engine.name}) from {Path(source).name}"

    on_step("writing the candidate and its report")
    tmp = staging_dir(out_dir)
    try:
        (tmp / SOURCE).write_text(deid.text, encoding="utf-8")
        (tmp / DRAFT).write_text(made.text, encoding="utf-8")
        (tmp / SEALED).write_bytes(seal(dict(deid.surrogates), key))
        (tmp / "grounding.json").write_text(json.dumps(checked, indent=2), encoding="utf-8")
        (tmp / "flags.json").write_text(json.dumps(flags, indent=2), encoding="utf-8")
        verdict.scorecard.save(tmp / "scorecard.json")
        ctx = _report_context(title=title, artifact_id=artifact_id, status=UNRELEASED, verdict_passed=verdict.passed,
                              verdict_reasons=verdict.reasons, scorecard=verdict.scorecard, source=deid.text,
                              draft=made.text, grounding=checked, flags=flags, phi_counts=counts,
                              provenance=provenance)
        _write_report(tmp, ctx)
        files = hash_files(tmp)
        (tmp / "CANDIDATE.json").write_text(json.dumps({
            "artifact_id": artifact_id, "status": UNRELEASED, "gate_passed": verdict.passed,
            "reasons": verdict.reasons, "files": files,
            "next_step": f"hygeia review show {artifact_id}; then approve, edit or reject"}, indent=2), encoding="utf-8")
        record = {"provenance": provenance, "verdict": verdict.to_dict(), "scorecard": verdict.scorecard.to_dict(),
                  "findings": [], "policy": policy.model_dump(), "files": files, "title": title,
                  "grounding": _grounding_summary(checked), "phi_counts": counts}
        with store.begin() as conn:
            store.insert_artifact(conn, ArtifactRecord(
                id=artifact_id, kind=KIND, status="candidate", created_at=provenance["created_at"],
                location=str(out_dir.resolve()), gate_passed=verdict.passed, record=record))
            ledger = Ledger(store)
            for event, payload in _events(provenance, record, deid, verdict):
                ledger.append(event, payload, actor=actor, artifact_id=artifact_id, conn=conn)
            publish(tmp, out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return TextResult(artifact_id, verdict, out_dir, made, grounding, counts)


def _events(prov: dict[str, Any], record: dict[str, Any], deid: Any, verdict: Verdict) -> list[tuple[str, dict]]:
    """The ledger's account of a draft: counts, hashes and settings; never a word of the note."""
    files = record["files"]
    return [
        ("deidentify", {"categories": record["phi_counts"], "identifiers": len(deid.spans),
                        "deidentified_sha256": files[SOURCE]}),
        ("draft", {key: prov[key] for key in ("task", "backend", "model", "external", "template", "template_version",
                                              "template_sha256", "decoding", "options", "finish_reason", "flags")}
         | {"draft_sha256": files[DRAFT]}),
        ("grounding", record["grounding"]),
        *verdict_events(verdict, files["scorecard.json"]),
    ]


def _grounding_summary(grounding: dict[str, Any]) -> dict[str, Any]:
    sentences = grounding["sentences"]
    return {"passed": grounding["passed"], "supported_share": round(grounding["supported_share"], 6),
            "critical": grounding["critical_count"], "sentences": len(sentences),
            "unsupported": [{"sentence": i + 1, "critical": s["critical"], "reasons": list(s["reasons"])}
                            for i, s in enumerate(sentences) if not s["supported"]]}


def _report_context(**fields: Any) -> Any:
    from hygeia.release.text_report import TextReportContext

    return TextReportContext(**fields)


def _write_report(folder: Path, ctx: Any) -> None:
    from hygeia.release.text_report import make_text_figures, write_text_report

    figures = make_text_figures(ctx)
    (folder / "figures").mkdir(exist_ok=True)
    for name, png in figures.items():
        (folder / "figures" / f"{name}.png").write_bytes(png)
    write_text_report(ctx, folder / "report.html", figures)


# -- review --------------------------------------------------------------------------------------------
def text_view(artifact: ArtifactRecord, *, reidentify: bool = False) -> dict[str, Any]:
    """What a reviewer sees: source, draft (and edit), grounding and flags; with ``reidentify`` the
    surrogates are mapped back to the originals (needs the de-identification key)."""
    if artifact.kind != KIND:
        raise ReviewError(f"artifact {artifact.id} is a {artifact.kind}, not a clinical text")
    folder = Path(artifact.location)
    read = lambda name: (folder / name).read_text(encoding="utf-8") if (folder / name).is_file() else None  # noqa: E731
    view = {"source": read(SOURCE), "draft": read(DRAFT), "edited": read(EDITED),
            "grounding": json.loads(read("grounding.json") or "{}"), "flags": json.loads(read("flags.json") or "[]")}
    if view["source"] is None or view["draft"] is None:
        raise ReviewError(f"the candidate folder {folder} is missing its texts; regenerate the draft")
    if reidentify:
        from hygeia.privacy.keys import deid_key, unseal
        from hygeia.privacy.phi import restore

        surrogates = unseal((folder / SEALED).read_bytes(), deid_key())
        view = _map_text(view, lambda text: restore(text, surrogates))
    return view


def _map_text(value: Any, fn: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, dict):
        return {k: v if k in ("kind", "category", "severity") else _map_text(v, fn) for k, v in value.items()}
    if isinstance(value, list):
        return [_map_text(v, fn) for v in value]
    return value


def record_reidentified_view(store: Store, artifact_id: str, reviewer: str) -> None:
    """Who saw the originals, and when: a re-identified view is itself an auditable act."""
    if not reviewer.strip():
        raise ReviewError("showing the original identifiers needs the viewer's name; give --reviewer NAME")
    artifact = store.get_artifact(artifact_id)
    Ledger(store).append("reidentified_view", {"reviewer": reviewer}, actor=reviewer, artifact_id=artifact.id)


def edit_draft(store: Store, artifact_id: str, edited: str, *, reviewer: str, role: str = "clinician",
               comment: str = "", usefulness: int | None = None, trust: int | None = None) -> tuple[ReviewRecord, Verdict]:
    """Record a reviewer's edited text as the decision on a candidate draft.

    The edit is checked against the same source and gated by the same policy; the unified diff is stored
    with the review and the edited text beside the draft (its SHA-256 in the ledger). The gate's verdict on
    the *edited* text is what release then requires, so an edit can fix a failed draft but cannot smuggle
    an unsupported critical fact past the gate.
    """
    artifact = store.get_artifact(artifact_id)
    view = text_view(artifact)
    if artifact.status != "candidate":
        raise ReviewError(f"artifact {artifact.id} is already {artifact.status}; only a candidate can be edited")
    if not edited.strip():
        raise ReviewError("the edited text is empty; to refuse the draft use `hygeia review reject` with a reason")
    if edited == view["draft"]:
        raise ReviewError("the edited text is the same as the draft; use `hygeia review approve` instead")
    _refuse_originals(artifact, edited)
    diff = "".join(difflib.unified_diff(view["draft"].splitlines(keepends=True), edited.splitlines(keepends=True),
                                        fromfile=DRAFT, tofile=EDITED))
    grounding, _flags, verdict = judge_text(artifact, view["source"], edited, reviewer)
    # Written beside the draft under a private name and moved into place only once the decision is stored: two
    # reviewers editing at once must not overwrite (or, losing, delete) each other's text.
    path = Path(artifact.location) / EDITED
    fd, staged = tempfile.mkstemp(prefix=f".{EDITED}-", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(edited)
    try:
        review = ReviewQueue(store).decide(
            artifact.id, "edit", reviewer=reviewer, role=role, comment=comment, diff=diff,
            extra={"edited_sha256": file_sha256(staged), "edit_gate": verdict.to_dict(),
                   "edit_grounding": _grounding_summary(grounding.to_dict())},
            gate_passed=verdict.passed, usefulness=usefulness, trust=trust)
        os.chmod(staged, 0o644)
        os.replace(staged, path)
    finally:
        Path(staged).unlink(missing_ok=True)
    return review, verdict


def _refuse_originals(artifact: ArtifactRecord, edited: str) -> None:
    """An edit typed from the re-identified view would put PHI into the store: refuse it, naming no value."""
    from hygeia.privacy.keys import deid_key, unseal

    originals = unseal((Path(artifact.location) / SEALED).read_bytes(), deid_key()).values()
    if any(len(o) >= 2 and re.search(rf"(?<!\w){re.escape(o)}(?!\w)", edited) for o in originals):
        raise ReviewError("the edited text contains an original identifier from the note, not its surrogate; edit "
                          "the de-identified draft (draft.txt in the candidate folder) so that no PHI is stored")


def judge_text(artifact: ArtifactRecord, source: str, text: str, author: str) -> tuple[Any, list[dict], Verdict]:
    """Grounding, flags and the artifact's own policy applied to another text for the same source (an edit)."""
    from hygeia.text.drafting import Draft
    from hygeia.text.flags import check_flags
    from hygeia.text.grounding import check_grounding
    from hygeia.text.scoring import score_draft
    from hygeia.text.tasks import get_task

    prov = artifact.record["provenance"]
    spec, options = get_task(prov["task"]), prov.get("options") or {}
    grounding = check_grounding(source, text)
    made = Draft(text=text, task=spec.name, backend="reviewer", model=author, external=False,
                 template=prov["template"], template_version=prov["template_version"],
                 template_sha256=prov["template_sha256"], decoding={}, flags=tuple(check_flags(source, text)),
                 metrics=spec.measure(text, options), options=options)
    policy = Policy.model_validate(artifact.record["policy"])
    verdict = Gate(policy).check(Artifact(id=artifact.id, kind=KIND, provenance=prov), score_draft(made, grounding))
    return grounding, [asdict(f) for f in made.flags], verdict


def edited_sha256(store: Store, artifact_id: str) -> str | None:
    """The SHA-256 the ledger recorded for a reviewer's edit of this artifact, if there is one."""
    for entry in reversed(Ledger(store).entries(artifact_id)):
        if entry.event == "review" and entry.content["payload"].get("edited_sha256"):
            return entry.content["payload"]["edited_sha256"]
    return None


# -- release -------------------------------------------------------------------------------------------
def write_text_release(folder: Path, store: Store, artifact: ArtifactRecord, reviews: list[ReviewRecord],
                       released_at: str, ledger_head: str) -> None:
    """The released text (the reviewer's edit when there is one), its card and its report, into ``folder``.

    The caller has checked the gate, the approval and the candidate files; an edit is checked here against
    the SHA-256 the ledger recorded when the reviewer submitted it.
    """
    from hygeia.errors import ReleaseError
    from hygeia.evaluate.metric import Scorecard

    view = text_view(artifact)
    last = reviews[-1]
    text = view["draft"]
    if last.decision == "edit":
        expected, path = edited_sha256(store, artifact.id), Path(artifact.location) / EDITED
        if view["edited"] is None or expected is None or file_sha256(path) != expected:
            raise ReleaseError(f"the reviewer's edit {path} is missing or changed since it was recorded; "
                               "submit the edit again with `hygeia review edit`")
        text = view["edited"]
    rec, prov = artifact.record, artifact.record["provenance"]
    scorecard, grounding, flags = Scorecard.from_dict(rec["scorecard"]), view["grounding"], view["flags"]
    if last.decision == "edit":
        checked, flags, verdict = judge_text(artifact, view["source"], text, last.reviewer)
        scorecard, grounding = verdict.scorecard, checked.to_dict()
    (folder / f"{prov['task']}.txt").write_text(text, encoding="utf-8")
    review = {"reviewer": last.reviewer, "role": last.role, "decision": last.decision, "comment": last.comment,
              "time": last.created_at, "diff": last.diff}
    card = {
        "artifact_id": artifact.id, "kind": KIND, "title": rec["title"], "released_at": released_at,
        "intended_use": "A drafted clinical text for a clinician's documentation. Identifiers are surrogates; "
                        "the text is backed by the source note sentence by sentence and a clinician approved it. "
                        "It does not replace the medical record.",
        "task": prov["task"], "backend": prov["backend"], "model": prov["model"], "external": prov["external"],
        "prompt_template": {"name": prov["template"], "version": prov["template_version"],
                            "sha256": prov["template_sha256"]},
        "deidentification": rec["phi_counts"], "grounding": rec["grounding"], "flags": prov["flags"],
        "gate": rec["verdict"], "reviews": [{"reviewer": r.reviewer, "role": r.role, "decision": r.decision,
                                             "time": r.created_at, "comment": r.comment} for r in reviews],
        "ledger_head": ledger_head, "hygeia_version": __version__,
    }
    (folder / "card.json").write_text(json.dumps(card, indent=2, default=str), encoding="utf-8")
    ctx = _report_context(title=rec["title"], artifact_id=artifact.id, status=f"Released {released_at}",
                          verdict_passed=True, verdict_reasons=[], scorecard=scorecard, source=view["source"],
                          draft=text, grounding=grounding, flags=flags, phi_counts=rec["phi_counts"], provenance=prov,
                          review=review)
    _write_report(folder, ctx)
