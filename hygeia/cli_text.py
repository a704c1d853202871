"""The clinical-text commands of `hygeia`: `deid`, `deid evaluate`, `draft`, `review edit`, and the text side of
`review show`. Imported by :mod:`hygeia.cli`, which owns the app, the consoles and the exit codes."""

from __future__ import annotations

import functools
import json
import os
import tempfile
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table
from typer.core import TyperGroup

from hygeia.cli import GateExit, ReviewerOpt, RoleOpt, SeedOpt, app, err, out, review_app, steps
from hygeia.errors import TextError


class _FileByDefault(TyperGroup):
    """`hygeia deid FILE` and `hygeia deid evaluate …`: a first word that names no subcommand is a file."""

    def resolve_command(self, ctx, args):  # type: ignore[no-untyped-def]
        if args and args[0] not in self.commands:
            args = ["file", *args]
        return super().resolve_command(ctx, args)


DEFAULT_WORKERS = min(os.cpu_count() or 1, 4)
WorkersOpt = Annotated[int, typer.Option("--workers", min=1, help="Processes for many notes (one per core); "
                                         "a few notes always run in one.")]

deid_app = typer.Typer(
    cls=_FileByDefault, no_args_is_help=True, context_settings={"ignore_unknown_options": True},
    help="Find and replace the 18 HIPAA Safe Harbor identifiers in clinical notes, or score the detector.\n\n"
         "hygeia deid NOTE.txt [--out FILE]   de-identify notes (surrogates consistent per --patient)\n\n"
         "hygeia deid evaluate [GOLD]         recall / precision / notes per second against a gold standard")
app.add_typer(deid_app, name="deid")


@deid_app.command("file")
def deid_files(
    files: Annotated[list[Path], typer.Argument(help="Plain-text note file(s), UTF-8.")],
    out_path: Annotated[Optional[Path], typer.Option(
        "--out", help="Write here instead of printing: a file for one note, a new or empty folder for several.")] = None,
    patient: Annotated[Optional[str], typer.Option(
        "--patient", help="Patient id: the same id gets the same surrogates and date shift in every note and run "
                          "(derived from the key in HYGEIA_DEID_KEY or $HYGEIA_HOME/deid.key).")] = None,
    actor: Annotated[str, typer.Option("--actor", help="Who runs it (recorded in the ledger).")] = "steward",
    workers: WorkersOpt = DEFAULT_WORKERS,
) -> None:
    """De-identify notes: names (any case), dates (shifted per patient), ages over 89 (grouped), contacts, ids,
    addresses (ZIP cut to 3 digits), places. The counts per category go to the ledger, never the identifiers.

    Example: hygeia deid note.txt --patient 12345 --out note.deid.txt
    """
    from hygeia.governance.clinical_text import read_note
    from hygeia.governance.ledger import Ledger
    from hygeia.privacy.deid import Deidentifier
    from hygeia.privacy.keys import deid_key
    from hygeia.store import Store

    texts = [read_note(f) for f in files]
    targets = _targets(files, out_path)
    store = Store()
    with steps() as on_step:
        on_step(f"de-identifying {len(texts)} note(s)")
        results = Deidentifier(deid_key()).deidentify_batch(texts, patients=[patient] * len(texts), workers=workers)
    totals: dict[str, int] = {}
    for result in results:
        for category, n in result.counts().items():
            totals[category] = totals.get(category, 0) + n
    if targets is None:
        out.print(results[0].text, markup=False, highlight=False, end="")
    else:
        _write_all({t: r.text for t, r in zip(targets, results)})
    Ledger(store).append("deidentify", {"notes": len(texts), "categories": totals,
                                        "identifiers": sum(totals.values())}, actor=actor)
    summary = ", ".join(f"{c} {n}" for c, n in sorted(totals.items())) or "none found"
    err.print(f"de-identified {len(texts)} note(s); identifiers replaced: {summary}", markup=False)
    for target in targets or []:
        err.print(f"  wrote {target}", markup=False)


def _targets(files: list[Path], out_path: Optional[Path]) -> Optional[list[Path]]:
    if out_path is None:
        if len(files) > 1:
            raise TextError("several notes need --out FOLDER (one .deid.txt file per note)")
        return None
    if len(files) == 1 and not out_path.is_dir():
        targets = [out_path]
    else:
        if out_path.exists() and not out_path.is_dir():
            raise TextError(f"{out_path} is a file; give a folder for several notes")
        targets = [out_path / f"{f.stem}.deid.txt" for f in files]
        if len({t.name for t in targets}) < len(targets):
            raise TextError("two notes have the same file name; de-identify them into separate folders")
    for target in targets:
        if target.exists():
            raise TextError(f"{target} already exists; choose another --out (nothing was written)")
    return targets


