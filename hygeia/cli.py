"""The `hygeia` command: a thin layer over the library; every decision lives in the modules.

Exit codes: 0 done (and gate passed), 2 bad input or refused action, 3 the gate failed,
4 the ledger is broken, 1 an internal error (rerun with --debug for the traceback).
"""

from __future__ import annotations

import json
import re
import sys
import time
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Iterator, Optional

import typer
from rich.console import Console
from rich.table import Table

from hygeia import __version__
from hygeia.errors import HygeiaError

app = typer.Typer(
    name="hygeia",
    help="Responsible generative AI for healthcare: every synthetic table and every drafted clinical text is "
         "measured by a gate, approved by a person and recorded in a tamper-evident ledger before it can be "
         "released.\n\n"
         "Tables: hygeia profile DATA -> hygeia synth DATA --out cand/ -> hygeia review approve ID "
         "--reviewer NAME -> hygeia release ID --out release/.\n\n"
         "Patient histories: hygeia fhir ingest FHIR/ -> hygeia synth-fhir FHIR/ --patients 200 --out cand/ -> "
         "review -> release (FHIR R4 Bundles and NDJSON).\n\n"
         "Text: hygeia deid NOTE -> hygeia draft discharge-summary NOTE --out cand/ -> hygeia review show ID -> "
         "approve / edit / reject -> hygeia release ID --out release/.  Try `hygeia demo` first.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
review_app = typer.Typer(help="List candidates and record a person's decision on each.", no_args_is_help=True)
ledger_app = typer.Typer(help="Inspect and verify the hash-chained audit ledger.", no_args_is_help=True)
app.add_typer(review_app, name="review")
app.add_typer(ledger_app, name="ledger")

out = Console()
if not out.is_terminal:  # piped or captured: do not squeeze tables into 80 columns
    out = Console(width=160)
err = Console(stderr=True)
_state = {"debug": False}

GateExit = 3


@app.callback()
def _global(
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks on errors.")] = False,
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
) -> None:
    _state["debug"] = debug
    if version:
        out.print(f"hygeia {__version__}")
        raise typer.Exit()


# -- shared option types -----------------------------------------------------------------------
SeedOpt = Annotated[int, typer.Option("--seed", help="Random seed: the same seed gives the same output.")]
PolicyOpt = Annotated[Optional[str], typer.Option("--policy", help="Policy YAML file, or a shipped policy name "
                                                  "(default, demo). Sets thresholds, target, sensitive attributes.")]
TargetOpt = Annotated[Optional[str], typer.Option("--target", help="Column to predict for the utility check "
                                                  "(train on synthetic, test on real). Overrides the policy.")]
SensitiveOpt = Annotated[Optional[str], typer.Option("--sensitive", help="Comma-separated attributes for subgroup "
                                                     "fairness checks, e.g. sex,race,age. Overrides the policy.")]
SchemaOpt = Annotated[Optional[Path], typer.Option("--schema", help="YAML file overriding inferred column kinds "
                                                   "(columns: {age: integer}; drop: a list of columns to leave out).")]


@contextmanager
def steps(progress: bool = False) -> Iterator[callable]:
    """A spinner with the current step, and a tick line with the time each finished step took.

    With ``progress``, neural training reports each epoch into the same status line through
    :data:`hygeia.generators.training.progress_hook` (imported only then: it pulls in torch).
    """
    current: dict[str, object] = {"name": None, "t": time.perf_counter()}
    with err.status("starting…") as status:
        def on_step(name: str) -> None:
            _finish(current)
            current.update(name=name, t=time.perf_counter())
            status.update(f"{name}…")

        def on_epoch(label: str, epoch: int, epochs: int, loss: float, seconds: float) -> None:
            status.update(epoch_line(str(current["name"] or f"fitting {label}"), epoch, epochs, loss, seconds))

        if not progress:
            yield on_step
            _finish(current)
            return
        from hygeia.generators.training import progress_hook

        token = progress_hook.set(on_epoch)
        try:
            yield on_step
            _finish(current)
        finally:
            progress_hook.reset(token)


def epoch_line(step: str, epoch: int, epochs: int, loss: float, seconds: float) -> str:
    """The status line while a network trains.

    >>> epoch_line("fitting gan", 12, 300, 0.5312, 8.4)
    'fitting gan: epoch 12/300 · loss 0.531 · 8 s'
    """
    return f"{step}: epoch {epoch}/{epochs} · loss {loss:.3f} · {seconds:.0f} s"


def _finish(current: dict[str, object]) -> None:
    if current["name"]:
        err.print(f"  [green]✓[/] {current['name']} [dim]({time.perf_counter() - current['t']:.1f} s)[/]")


def _sensitive(value: Optional[str]) -> Optional[list[str]]:
    return None if value is None else [s.strip() for s in value.split(",") if s.strip()]


# -- commands ------------------------------------------------------------------------------------
@app.command()
def profile(
    data: Annotated[Path, typer.Argument(help="CSV or Parquet file.")],
    target: TargetOpt = None,
    schema: SchemaOpt = None,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="Also write the profile as JSON here.")] = None,
) -> None:
    """Show the inferred schema and the data-quality findings of a table.

    Identifier columns (record numbers, names, contact details) and free text are listed as never modelled.
    Example: hygeia profile patients.csv --target died
    """
    from hygeia.data.quality import check_quality
    from hygeia.data.readers import read_dataset

    ds = read_dataset(data, schema_file=schema)
    findings = check_quality(ds, target=target)
    table = Table(title=f"{data} — {ds.n_rows:,} rows × {len(ds.schema.columns)} columns")
    for col in ("column", "kind", "missing", "distinct", "why"):
        table.add_column(col)
    for spec in ds.schema.columns:
        col = ds.frame[spec.name]
        table.add_row(spec.name, spec.kind.value + ("" if spec.modelled else " (not modelled)"),
                      f"{col.isna().mean():.0%}", f"{col.nunique():,}", spec.reason)
    out.print(table)
    if findings:
        ft = Table(title="Data-quality findings")
        for col in ("severity", "check", "column", "finding"):
            ft.add_column(col)
        for f in findings:
            ft.add_row(f.severity, f.check, f.column or "", f.message)
        out.print(ft)
    else:
        out.print("No data-quality findings.")
    out.print(f"source SHA-256: {ds.sha256}")
    if json_out:
        json_out.write_text(json.dumps({"source": ds.source, "sha256": ds.sha256, "rows": ds.n_rows,
                                        "columns": [s.model_dump(mode="json") for s in ds.schema.columns],
                                        "findings": [f.to_dict() for f in findings]}, indent=2), encoding="utf-8")


