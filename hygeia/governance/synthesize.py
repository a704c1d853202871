"""The synthetic-table path: ingest -> consent -> checks -> fit -> sample -> evaluate -> gate -> candidate.

Everything is computed and written to a temporary folder first; the candidate folder
appears (by an atomic rename) only inside the transaction that stores the artifact and its
ledger events, so a failure at any step leaves neither a half-written folder nor a
half-recorded artifact.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from hygeia import __version__
from hygeia.data.dataset import Dataset, file_sha256, frame_sha256
from hygeia.data.quality import check_quality
from hygeia.errors import DataError, HygeiaError
from hygeia.evaluate import evaluate_synthetic
from hygeia.evaluate.metric import Scorecard
from hygeia.generators import make_generator
from hygeia.governance.artifact import Artifact, new_artifact_id
from hygeia.governance.gate import Gate, Verdict
from hygeia.governance.ledger import Ledger
from hygeia.governance.policy import Policy
from hygeia.privacy import apply_identifier_plan, apply_opt_out, plan_identifiers
from hygeia.release.report import ReportContext, make_figures, write_report
from hygeia.store.db import ArtifactRecord, Store, now_iso

#: Metrics printed by the CLI and shown first in the report and model card.
HEADLINE = ("fidelity.overall", "utility.tstr_trtr_ratio", "privacy.mia_auc", "privacy.dcr_share_closer_to_train",
            "fairness.worst_group_utility_gap", "fairness.worst_group_fidelity_gap")
UNRELEASED = "UNRELEASED candidate: awaiting human review"


@dataclass(frozen=True)
class SynthesisResult:
    artifact_id: str
    verdict: Verdict
    out_dir: Path
    rows: int
    opt_out_removed: int
    headline: dict[str, float] = field(default_factory=dict)


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

    >>> result = synthesize(load_demo(), policy=load_policy("demo"), out_dir="cand")  # doctest: +SKIP
    >>> result.verdict.passed  # doctest: +SKIP
    """
    out_dir = Path(out_dir)
    _check_out_dir(out_dir)
    store = store or Store()
    model = make_generator(generator, **(params or {}))  # fail fast on a bad name
    _check_columns(dataset, policy)

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
    train_ds = dataset.replace_frame(train)

    on_step(f"fitting {generator} on {len(train):,} rows")
    started = time.perf_counter()
    model.fit(train_ds)
    fit_seconds = time.perf_counter() - started
    n = rows or dataset.n_rows
    on_step(f"sampling {n:,} rows")
    synthetic = model.sample(n, seed=seed)
    sample_seconds = time.perf_counter() - started - fit_seconds

    on_step("evaluating fidelity, utility, privacy and fairness")
    scorecard = evaluate_synthetic(train, holdout, synthetic, schema, target=policy.target,
                                   sensitive=policy.sensitive, seed=seed)
    artifact_id = new_artifact_id()
    provenance = {
        "source": dataset.source, "source_sha256": dataset.sha256, "source_rows": dataset.n_rows + removed,
        "opt_out_removed": removed, "rows_after_consent": dataset.n_rows, "train_rows": len(train),
        "holdout_rows": len(holdout), "train_sha256": frame_sha256(train), "generator": generator,
        "generator_summary": model.summary, "parameters": _jsonable(model.get_params()), "seed": seed,
        "rows": n, "fit_seconds": round(fit_seconds, 3), "sample_seconds": round(sample_seconds, 3),
        "hygeia_version": __version__, "created_at": now_iso(), "policy": policy.name,
        "policy_sha256": policy.digest(), "target": policy.target, "sensitive": policy.sensitive,
        "privacy_spent": model.privacy_spent,
    }
    artifact = Artifact(id=artifact_id, kind="synthetic_table", provenance=provenance, findings=findings,
                        privacy_spent=model.privacy_spent)
    verdict = Gate(policy).check(artifact, scorecard)

    plan = plan_identifiers(dataset.schema, policy.identifiers)
    released_frame = apply_identifier_plan(synthetic, plan, dataset.schema.names, seed=seed)
    actions = [a.to_dict() for a in plan]

    on_step("writing the candidate and its report")
    ctx = ReportContext(
        title=f"Synthetic {Path(dataset.source).name} ({generator})", artifact_id=artifact_id, status=UNRELEASED,
        verdict_passed=verdict.passed, verdict_reasons=verdict.reasons, scorecard=verdict.scorecard, schema=schema,
        real=train, synthetic=synthetic, findings=findings, identifier_actions=actions, provenance=provenance)
    numbers = headline(verdict.scorecard)
    tmp = staging_dir(out_dir)
    try:
        files = _write_candidate(tmp, ctx, released_frame, verdict)
        record = {"provenance": provenance, "verdict": verdict.to_dict(), "scorecard": verdict.scorecard.to_dict(),
                  "findings": findings, "identifiers": actions, "schema": schema.model_dump(mode="json"),
                  "policy": policy.model_dump(), "files": files, "headline": numbers,
                  "title": ctx.title}
        _record(store, artifact, record, verdict, out_dir, tmp, actor, dataset)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return SynthesisResult(artifact_id=artifact_id, verdict=verdict, out_dir=out_dir, rows=n,
                           opt_out_removed=removed, headline=numbers)


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
    files = {p.relative_to(folder).as_posix(): file_sha256(p) for p in sorted(folder.rglob("*")) if p.is_file()}
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
                     "seconds": prov["fit_seconds"], "privacy_spent": prov["privacy_spent"]}),
            ("sample", {"rows": prov["rows"], "synthetic_sha256": record["files"]["synthetic.csv"]}),
            ("evaluate", {"scorecard_sha256": record["files"]["scorecard.json"],
                          "metrics": {m.name: (None if not m.computed else round(m.value, 6)) for m in verdict.scorecard}}),
            ("gate", {"passed": verdict.passed, "reasons": verdict.reasons, "policy": verdict.policy,
                      "policy_sha256": verdict.policy_sha256}),
        ]
        for event, payload in events:
            ledger.append(event, payload, actor=actor, artifact_id=artifact.id, conn=conn)
        publish(tmp, out_dir)


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


def _check_out_dir(out_dir: Path) -> None:
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


def _jsonable(params: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(params, default=lambda o: o.item() if isinstance(o, np.generic) else str(o)))