def _write_all(texts: dict[Path, str]) -> None:
    """Every file or none: each is written beside its target first, then all are moved into place."""
    staged: list[tuple[Path, Path]] = []
    try:
        for target, text in texts.items():
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".hygeia-", dir=target.parent)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            staged.append((Path(tmp), target))
        for tmp, target in staged:
            os.replace(tmp, target)
    finally:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)


@deid_app.command("evaluate")
def deid_evaluate(
    gold: Annotated[Optional[Path], typer.Argument(
        help="Gold standard: a PhysioNet deid id.text (its id.phi beside it), an i2b2-2014 XML file, or a folder "
             "of either. Leave out to use Hygeia's shipped evaluation corpus.")] = None,
    corpus: Annotated[str, typer.Option("--corpus", help="Shipped corpus split when no GOLD is given: dev, test "
                                                         "or all (280 synthetic notes in seven styles).")] = "test",
    json_out: Annotated[Optional[Path], typer.Option("--json", help="Also write the full results as JSON here.")] = None,
    errors: Annotated[int, typer.Option("--errors", help="Print up to N missed identifiers (they are PHI: only "
                                                         "for annotated test data).")] = 0,
    workers: WorkersOpt = DEFAULT_WORKERS,
) -> None:
    """Score the de-identifier against a gold standard: recall and precision per category, at token and span
    level, and notes per second.

    Example: hygeia deid evaluate id.text --json deid-scores.json
    """
    from hygeia.privacy.deid import detect_phi_batch
    from hygeia.privacy.deid_eval import evaluate, load_corpus
    from hygeia.privacy.deid_formats import read_gold

    if gold is None and corpus not in ("dev", "test", "all"):
        raise TextError(f"unknown corpus split {corpus!r}; use dev, test or all")
    notes = read_gold(gold) if gold is not None else load_corpus(corpus)  # type: ignore[arg-type]
    with steps() as on_step:
        on_step("loading spaCy and the recognizers (not counted in notes per second)")
        detect_phi_batch(["Warm-up: seen by Dr. Lee on 8/14."])
        on_step(f"de-identifying {len(notes)} annotated note(s)")
        detector = functools.partial(detect_phi_batch, workers=workers)
        result = evaluate(detector, notes, batch=True, keep_errors=errors > 0)
    out.print(result.to_markdown(), markup=False, highlight=False)
    for miss in result.misses[:errors]:
        out.print(f"  missed {miss.label} {miss.text!r} in note {miss.patient}/{miss.note} at {miss.start}",
                  markup=False, highlight=False)
    if json_out:
        json_out.write_text(json.dumps(result.to_dict(), indent=2), encoding="utf-8")
        out.print(f"wrote {json_out}")


@app.command()
def draft(
    task: Annotated[str, typer.Argument(help="discharge-summary, note-summary or patient-education.")],
    note: Annotated[Path, typer.Argument(help="The source note, plain UTF-8 text.")],
    out_dir: Annotated[Path, typer.Option("--out", help="New folder for the candidate (draft, report, checks).")],
    backend: Annotated[str, typer.Option("--backend", help="extractive (default: no model, picks source "
                                         "sentences), local (tiny offline Gemma; a smoke test, not a clinical "
                                         "drafter) or openai (any OpenAI-compatible endpoint).")] = "extractive",
    base_url: Annotated[Optional[str], typer.Option("--base-url", help="openai backend: endpoint, e.g. "
                                                    "http://127.0.0.1:8000/v1 (else HYGEIA_LLM_BASE_URL). The key "
                                                    "comes from HYGEIA_LLM_API_KEY only.")] = None,
    model: Annotated[Optional[str], typer.Option("--model", help="openai backend: model name (else "
                                                 "HYGEIA_LLM_MODEL).")] = None,
    target_grade: Annotated[Optional[int], typer.Option("--target-grade", help="patient-education: reading grade "
                                                        "the sheet must not exceed (default 6).")] = None,
    patient: Annotated[Optional[str], typer.Option("--patient", help="Patient id that keys the surrogates.")] = None,
    policy: Annotated[Optional[str], typer.Option("--policy", help="Policy YAML or shipped name (default "
                                                  "clinical-text).")] = None,
    seed: SeedOpt = 0,
    actor: Annotated[str, typer.Option("--actor", help="Who asks for the draft (recorded in the ledger).")] = "clinician",
) -> None:
    """Draft a clinical text from a note, behind the gateway: de-identify, draft, check every sentence against
    the source, raise safety flags, gate, and queue the draft for a clinician's review.

    An external endpoint only ever receives the de-identified note. Example:
    hygeia draft discharge-summary note.txt --out cand/ ; then hygeia review show ID
    """
    from hygeia.governance.clinical_text import TEXT_POLICY, draft_candidate, read_note
    from hygeia.governance.policy import load_policy

    params = {k: v for k, v in (("base_url", base_url), ("model", model)) if v is not None}
    if params and backend != "openai":
        raise TextError(f"--base-url and --model are for the openai backend, not {backend!r}")
    options = {} if target_grade is None else {"target_grade": target_grade}
    text = read_note(note)
    with steps() as on_step:
        result = draft_candidate(text, task, out_dir=out_dir, backend=backend, backend_params=params,
                                 policy=load_policy(policy or TEXT_POLICY), patient=patient, options=options,
                                 seed=seed, source=str(note), actor=actor, on_step=on_step)
    _print_text_result(result)
    if not result.verdict.passed:
        raise typer.Exit(GateExit)


