"""The synthetic-table path: ingest -> consent -> checks -> fit -> sample -> evaluate -> gate -> candidate.

:func:`synthesize` makes one candidate; :func:`synthesize_sweep` makes one differentially
private candidate per ε from the same split, so their scorecards compare like for like.

Everything is computed and written to a temporary folder first; the candidate folder
appears (by an atomic rename) only inside the transaction that stores the artifact and its
ledger events, so a failure at any step leaves neither a half-written folder nor a
half-recorded artifact.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from hygeia import __version__
from hygeia.data.dataset import Dataset, file_sha256, frame_sha256
from hygeia.data.quality import check_quality
from hygeia.data.schema import Schema
from hygeia.errors import DataError, GeneratorError, HygeiaError
from hygeia.evaluate import evaluate_synthetic
from hygeia.evaluate.metric import Scorecard
from hygeia.generators import REGISTRY, Generator, make_generator
from hygeia.governance.artifact import Artifact, new_artifact_id
from hygeia.governance.gate import Gate, Verdict
from hygeia.governance.ledger import Ledger
from hygeia.governance.policy import Policy
from hygeia.privacy import apply_identifier_plan, apply_opt_out, plan_identifiers
from hygeia.privacy.dp import default_delta
from hygeia.release.report import ReportContext, make_figures, write_report
from hygeia.store.db import ArtifactRecord, Store, now_iso

#: Metrics printed by the CLI and shown first in the report and model card.
HEADLINE = ("fidelity.overall", "utility.tstr_trtr_ratio", "privacy.mia_auc", "privacy.dcr_share_closer_to_train",
            "fairness.worst_group_utility_gap", "fairness.worst_group_fidelity_gap")
UNRELEASED = "UNRELEASED candidate: awaiting human review"
#: Metrics an epsilon sweep compares across its candidates (and plots against ε).
SWEEP_METRICS = ("fidelity.overall", "utility.tstr_trtr_ratio", "privacy.mia_auc")
#: What a differentially private fit treats as public metadata (see :mod:`hygeia.privacy.dp`).
DP_PUBLIC = ("the column list and kinds, each categorical column's set of categories, each numeric column's "
             "range (min and max), whether a column can be missing at all, and the number of rows; state these "
             "from public knowledge in a schema file when they could identify someone")


@dataclass(frozen=True)
class SynthesisResult:
    artifact_id: str
    verdict: Verdict
    out_dir: Path
    rows: int
    opt_out_removed: int
    headline: dict[str, float] = field(default_factory=dict)
    privacy: dict[str, Any] | None = None


@dataclass
class _Prepared:
    """The data after consent, checks and the train/holdout split: shared by every candidate of a sweep."""

    dataset: Dataset
    removed: int
    findings: list[dict[str, Any]]
    schema: Schema
    train: pd.DataFrame
    holdout: pd.DataFrame


@dataclass
class _Candidate:
    """A fitted, sampled, evaluated and gated candidate that is not written or recorded yet."""

    artifact: Artifact
    verdict: Verdict
    ctx: ReportContext
    frame: pd.DataFrame
    numbers: dict[str, float]
    rows: int
    policy: Policy


def synthesize(
    dataset: Dataset,
    *,
    policy: Policy,
    out_dir: str | Path,
    generator: str = "gaussian_copula",
    params: dict[str, Any] | None = None,
    rows: int | None = None,
    seed: int = 0,
    opt_out: set[str] | None = None,
    id_column: str | None = None,
    store: Store | None = None,
    actor: str = "steward",
    on_step: Callable[[str], None] = lambda step: None,
) -> SynthesisResult:
    """Fit, sample, evaluate and gate; write an unreleased candidate and record it.

    ``params`` go to the generator, e.g. ``{"epsilon": 3.0}`` for a differentially private fit
    or ``{"max_time": 60}`` for a training time budget.

    >>> result = synthesize(load_demo(), policy=load_policy("demo"), out_dir="cand")  # doctest: +SKIP
    >>> result.verdict.passed  # doctest: +SKIP
    """
    out_dir = Path(out_dir)
    check_out_dir(out_dir)
    store = store or Store()
    model = build_generator(generator, params)  # fail fast on a bad name or parameter
    _check_columns(dataset, policy)
    prepared = _prepare(dataset, policy, seed, opt_out, id_column, on_step)
    candidate = _build(prepared, model, generator, policy, rows, seed, on_step)
    return _publish(candidate, out_dir, store, actor, prepared, on_step)


def synthesize_sweep(
    dataset: Dataset,
    epsilons: Sequence[float],
    *,
    policy: Policy,
    out_dir: str | Path,
    generator: str = "gaussian_copula",
    params: dict[str, Any] | None = None,
    rows: int | None = None,
    seed: int = 0,
    opt_out: set[str] | None = None,
    id_column: str | None = None,
    store: Store | None = None,
    actor: str = "steward",
    on_step: Callable[[str], None] = lambda step: None,
) -> list[SynthesisResult]:
    """One differentially private candidate per ε, each gated and queued for review in ``out_dir/epsilon-<ε>/``.

    Every candidate's report carries the sweep: utility, fidelity and membership-inference AUC
    against ε, with its own ε marked, so a reviewer sees what each step of privacy costs.

    >>> results = synthesize_sweep(load_demo(), [1, 3, 10], policy=load_policy("demo"),
    ...                            out_dir="sweep")  # doctest: +SKIP
    >>> [(r.privacy["epsilon_spent"], r.verdict.passed) for r in results]  # doctest: +SKIP
    """
    out_dir = Path(out_dir)
    check_out_dir(out_dir)
    epsilons = _check_epsilons(epsilons)
    store = store or Store()
    params = dict(params or {})
    if "epsilon" in params:
        raise GeneratorError("give the epsilons of a sweep as its list, not also as the parameter 'epsilon'")
    models = [build_generator(generator, {**params, "epsilon": e}) for e in epsilons]
    _check_columns(dataset, policy)
    prepared = _prepare(dataset, policy, seed, opt_out, id_column, on_step)
    candidates = [_build(prepared, model, generator, policy, rows, seed, on_step) for model in models]
    table = [sweep_row(c) for c in candidates]
    results = []
    for epsilon, candidate in zip(epsilons, candidates, strict=True):
        candidate.ctx.provenance["epsilon_sweep"] = table
        folder = out_dir / sweep_folder(epsilon)
        results.append(_publish(candidate, folder, store, actor, prepared, on_step, f"the ε = {epsilon:g} candidate"))
    return results


def sweep_folder(epsilon: float) -> str:
    """``epsilon-3``, ``epsilon-0.5``: one folder name per ε of a sweep."""
    return f"epsilon-{epsilon:g}"


def sweep_row(candidate: _Candidate) -> dict[str, Any]:
    """One line of a sweep's summary: the budget, the headline numbers and the gate's outcome."""
    dp = candidate.artifact.provenance["differential_privacy"] or {}
    card = candidate.verdict.scorecard
    numbers = {name: (card.value(name) if name in card and card.get(name).computed else None) for name in SWEEP_METRICS}
    return {"epsilon": dp.get("epsilon_requested"), "epsilon_spent": dp.get("epsilon_spent"),
            "delta_spent": dp.get("delta_spent"), **numbers, "gate_passed": candidate.verdict.passed,
            "artifact_id": candidate.artifact.id}


def build_generator(name: str, params: dict[str, Any] | None = None) -> Generator:
    """A generator from its registry name and parameters, with errors that name the fix.

    >>> build_generator("gaussian_copula", {"epsilon": 3.0}).epsilon
    3.0
    """
    params = dict(params or {})
    known = make_generator(name).get_params()
    for key in params:
        if key in ("epsilon", "delta") and key not in known:
            raise GeneratorError(f"generator {name!r} is not differentially private; generators that take an "
                                 f"epsilon: {', '.join(generators_with('epsilon')) or 'none installed'}")
        if key == "max_time" and key not in known:
            raise GeneratorError(f"generator {name!r} has no training time budget; generators that take "
                                 f"max_time: {', '.join(generators_with('max_time')) or 'none installed'}")
    check_params(name, params, known)
    return make_generator(name, **params)


def check_params(name: str, params: dict[str, Any], known: dict[str, Any]) -> None:
    """Refuse a parameter the generator does not take, suggesting the closest one it does."""
    for key in params:
        if key not in known:
            close = difflib.get_close_matches(key, list(known), n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise GeneratorError(f"generator {name!r} has no parameter {key!r}; {hint}its parameters: "
                                 f"{', '.join(known)}")


def generators_with(param: str) -> list[str]:
    """Registered generators that take a parameter, e.g. ``generators_with("epsilon")``."""
    return sorted(name for name in REGISTRY if param in make_generator(name).get_params())


def _check_epsilons(epsilons: Sequence[float]) -> list[float]:
    values = list(epsilons)
    if not values:
        raise GeneratorError("an epsilon sweep needs at least one epsilon, e.g. 1,3,10")
    for e in values:
        if isinstance(e, bool) or not isinstance(e, (int, float)) or not e > 0 or not math.isfinite(e):
            raise GeneratorError(f"every epsilon must be a number > 0, got {e!r}")
    if len({sweep_folder(e) for e in values}) < len(values):
        raise GeneratorError(f"the epsilons {', '.join(f'{e:g}' for e in values)} repeat a value; list each once")
    return [float(e) for e in values]


def _prepare(dataset: Dataset, policy: Policy, seed: int, opt_out: set[str] | None, id_column: str | None,
             on_step: Callable[[str], None]) -> _Prepared:
    removed = 0
    if opt_out:
        on_step("consent: removing opted-out patients")
        consent = apply_opt_out(dataset, opt_out, id_column=id_column)
        dataset, removed = consent.dataset, consent.removed
    _check_usable(dataset, policy)
    on_step("data-quality checks")
    findings = [f.to_dict() for f in check_quality(dataset, target=policy.target, min_rows=policy.min_rows)]
    schema = dataset.schema.subset(dataset.schema.modelled)
    train, holdout = split_holdout(dataset.modelled_frame(), policy.holdout_fraction, seed, policy.target)
    return _Prepared(dataset, removed, findings, schema, train, holdout)


def _build(prep: _Prepared, model: Generator, generator: str, policy: Policy, rows: int | None, seed: int,
           on_step: Callable[[str], None]) -> _Candidate:
    dataset, train = prep.dataset, prep.train
    epsilon = getattr(model, "epsilon", None)
    private = f" with ε = {epsilon:g}" if isinstance(epsilon, (int, float)) and not isinstance(epsilon, bool) else ""
    on_step(f"fitting {generator}{private} on {len(train):,} rows")
    started = time.perf_counter()
    model.fit(dataset.replace_frame(train))
    fit_seconds = time.perf_counter() - started
    n = rows or dataset.n_rows
    on_step(f"sampling {n:,} rows")
    synthetic = model.sample(n, seed=seed)
    sample_seconds = time.perf_counter() - started - fit_seconds

    on_step("evaluating fidelity, utility, privacy and fairness")
    scorecard = evaluate_synthetic(train, prep.holdout, synthetic, prep.schema, target=policy.target,
                                   sensitive=policy.sensitive, seed=seed)
    artifact_id = new_artifact_id()
    provenance = {
        "source": dataset.source, "source_sha256": dataset.sha256, "source_rows": dataset.n_rows + prep.removed,
        "opt_out_removed": prep.removed, "rows_after_consent": dataset.n_rows, "train_rows": len(train),
        "holdout_rows": len(prep.holdout), "train_sha256": frame_sha256(train), "generator": generator,
        "generator_summary": model.summary, "parameters": jsonable(model.get_params()), "seed": seed,
        "rows": n, "fit_seconds": round(fit_seconds, 3), "sample_seconds": round(sample_seconds, 3),
        "training": jsonable(getattr(model, "training_summary", {}) or {}),
        "hygeia_version": __version__, "created_at": now_iso(), "policy": policy.name,
        "policy_sha256": policy.digest(), "target": policy.target, "sensitive": policy.sensitive,
        "privacy_spent": model.privacy_spent, "differential_privacy": privacy_statement(model, len(train)),
    }
    artifact = Artifact(id=artifact_id, kind="synthetic_table", provenance=provenance, findings=prep.findings,
                        privacy_spent=model.privacy_spent)
    verdict = Gate(policy).check(artifact, scorecard)

    plan = plan_identifiers(dataset.schema, policy.identifiers)
    released_frame = apply_identifier_plan(synthetic, plan, dataset.schema.names, seed=seed)
    ctx = ReportContext(
        title=f"Synthetic {Path(dataset.source).name} ({generator}{private})", artifact_id=artifact_id,
        status=UNRELEASED, verdict_passed=verdict.passed, verdict_reasons=verdict.reasons,
        scorecard=verdict.scorecard, schema=prep.schema, real=train, synthetic=synthetic, findings=prep.findings,
        identifier_actions=[a.to_dict() for a in plan], provenance=provenance)
    return _Candidate(artifact, verdict, ctx, released_frame, headline(verdict.scorecard), n, policy)


def privacy_statement(model: Generator, train_rows: int) -> dict[str, Any] | None:
    """What a differentially private fit promised and spent, how, and what stayed public; None if not private.

    A generator names its mechanism in a ``privacy_mechanism`` attribute; neural families share
    the one their base class implements.
    """
    spent = model.privacy_spent
    if spent is None:
        return None
    requested_delta = getattr(model, "delta", None)
    return {"epsilon_requested": getattr(model, "epsilon", None),
            "delta_requested": default_delta(train_rows) if requested_delta is None else requested_delta,
            "delta_rule": "default: min(1e-5, 1 / (10 n^1.1)) for n training rows" if requested_delta is None else "given",
            "epsilon_spent": spent["epsilon"], "delta_spent": spent["delta"],
            "mechanism": _mechanism(model), "public": DP_PUBLIC, "composition": "basic (ε and δ add up)"}


def _mechanism(model: Generator) -> str:
    named = getattr(model, "privacy_mechanism", None)
    if named:
        return str(named)
    from hygeia.generators.neural import MARGINAL_SHARE, NeuralGenerator

    if isinstance(model, NeuralGenerator):
        return (f"Laplace-noised histograms ({MARGINAL_SHARE:.0%} of ε) for the encoder, then DP-SGD (per-sample "
                "gradient clipping and Gaussian noise, Poisson batches; opacus RDP accountant)")
    return "not stated by the generator"


def _publish(candidate: _Candidate, out_dir: Path, store: Store, actor: str, prep: _Prepared,
             on_step: Callable[[str], None], label: str = "the candidate") -> SynthesisResult:
    on_step(f"writing {label} and its report")
    ctx, verdict, artifact = candidate.ctx, candidate.verdict, candidate.artifact
    tmp = staging_dir(out_dir)
    try:
        files = _write_candidate(tmp, ctx, candidate.frame, verdict)
        record = {"provenance": artifact.provenance, "verdict": verdict.to_dict(),
                  "scorecard": verdict.scorecard.to_dict(), "findings": prep.findings,
                  "identifiers": ctx.identifier_actions, "schema": prep.schema.model_dump(mode="json"),
                  "policy": candidate.policy.model_dump(), "files": files, "headline": candidate.numbers,
                  "title": ctx.title}
        _record(store, artifact, record, verdict, out_dir, tmp, actor, prep.dataset)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return SynthesisResult(artifact_id=artifact.id, verdict=verdict, out_dir=out_dir, rows=candidate.rows,
                           opt_out_removed=prep.removed, headline=candidate.numbers,
                           privacy=artifact.provenance["differential_privacy"])


def split_holdout(frame: pd.DataFrame, fraction: float, seed: int, target: str | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Random train/holdout split, stratified on a categorical target when every class can be split."""
    from sklearn.model_selection import train_test_split

    stratify = None
    if target is not None:
        counts = frame[target].value_counts(dropna=False)
        if 1 < len(counts) <= 20 and counts.min() >= 2:
            stratify = frame[target].astype(str)
    train, holdout = train_test_split(frame, test_size=fraction, random_state=seed, stratify=stratify)
    return train.reset_index(drop=True), holdout.reset_index(drop=True)