EpsilonOpt = Annotated[Optional[str], typer.Option(
    "--epsilon", metavar="E[,E...]", help="Differential privacy budget: one number (3) for one private fit, or a comma-separated list "
                      "(1,3,10) for a sweep with one gated candidate per epsilon in OUT/epsilon-<e>/. Smaller is "
                      "more private. δ defaults to well below 1/rows (set it with --param delta=1e-6). The noise "
                      "comes from the operating system, so a private fit is not repeatable with --seed.")]
MaxTimeOpt = Annotated[Optional[float], typer.Option(
    "--max-time", metavar="SECONDS", help="Training time budget in seconds for generators that train (neural families); "
                       "training stops after the epoch that crosses it.")]
ParamOpt = Annotated[Optional[list[str]], typer.Option(
    "--param", metavar="KEY=VALUE", help="Any generator parameter (value read as YAML: 300, 0.5, true, [256, 256]); "
                                         "repeat for several. A misspelt key is refused with the generator's list.")]


@app.command()
def synth(
    data: Annotated[Path, typer.Argument(help="Real table (CSV or Parquet) to learn from.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the unreleased candidate (must be new or empty).")],
    generator: Annotated[str, typer.Option("--generator", help="Generator name; `hygeia generators` lists them.")] = "gaussian_copula",
    rows: Annotated[Optional[int], typer.Option("--rows", min=1, help="Synthetic rows to draw (default: as many as the real table).")] = None,
    policy: PolicyOpt = None,
    target: TargetOpt = None,
    sensitive: SensitiveOpt = None,
    epsilon: EpsilonOpt = None,
    max_time: MaxTimeOpt = None,
    param: ParamOpt = None,
    opt_out: Annotated[Optional[Path], typer.Option("--opt-out", help="File of patient ids who opted out; their rows are removed before fitting.")] = None,
    id_column: Annotated[Optional[str], typer.Option("--id-column", help="Column holding the ids of --opt-out (default: detected).")] = None,
    schema: SchemaOpt = None,
    seed: SeedOpt = 0,
) -> None:
    """Fit a generator, sample, evaluate and gate; write an UNRELEASED candidate that waits for review.

    Exit 0 when the candidate was written and the gate passed, 3 when the gate failed (for an epsilon
    sweep: 0 when at least one candidate passed).

    Examples:

      hygeia synth trial.csv --target died --sensitive sex,age --out cand/

      hygeia synth trial.csv --epsilon 3 --out cand-dp/                (one differentially private fit)

      hygeia synth trial.csv --epsilon 1,3,10 --out sweep/             (a sweep: sweep/epsilon-1/, ...)

      hygeia synth trial.csv --generator gan --max-time 120 --param epochs=500 --out cand-gan/
    """
    from hygeia.data.readers import read_dataset
    from hygeia.governance.policy import load_policy
    from hygeia.governance.synthesize import synthesize, synthesize_sweep
    from hygeia.privacy import load_opt_out

    params = _generator_params(param, epsilon, max_time)
    epsilons = _epsilons(epsilon)
    pol = load_policy(policy).with_overrides(target=target, sensitive=_sensitive(sensitive))
    ds = read_dataset(data, schema_file=schema)
    ids = load_opt_out(opt_out) if opt_out else None
    common = dict(policy=pol, out_dir=out_dir, generator=generator, rows=rows, seed=seed, opt_out=ids,
                  id_column=id_column)
    if len(epsilons) > 1:
        with steps(progress=True) as on_step:
            results = synthesize_sweep(ds, epsilons, params=params, on_step=on_step, **common)
        _print_sweep(results)
        if results[0].opt_out_removed:
            out.print(f"opt-out: {results[0].opt_out_removed} patient(s) removed before fitting")
        out.print("next: hygeia review list   (then review show ID for each candidate)")
        if not any(r.verdict.passed for r in results):
            raise typer.Exit(GateExit)
        return
    if epsilons:
        params["epsilon"] = epsilons[0]
    with steps(progress=True) as on_step:
        result = synthesize(ds, params=params, on_step=on_step, **common)
    _print_result(result.artifact_id, result.verdict, result.headline, out_dir / "report.html", result.privacy)
    if result.opt_out_removed:
        out.print(f"opt-out: {result.opt_out_removed} patient(s) removed before fitting")
    out.print(f"next: hygeia review show {result.artifact_id}")
    if not result.verdict.passed:
        raise typer.Exit(GateExit)