def _print_text_result(result) -> None:  # type: ignore[no-untyped-def]
    verdict, grounding = result.verdict, result.grounding
    word = "[bold green]PASSED[/]" if verdict.passed else "[bold red]FAILED[/]"
    out.print(f"gate ({verdict.policy} policy): {word}  artifact {result.artifact_id}")
    for reason in verdict.reasons:
        out.print(f"  [red]✗[/] {reason}", soft_wrap=True)
    counts = ", ".join(f"{c} {n}" for c, n in sorted(result.phi_counts.items())) or "none found"
    out.print(f"  de-identified first: {counts}")
    out.print(f"  sentences supported: {sum(s.supported for s in grounding.sentences)}/{len(grounding.sentences)}; "
              f"unsupported critical facts: {grounding.critical_count}")
    for flag in result.draft.flags:
        out.print(f"  flag [{flag.severity}] {flag.message}", markup=False, highlight=False, soft_wrap=True)
    out.print(f"report: {result.out_dir / 'report.html'}\nnext: hygeia review show {result.artifact_id}")


# -- review of a text ------------------------------------------------------------------------------------
#: Evidence passages shown per sentence, and their length on screen (the report has them whole).
EVIDENCE_SHOWN, EVIDENCE_CHARS = 2, 280


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= EVIDENCE_CHARS else text[:EVIDENCE_CHARS - 1] + "…"


def show_text(artifact, reviews, *, reidentify: bool, reviewer: str) -> None:  # type: ignore[no-untyped-def]
    """Source, draft, flags and evidence side by side (the `review show` view of a clinical text)."""
    from hygeia.evaluate.metric import Scorecard
    from hygeia.governance.clinical_text import record_reidentified_view, text_view
    from hygeia.store import Store

    view = text_view(artifact, reidentify=reidentify)
    if reidentify:  # recorded once the map opened (a wrong key shows nothing), before anything is printed
        record_reidentified_view(Store(), artifact.id, reviewer)
    rec = artifact.record
    out.print(f"[bold]{artifact.id}[/] — {rec.get('title', artifact.kind)}\nstatus: {artifact.status}; "
              f"gate: {'PASSED' if artifact.gate_passed else 'FAILED'}; folder: {artifact.location}")
    if reidentify:
        out.print("[bold red]RE-IDENTIFIED VIEW: this screen shows protected health information; do not copy it. "
                  "Your view is recorded in the ledger.[/]")
    for reason in rec["verdict"]["reasons"]:
        out.print(f"  [red]✗[/] {reason}", soft_wrap=True)
    table = Table(title="Draft sentence by sentence, with its evidence in the source", show_lines=True)
    table.add_column("#", no_wrap=True)
    table.add_column("drafted sentence", ratio=3)
    table.add_column("verdict", ratio=2)
    table.add_column("evidence in the source", ratio=3)
    for i, s in enumerate(view["grounding"].get("sentences", []), 1):
        verdict = "[green]supported[/]" if s["supported"] else ("[red]CRITICAL[/]" if s["critical"] else "[red]unsupported[/]")
        reasons = "\n".join(s["reasons"])
        evidence = "\n".join(f"“{_clip(e['text'])}”" for e in s["evidence"][:EVIDENCE_SHOWN]) or "none found"
        table.add_row(f"S{i}", s["text"], f"{verdict}\n{reasons}".strip(), evidence)
    out.print(table)
    for flag in view["flags"]:
        out.print(f"  flag [{flag['severity']}] {flag['message']}  — source: {flag['evidence']}",
                  markup=False, highlight=False, soft_wrap=True)
    counts = ", ".join(f"{c} {n}" for c, n in sorted(rec.get("phi_counts", {}).items())) or "none"
    out.print(f"de-identification: {counts}")
    from hygeia.cli import _print_scorecard

    _print_scorecard(Scorecard.from_dict(rec["scorecard"]))
    out.rule("source (de-identified)" if not reidentify else "source")
    out.print(view["source"], markup=False, highlight=False)
    if view["edited"] is not None:
        out.rule("reviewer's edit")
        out.print(view["edited"], markup=False, highlight=False)
    for r in reviews:
        out.print(f"  {r.created_at} {r.decision} by {r.reviewer} ({r.role}){': ' + r.comment if r.comment else ''}",
                  markup=False)
    out.print(f"report: {Path(artifact.location) / 'report.html'}")