def headline(scorecard: Scorecard) -> dict[str, float]:
    return {name: scorecard.value(name) for name in HEADLINE if name in scorecard and scorecard.get(name).applicable}


def _write_candidate(folder: Path, ctx: ReportContext, frame: pd.DataFrame, verdict: Verdict) -> dict[str, str]:
    frame.to_csv(folder / "synthetic.csv", index=False)
    verdict.scorecard.save(folder / "scorecard.json")
    figures = make_figures(ctx)
    (folder / "figures").mkdir()
    for name, png in figures.items():
        (folder / "figures" / f"{name}.png").write_bytes(png)
    write_report(ctx, folder / "report.html", figures)
    files = hash_files(folder)
    status = {"artifact_id": ctx.artifact_id, "status": UNRELEASED, "gate_passed": verdict.passed,
              "reasons": verdict.reasons, "files": files,
              "next_step": f"hygeia review approve {ctx.artifact_id} --reviewer NAME   (or reject --comment WHY)"}
    (folder / "CANDIDATE.json").write_text(json.dumps(status, indent=2), encoding="utf-8")
    return files


def _record(store: Store, artifact: Artifact, record: dict[str, Any], verdict: Verdict, out_dir: Path, tmp: Path,
            actor: str, dataset: Dataset) -> None:
    ledger = Ledger(store)
    prov = artifact.provenance
    with store.begin() as conn:
        store.insert_artifact(conn, ArtifactRecord(
            id=artifact.id, kind=artifact.kind, status="candidate", created_at=prov["created_at"],
            location=str(out_dir.resolve()), gate_passed=verdict.passed, record=record))
        events = [
            ("ingest", {"source": prov["source"], "sha256": prov["source_sha256"], "rows": prov["source_rows"],
                        "columns": dataset.schema.names, "modelled": dataset.schema.modelled}),
            ("consent", {"opt_out_removed": prov["opt_out_removed"], "rows_after": prov["rows_after_consent"]}),
            ("quality", {"findings": [{k: f[k] for k in ("check", "severity", "column")} for f in artifact.findings]}),
            ("fit", {"generator": prov["generator"], "parameters": prov["parameters"], "seed": prov["seed"],
                     "train_rows": prov["train_rows"], "train_sha256": prov["train_sha256"],
                     "seconds": prov["fit_seconds"], "privacy_spent": prov["privacy_spent"],
                     "differential_privacy": prov["differential_privacy"]}),
            ("sample", {"rows": prov["rows"], "synthetic_sha256": record["files"]["synthetic.csv"]}),
            *verdict_events(verdict, record["files"]["scorecard.json"]),
        ]
        for event, payload in events:
            ledger.append(event, payload, actor=actor, artifact_id=artifact.id, conn=conn)
        publish(tmp, out_dir)