def _epsilons(value: Optional[str]) -> list[float]:
    if value is None:
        return []
    parts = [p.strip() for p in value.split(",")]
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        numbers = []
    if not numbers or not all(n > 0 and n != float("inf") for n in numbers):
        raise HygeiaError(f"--epsilon takes a number > 0 or a comma-separated list such as 1,3,10; got {value!r}")
    return numbers


_FLOAT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+")


def _generator_params(items: Optional[list[str]], epsilon: Optional[str], max_time: Optional[float]) -> dict:
    import yaml

    params: dict[str, object] = {}
    for item in items or []:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise HygeiaError(f"--param takes KEY=VALUE, e.g. --param epochs=300; got {item!r}")
        try:
            value = yaml.safe_load(raw) if raw.strip() else None
        except yaml.YAMLError:
            raise HygeiaError(f"--param {key}: {raw!r} is not a value YAML can read; quote text, e.g. {key}='a b'") from None
        if isinstance(value, str) and _FLOAT.fullmatch(value.strip()):
            value = float(value)  # YAML 1.1 reads 1e-6 (no dot) as text
        params[key] = value
    for key, flag, given in (("epsilon", "--epsilon", epsilon), ("max_time", "--max-time", max_time)):
        if given is not None and key in params:
            raise HygeiaError(f"{key} is given twice (--param {key}=… and {flag}); keep one")
    if max_time is not None:
        params["max_time"] = max_time
    return params