@review_app.command("edit")
def review_edit(
    artifact_id: Annotated[str, typer.Argument(help="Artifact id of a drafted text.")],
    text_file: Annotated[Path, typer.Option("--text", help="File with your edited version of the draft (start from "
                                            "draft.txt in the candidate folder; keep the surrogates).")],
    reviewer: ReviewerOpt,
    comment: Annotated[str, typer.Option("--comment", help="What you changed and why.")] = "",
    role: RoleOpt = "clinician",
) -> None:
    """Submit an edited text as your decision on a draft: it is checked and gated like the draft, the diff is
    stored, and release then uses your text."""
    from hygeia.governance.clinical_text import edit_draft, read_note
    from hygeia.store import Store

    review, verdict = edit_draft(Store(), artifact_id, read_note(text_file), reviewer=reviewer, role=role,
                                 comment=comment)
    out.print(f"{review.artifact_id}: edit by {reviewer} recorded in the ledger "
              f"({review.diff.count(chr(10))} diff lines); gate on the edited text: "
              f"{'PASSED' if verdict.passed else 'FAILED'}")
    for reason in verdict.reasons:
        out.print(f"  [red]✗[/] {reason}", soft_wrap=True)
    if not verdict.passed:
        raise typer.Exit(GateExit)



# -- demo ------------------------------------------------------------------------------------------------
#: The bundled notes (hygeia/text/examples) and the task the demo drafts from each.
DEMO_NOTES = {"pneumonia_discharge.txt": "discharge-summary", "heart_failure_discharge.txt": "discharge-summary",
              "dyspepsia_visit.txt": "note-summary"}


def demo_text(store, folder: Path, seed: int) -> None:  # type: ignore[no-untyped-def]
    """The text half of `hygeia demo`: each bundled note through de-identification, drafting, grounding, the
    gate, an automated (labelled) approval and release."""
    from importlib import resources

    from hygeia.governance.clinical_text import draft_candidate
    from hygeia.governance.release import release_artifact
    from hygeia.governance.review import ReviewQueue

    examples = resources.files("hygeia.text").joinpath("examples")
    out.print(f"\n[bold]Clinical text gateway[/]: {len(DEMO_NOTES)} bundled synthetic notes (no real patient)")
    for file_name, task in DEMO_NOTES.items():
        note, name = examples.joinpath(file_name), file_name.removesuffix(".txt")
        with steps() as on_step:
            result = draft_candidate(note.read_text(encoding="utf-8"), task, out_dir=folder / name,
                                     seed=seed, source=file_name, store=store, actor="demo", on_step=on_step)
        _print_text_result(result)
        if not result.verdict.passed:
            err.print(f"the gate blocked the draft of {note.name}; it stays in the queue unreleased")
            continue
        ReviewQueue(store).decide(result.artifact_id, "approve", reviewer="demo", role="automated demo",
                                  comment="Recorded automatically by `hygeia demo`; no clinician read this draft.")
        released = release_artifact(store, result.artifact_id, folder / f"{name}-release", actor="demo")
        out.print(f"released (automated approval): {released / f'{task}.txt'}")