def verdict_events(verdict: Verdict, scorecard_sha256: str) -> list[tuple[str, dict[str, Any]]]:
    """The ``evaluate`` and ``gate`` ledger events every artifact kind records: metric values, never data."""
    return [("evaluate", {"scorecard_sha256": scorecard_sha256,
                          "metrics": {m.name: (None if not m.computed else round(m.value, 6)) for m in verdict.scorecard}}),
            ("gate", {"passed": verdict.passed, "reasons": verdict.reasons, "policy": verdict.policy,
                      "policy_sha256": verdict.policy_sha256})]


def hash_files(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under ``folder``, by relative POSIX path (what the ledger and release check)."""
    return {p.relative_to(folder).as_posix(): file_sha256(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def staging_dir(out_dir: Path) -> Path:
    """A private temporary folder on the same file system as ``out_dir`` (so the final rename is atomic)."""
    anchor = out_dir.resolve().parent
    while not anchor.exists():
        anchor = anchor.parent
    return Path(tempfile.mkdtemp(prefix=".hygeia-", dir=anchor))


def publish(tmp: Path, out_dir: Path) -> None:
    """Move a finished staging folder into place in one rename; the caller checked ``out_dir`` is empty."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    if out_dir.exists():
        out_dir.rmdir()
    os.replace(tmp, out_dir)
    for folder in (out_dir, *(p for p in out_dir.rglob("*") if p.is_dir())):
        folder.chmod(0o755)  # mkdtemp made it private


def check_out_dir(out_dir: Path) -> None:
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise HygeiaError(f"{out_dir} already exists and is not empty; choose a new --out folder")


def _check_columns(dataset: Dataset, policy: Policy) -> None:
    for name in [policy.target] if policy.target else []:
        dataset.require_modelled(name, "target")
    for name in policy.sensitive:
        dataset.require_modelled(name, "sensitive")


def _check_usable(dataset: Dataset, policy: Policy) -> None:
    if dataset.n_rows < policy.min_rows:
        raise DataError(f"{dataset.source} has only {dataset.n_rows} row(s); at least {policy.min_rows} are needed "
                        "to learn from and keep a holdout (policy min_rows)")
    empty = [c for c in dataset.schema.modelled if dataset.frame[c].isna().all()]
    if empty:
        raise DataError(f"column {empty[0]!r} has no values at all; remove it or list it under 'drop:' in a "
                        "schema file (--schema)")
    if not dataset.schema.modelled:
        raise DataError(f"{dataset.source} has no column a generator may learn (all are identifiers or free text)")


def jsonable(params: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(params, default=lambda o: o.item() if isinstance(o, np.generic) else str(o)))