@app.command()
def evaluate(
    real: Annotated[Path, typer.Argument(help="Real table the synthetic one imitates (the generator's training data).")],
    synthetic: Annotated[Path, typer.Argument(help="Synthetic table, from Hygeia or any other tool.")],
    holdout: Annotated[Optional[Path], typer.Option("--holdout", help="Real rows the generator never saw; needed for the privacy metrics.")] = None,
    policy: PolicyOpt = None,
    target: TargetOpt = None,
    sensitive: SensitiveOpt = None,
    schema: SchemaOpt = None,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="Write every metric (value, threshold, pass/fail) as JSON here.")] = None,
    seed: SeedOpt = 0,
) -> None:
    """Score any synthetic table against its real source and gate it. Exit 0 if the gate passes, 3 if not.

    Example: hygeia evaluate train.csv sdv_output.csv --holdout test.csv --target died --json scores.json
    """
    from hygeia.data.readers import read_dataset
    from hygeia.data.schema import coerce_frame
    from hygeia.evaluate import evaluate_synthetic
    from hygeia.governance.artifact import Artifact
    from hygeia.governance.gate import Gate
    from hygeia.governance.policy import load_policy
    from hygeia.governance.synthesize import headline

    pol = load_policy(policy).with_overrides(target=target, sensitive=_sensitive(sensitive))
    real_ds = read_dataset(real, schema_file=schema)
    modelled = real_ds.schema.subset(real_ds.schema.modelled)
    synth_frame = read_dataset(synthetic).frame
    synth_frame = coerce_frame(synth_frame[[c for c in modelled.names if c in synth_frame]],
                               modelled.subset([c for c in modelled.names if c in synth_frame]))
    hold_frame = None
    if holdout:
        hold = read_dataset(holdout).frame
        missing = [c for c in modelled.names if c not in hold]
        if missing:
            raise HygeiaError(f"holdout {holdout} lacks column {missing[0]!r} of {real}; give a holdout with the same columns")
        hold_frame = coerce_frame(hold[modelled.names], modelled)
    with steps() as on_step:
        on_step("evaluating fidelity, utility, privacy and fairness")
        scorecard = evaluate_synthetic(real_ds.modelled_frame(), hold_frame, synth_frame, modelled,
                                       target=pol.target, sensitive=pol.sensitive, seed=seed)
    artifact = Artifact(id="external", kind="synthetic_table", provenance={"generator": "external"})
    verdict = Gate(pol).check(artifact, scorecard)
    _print_scorecard(verdict.scorecard)
    _print_result(None, verdict, headline(verdict.scorecard), None)
    if json_out:
        json_out.write_text(json.dumps({"verdict": verdict.to_dict(), **verdict.scorecard.to_dict()}, indent=2,
                                       default=str), encoding="utf-8")
    if not verdict.passed:
        raise typer.Exit(GateExit)


@app.command()
def release(
    artifact_id: Annotated[str, typer.Argument(help="Artifact id (or an unambiguous prefix).")],
    out_dir: Annotated[Path, typer.Option("--out", help="New folder for the release.")],
    actor: Annotated[str, typer.Option("--actor", help="Who performs the release (recorded in the ledger).")] = "steward",
) -> None:
    """Write the release folder (CSV, Parquet, report, model card, manifest).

    Refuses unless the gate passed AND a reviewer approved, the candidate files are unchanged and the ledger is intact.
    """
    from hygeia.governance.release import release_artifact
    from hygeia.store import Store

    folder = release_artifact(Store(), artifact_id, out_dir, actor=actor)
    out.print(f"released {artifact_id} to {folder}")
    for name in sorted(p.name for p in folder.iterdir()):
        out.print(f"  {folder / name}")


@app.command()
def generators() -> None:
    """List the registered generators: for tables (`hygeia synth`), then for patient histories (`hygeia synth-fhir`)."""
    from hygeia.generators import REGISTRY
    from hygeia.generators.sequence import SEQUENCE_REGISTRY

    for title, registry in (("tables (hygeia synth)", REGISTRY), ("patient histories (hygeia synth-fhir)",
                                                                  SEQUENCE_REGISTRY)):
        out.print(f"[bold]{title}[/]")
        for name, cls in sorted(registry.items()):
            out.print(f"  {name:24s} {cls.summary}")


@app.command()
def demo(
    out_dir: Annotated[Path, typer.Option("--out", help="Parent folder for this demo run's candidate and release.")] = Path("demo-output"),
    generator: Annotated[str, typer.Option("--generator", help="Generator to use.")] = "gaussian_copula",
    text: Annotated[bool, typer.Option("--text/--no-text", help="Also run the clinical-text gateway on the "
                                       "bundled synthetic notes.")] = True,
    seed: SeedOpt = 0,
) -> None:
    """Run the whole path on the bundled ACTG 175 HIV trial table (2,139 patients, from the lifelines wheel),
    then the clinical-text gateway on three bundled synthetic notes.

    Fits, samples, evaluates and gates; records an approval by the reviewer `demo` (labelled as automated in
    the ledger and the model card, since no person looked); writes a release folder. For each note:
    de-identifies, drafts a discharge summary (extractive backend), checks every sentence against the source,
    gates, approves (automated) and releases.
    """
    from hygeia.data.demo import DEMO_TABLES
    from hygeia.governance.policy import load_policy
    from hygeia.governance.release import release_artifact
    from hygeia.governance.review import ReviewQueue
    from hygeia.governance.synthesize import synthesize
    from hygeia.store import Store

    started = time.perf_counter()
    table = DEMO_TABLES["actg175"]
    run = out_dir / f"run-{datetime.now(UTC):%Y%m%d-%H%M%S}"
    out.print(f"[bold]Hygeia demo[/]: {table.description}\n  source: {table.package} wheel, {table.citation}")
    store = Store()
    with steps(progress=True) as on_step:
        on_step("loading ACTG 175")
        dataset = table.load()
        result = synthesize(dataset, policy=load_policy("demo"), out_dir=run / "candidate", generator=generator,
                            seed=seed, store=store, actor="demo", on_step=on_step)
    _print_result(result.artifact_id, result.verdict, result.headline, run / "candidate" / "report.html")
    if not result.verdict.passed:
        err.print("the gate failed, so the demo stops before review and release (see the reasons above)")
        raise typer.Exit(GateExit)
    ReviewQueue(store).decide(result.artifact_id, "approve", reviewer="demo",
                              role="automated demo",
                              comment="Recorded automatically by `hygeia demo`; no person reviewed this artifact.")
    folder = release_artifact(store, result.artifact_id, run / "release", actor="demo")
    out.print("review: approved by [bold]demo[/] (automated, labelled so in the ledger and model card)")
    out.print(f"release folder: {folder}\nreport: {folder / 'report.html'}")
    if text:
        from hygeia.cli_text import demo_text

        demo_text(store, run / "text", seed)
    out.print(f"done in {time.perf_counter() - started:.1f} s")


# -- review --------------------------------------------------------------------------------------
@review_app.command("list")
def review_list(
    status: Annotated[Optional[str], typer.Option("--status", help="candidate, approved, rejected or released.")] = None,
) -> None:
    """List artifacts with their gate outcome and review status."""
    from hygeia.governance.review import ReviewQueue
    from hygeia.store import Store

    table = Table()
    table.add_column("id", no_wrap=True)
    for col in ("created", "gate", "status"):
        table.add_column(col, no_wrap=True)
    table.add_column("title", overflow="fold")
    items = ReviewQueue(Store()).list(status)
    for a in items:
        table.add_row(a.id, a.created_at, "pass" if a.gate_passed else "FAIL", a.status, a.record.get("title", ""))
    out.print(table if items else "no artifacts" + (f" with status {status}" if status else ""))


@review_app.command("show")
def review_show(
    artifact_id: Annotated[str, typer.Argument(help="Artifact id.")],
    reidentify: Annotated[bool, typer.Option("--reidentify", help="Drafted text: map surrogates back to the "
                                             "original identifiers on this screen (needs --reviewer; recorded "
                                             "in the ledger).")] = False,
    reviewer: Annotated[str, typer.Option("--reviewer", help="Who looks (required with --reidentify).")] = "",
) -> None:
    """Show one artifact: gate verdict and reasons, scorecard, data checks, location and past decisions.

    A drafted clinical text shows each sentence beside its evidence in the source, the flags and the source.
    """
    from hygeia.evaluate.metric import Scorecard
    from hygeia.governance.review import ReviewQueue
    from hygeia.store import Store

    artifact, reviews = ReviewQueue(Store()).show(artifact_id)
    if artifact.kind == "clinical_text":
        from hygeia.cli_text import show_text

        show_text(artifact, reviews, reidentify=reidentify, reviewer=reviewer)
        return
    if reidentify:
        raise HygeiaError(f"artifact {artifact.id} is a {artifact.kind}; --reidentify applies to drafted texts")
    rec = artifact.record
    out.print(f"[bold]{artifact.id}[/] — {rec.get('title', artifact.kind)}\nstatus: {artifact.status}; "
              f"gate: {'PASSED' if artifact.gate_passed else 'FAILED'}; folder: {artifact.location}")
    for reason in rec["verdict"]["reasons"]:
        out.print(f"  [red]✗[/] {reason}")
    _print_scorecard(Scorecard.from_dict(rec["scorecard"]))
    for f in rec["findings"]:
        out.print(f"  data check [{f['severity']}] {f['check']}: {f['message']}")
    for a in rec["identifiers"]:
        out.print(f"  not modelled: {a['column']} ({a['kind']}) -> {a['action']}")
    for r in reviews:
        out.print(f"  {r.created_at} {r.decision} by {r.reviewer} ({r.role}){': ' + r.comment if r.comment else ''}")
    out.print(f"report: {Path(artifact.location) / 'report.html'}")


def _decide(artifact_id: str, decision: str, reviewer: str, comment: str, role: str) -> None:
    from hygeia.governance.review import ReviewQueue
    from hygeia.store import Store

    review = ReviewQueue(Store()).decide(artifact_id, decision, reviewer=reviewer, comment=comment, role=role)
    out.print(f"{review.artifact_id}: {decision} by {reviewer} recorded in the ledger")


ReviewerOpt = Annotated[str, typer.Option("--reviewer", help="Name of the person deciding (recorded in the ledger).")]
RoleOpt = Annotated[str, typer.Option("--role", help="Reviewer's role, e.g. data steward, clinician.")]


@review_app.command("approve")
def review_approve(
    artifact_id: Annotated[str, typer.Argument(help="Artifact id.")],
    reviewer: ReviewerOpt,
    comment: Annotated[str, typer.Option("--comment", help="Optional note.")] = "",
    role: RoleOpt = "reviewer",
) -> None:
    """Approve a candidate for release (release still requires a passed gate)."""
    _decide(artifact_id, "approve", reviewer, comment, role)


@review_app.command("reject")
def review_reject(
    artifact_id: Annotated[str, typer.Argument(help="Artifact id.")],
    reviewer: ReviewerOpt,
    comment: Annotated[str, typer.Option("--comment", help="Why it is rejected (required).")] = "",
    role: RoleOpt = "reviewer",
) -> None:
    """Reject a candidate; it can never be released."""
    _decide(artifact_id, "reject", reviewer, comment, role)


# -- ledger --------------------------------------------------------------------------------------
@ledger_app.command("verify")
def ledger_verify(
    checkpoint: Annotated[Optional[list[Path]], typer.Option("--checkpoint", help="A signed checkpoint file kept elsewhere, to detect a rewrite of the whole chain.")] = None,
) -> None:
    """Recompute the hash chain; exit 0 if intact, else name the first broken entry and exit 4."""
    from hygeia.governance.ledger import Ledger
    from hygeia.store import Store

    extra = []
    for path in checkpoint or []:
        try:
            extra.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, json.JSONDecodeError) as exc:
            raise HygeiaError(f"cannot read checkpoint {path} ({type(exc).__name__}); give the JSON file written by `hygeia ledger checkpoint`") from None
    report = Ledger(Store()).verify(extra)
    if report.ok:
        out.print(report.message())
        return
    err.print(report.message())
    raise typer.Exit(4)


@ledger_app.command("show")
def ledger_show(
    artifact_id: Annotated[Optional[str], typer.Option("--artifact", help="Only this artifact's events.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="Show the last N entries.")] = 50,
) -> None:
    """Print ledger entries (sequence, time, event, actor, artifact, hash)."""
    from hygeia.governance.ledger import Ledger
    from hygeia.store import Store

    table = Table()
    for col in ("seq", "time", "event", "actor", "artifact", "hash"):
        table.add_column(col)
    for e in Ledger(Store()).entries(artifact_id)[-limit:]:
        body = e.content
        table.add_row(str(e.seq), body["time"], e.event, body["actor"], e.artifact_id or "", e.hash[:16] + "…")
    out.print(table)


@ledger_app.command("checkpoint")
def ledger_checkpoint(
    out_file: Annotated[Optional[Path], typer.Option("--out", help="Also write the signed checkpoint here (keep a copy off this machine).")] = None,
) -> None:
    """Sign (size, head hash, time) with the ledger's Ed25519 key so a rewrite of the whole chain is detectable."""
    from hygeia.governance.ledger import Ledger
    from hygeia.store import Store

    cp = Ledger(Store()).checkpoint()
    if out_file:
        out_file.write_text(json.dumps(cp, indent=2), encoding="utf-8")
    out.print(f"signed checkpoint: {cp['size']} entries, head {cp['head'][:16]}…" + (f" -> {out_file}" if out_file else ""))


# -- printing ------------------------------------------------------------------------------------
def _print_scorecard(scorecard) -> None:
    table = Table(title="Scorecard")
    for col in ("metric", "value", "reference", "threshold", "result"):
        table.add_column(col)
    for m in scorecard:
        value = f"{m.value:.3f}" if m.computed else ("n/a" if not m.applicable else "not computed")
        ref = f"{m.reference:.3f} ({m.reference_label})" if m.reference is not None and m.reference == m.reference else ""
        result = "—" if m.passed is None else ("[green]pass[/]" if m.passed else "[red]FAIL[/]")
        table.add_row(m.name, value, ref, "" if m.threshold is None else f"{m.threshold:g}", result)
    out.print(table)


def _print_sweep(results) -> None:
    from hygeia.governance.synthesize import SWEEP_METRICS

    table = Table(title="Epsilon sweep: one candidate per privacy budget (smaller ε = more private)")
    for col in ("ε", "ε spent", "δ spent", *SWEEP_METRICS, "gate", "artifact"):
        table.add_column(col, no_wrap=True)
    for r in results:
        dp = r.privacy or {}
        card = r.verdict.scorecard
        numbers = [f"{card.value(m):.3f}" if m in card and card.get(m).computed else "n/a" for m in SWEEP_METRICS]
        table.add_row(f"{dp.get('epsilon_requested', float('nan')):g}", f"{dp.get('epsilon_spent', float('nan')):.4g}",
                      f"{dp.get('delta_spent', float('nan')):.3g}", *numbers,
                      "[green]pass[/]" if r.verdict.passed else "[red]FAIL[/]", r.artifact_id)
    out.print(table)
    for r in results:
        dp = r.privacy or {}
        out.print(f"ε = {dp.get('epsilon_requested', float('nan')):g}: report {r.out_dir / 'report.html'}",
                  soft_wrap=True)
        for reason in r.verdict.reasons:
            out.print(f"  [red]✗[/] {reason}", soft_wrap=True)


def _print_result(artifact_id, verdict, numbers: dict[str, float], report: Optional[Path],
                  privacy: Optional[dict] = None) -> None:
    word = "[bold green]PASSED[/]" if verdict.passed else "[bold red]FAILED[/]"
    out.print(f"gate ({verdict.policy} policy): {word}" + (f"  artifact {artifact_id}" if artifact_id else ""))
    for reason in verdict.reasons:
        out.print(f"  [red]✗[/] {reason}")
    for name, value in numbers.items():
        metric = verdict.scorecard.get(name)
        ref = f"   ({metric.reference_label}: {metric.reference:.3f})" if metric.reference is not None else ""
        out.print(f"  {name:36s} {value:.3f}{ref}")
    if privacy:
        out.print(f"  differential privacy: ε = {privacy['epsilon_spent']:.4g}, δ = {privacy['delta_spent']:.3g} "
                  f"spent (asked: ε = {privacy['epsilon_requested']:.4g})")
    if report:
        out.print(f"report: {report}")


from hygeia import cli_fhir, cli_server, cli_text  # noqa: E402,F401  (register `fhir`, `synth-fhir`, `serve`, `users`, `deid`, `draft`, `review edit`)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: user errors become one line on stderr and a non-zero exit."""
    _state["debug"] = False
    try:
        app(args=argv, prog_name="hygeia", standalone_mode=True)
    except HygeiaError as exc:
        if _state["debug"]:
            raise
        err.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err.print("interrupted; nothing was released")
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - the last line of defence for users
        if _state["debug"]:
            raise
        err.print(f"internal error: {type(exc).__name__}: {exc} (rerun with --debug for the traceback)",
                  markup=False, highlight=False, soft_wrap=True)
        sys.exit(1)


if __name__ == "__main__":  # `python -m hygeia.cli`: run the imported module, which has the text commands
    from hygeia.cli import main as _main

    _main()
