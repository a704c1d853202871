"""The longitudinal path: FHIR/OMOP cohort -> split -> fit -> sample -> FHIR export -> evaluate -> gate -> candidate.

A synthetic cohort is an artifact of kind ``fhir_cohort``: its candidate folder holds the synthetic
patients as FHIR R4 (transaction Bundles and bulk NDJSON, every resource validated with the R4B models
and every reference resolved), the cohort tables, the scorecard (temporal fidelity, utility, privacy,
subgroups, clinical plausibility, FHIR validity) and an HTML report with plots. As for tables, it is
written to a staging folder that appears by one rename inside the transaction that records it.

A simple baseline (the per-code Markov model) is fitted beside the chosen generator on the same
split, and its fidelity is shown next to the generator's, so a reviewer sees what the model adds.

>>> result = synthesize_cohort(read_fhir(["bundles/"]).cohort, out_dir="cand", patients=200)  # doctest: +SKIP
>>> result.verdict.passed, result.validation.valid_share  # doctest: +SKIP
(True, 1.0)
"""

from __future__ import annotations

import json
import math
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from hygeia import __version__
from hygeia.data.longitudinal import Cohort
from hygeia.errors import DataError
from hygeia.evaluate.metric import Goal, Metric, Scorecard
from hygeia.governance.artifact import Artifact, new_artifact_id
from hygeia.governance.gate import Gate, Verdict
from hygeia.governance.ledger import Ledger
from hygeia.governance.policy import Policy, load_policy
from hygeia.governance.synthesize import (UNRELEASED, check_out_dir, check_params, hash_files, jsonable, publish,
                                          staging_dir, verdict_events)
from hygeia.store.db import ArtifactRecord, ReviewRecord, Store, now_iso

KIND = "fhir_cohort"
COHORT_POLICY = "fhir-cohort"
BASELINE = "markov"
#: Metrics printed by the CLI and shown first in the report.
HEADLINE = ("fidelity.temporal_overall", "utility.next_event_ratio", "privacy.dcr_share_closer_to_train",
            "privacy.exact_trajectory_copies", "plausibility.violations_per_1000", "validity.fhir_valid_share")
COHORT_DIR, FHIR_DIR = "cohort", "fhir"


@dataclass(frozen=True)
class CohortResult:
    """One synthetic cohort, exported, evaluated, gated and queued for review."""

    artifact_id: str
    verdict: Verdict
    out_dir: Path
    patients: int
    events: int
    headline: dict[str, float] = field(default_factory=dict)
    validation: Any = None  # hygeia.release.fhir_export.FhirValidation


def synthesize_cohort(
    cohort: Cohort,
    *,
    out_dir: str | Path,
    policy: Policy | None = None,
    generator: str = "sequence_gru",
    params: dict[str, Any] | None = None,
    patients: int = 200,
    seed: int = 0,
    baseline: str | None = BASELINE,
    ingest: dict[str, Any] | None = None,
    store: Store | None = None,
    actor: str = "steward",
    on_step: Callable[[str], None] = lambda step: None,
) -> CohortResult:
    """Learn ``cohort`` with ``generator``, draw ``patients`` synthetic patients, export, evaluate, gate, queue.

    ``ingest`` is the reader's summary (resources read, invalid ones skipped) for the provenance and ledger.
    """
    from hygeia.evaluate.longitudinal import evaluate_cohort
    from hygeia.release.fhir_export import validate_fhir, write_fhir

    out_dir = Path(out_dir)
    check_out_dir(out_dir)
    policy = policy or load_policy(COHORT_POLICY)
    model = build_sequence_generator(generator, params)  # fail fast on a bad name or parameter
    if patients < 1:
        raise DataError(f"--patients must be at least 1, got {patients}")
    if cohort.n_patients < policy.min_rows:
        raise DataError(f"{cohort.source} holds {cohort.n_patients} patient(s); at least {policy.min_rows} are needed "
                        "to learn from and keep a holdout (policy min_rows); add more patients")
    store = store or Store()
    train, holdout = cohort.split(policy.holdout_fraction, seed)

    on_step(f"fitting {generator} on {train.n_patients:,} patients ({train.n_events:,} events)")
    started = time.perf_counter()
    model.fit(train)
    fit_seconds = time.perf_counter() - started
    on_step(f"sampling {patients:,} synthetic patients")
    synthetic = model.sample(patients, seed=seed)
    sample_seconds = time.perf_counter() - started - fit_seconds
    reference = None
    if baseline and baseline != generator:
        on_step(f"fitting the {baseline} baseline for comparison")
        reference = build_sequence_generator(baseline).fit(train).sample(patients, seed=seed)

    on_step("evaluating temporal fidelity, utility, privacy, subgroups and plausibility")
    scorecard = evaluate_cohort(train, holdout, synthetic, seed=seed, baseline=reference)
    artifact_id = new_artifact_id(KIND)
    tmp = staging_dir(out_dir)
    try:
        on_step("exporting FHIR R4 bundles and NDJSON, validating every resource")
        export = write_fhir(synthetic, tmp / FHIR_DIR, release_id=artifact_id, seed=seed, generator=generator)
        validation = validate_fhir(tmp / FHIR_DIR)
        scorecard = scorecard.extend([validity_metric(validation)])
        provenance = {
            "source": cohort.source, "source_sha256": cohort.sha256, "unit": "patients",
            "source_rows": cohort.n_patients, "source_events": cohort.n_events, "opt_out_removed": 0,
            "rows_after_consent": cohort.n_patients, "train_rows": train.n_patients, "holdout_rows": holdout.n_patients,
            "generator": generator, "generator_summary": model.summary, "parameters": jsonable(model.get_params()),
            "seed": seed, "rows": synthetic.n_patients, "events": synthetic.n_events,
            "fit_seconds": round(fit_seconds, 3), "sample_seconds": round(sample_seconds, 3),
            "training": jsonable(getattr(model, "training_summary", {}) or {}), "baseline": reference and baseline,
            "ingest": _ingest_summary(ingest or {}), "fhir_resources": dict(export.resources),
            "hygeia_version": __version__,
            "created_at": now_iso(), "policy": policy.name, "policy_sha256": policy.digest(),
        }
        artifact = Artifact(id=artifact_id, kind=KIND, provenance=provenance)
        verdict = Gate(policy).check(artifact, scorecard)
        title = f"Synthetic patient histories from {Path(cohort.source).name} ({generator})"
        on_step("writing the candidate and its report")
        synthetic.save(tmp / COHORT_DIR)
        verdict.scorecard.save(tmp / "scorecard.json")
        # The evaluation already checked the synthetic cohort; its report is the metric's detail.
        plausibility = dict(verdict.scorecard.get("plausibility.violations_per_1000").detail)
        (tmp / "plausibility.json").write_text(json.dumps(plausibility, indent=2, default=str),
                                               encoding="utf-8")
        _write_report(tmp, train, synthetic, reference, title=title, artifact_id=artifact_id, status=UNRELEASED,
                      verdict=verdict, provenance=provenance, plausibility=plausibility,
                      validation=validation.to_dict())
        files = hash_files(tmp)
        (tmp / "CANDIDATE.json").write_text(json.dumps({
            "artifact_id": artifact_id, "status": UNRELEASED, "gate_passed": verdict.passed,
            "reasons": verdict.reasons, "next_step": f"hygeia review approve {artifact_id} --reviewer NAME   "
                                                     "(or reject --comment WHY)"}, indent=2), encoding="utf-8")
        numbers = headline(verdict.scorecard)
        record = {"provenance": provenance, "verdict": verdict.to_dict(), "scorecard": verdict.scorecard.to_dict(),
                  "findings": [], "identifiers": [], "policy": policy.model_dump(), "files": files, "title": title,
                  "headline": numbers, "plausibility": plausibility, "validation": validation.to_dict()}
        with store.begin() as conn:
            store.insert_artifact(conn, ArtifactRecord(
                id=artifact_id, kind=KIND, status="candidate", created_at=provenance["created_at"],
                location=str(out_dir.resolve()), gate_passed=verdict.passed, record=record))
            ledger = Ledger(store)
            for event, payload in _events(provenance, record, verdict):
                ledger.append(event, payload, actor=actor, artifact_id=artifact_id, conn=conn)
            publish(tmp, out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return CohortResult(artifact_id, verdict, out_dir, synthetic.n_patients, synthetic.n_events, numbers, validation)


def build_sequence_generator(name: str, params: dict[str, Any] | None = None) -> Any:
    """A sequence generator from its registry name and parameters, with errors that name the fix."""
    from hygeia.generators.sequence import make_sequence_generator

    params = dict(params or {})
    check_params(name, params, make_sequence_generator(name).get_params())
    return make_sequence_generator(name, **params)


def validity_metric(validation: Any) -> Metric:
    """Share of exported FHIR resources that validate (R4B models) with every reference resolved."""
    total = validation.valid + validation.invalid
    return Metric(name="validity.fhir_valid_share", value=validation.valid_share if total else math.nan,
                  goal=Goal.MAXIMIZE, description="share of exported FHIR R4 resources that validate against the "
                  "R4B models with every reference resolved",
                  detail={"valid": validation.valid, "invalid": validation.invalid,
                          "reasons": list(validation.reasons[:5])} | ({} if total else {"reason": "nothing exported"}))


def _ingest_summary(ingest: dict[str, Any]) -> dict[str, Any]:
    """What the provenance keeps of a read: counts and speed, and where invalid resources were, not why (a
    validation message can quote a resource's values)."""
    invalid = [{k: item.get(k) for k in ("file", "line", "resource_type")} for item in ingest.get("invalid", [])]
    return {**ingest, "invalid": invalid}


def headline(scorecard: Scorecard) -> dict[str, float]:
    return {name: scorecard.value(name) for name in HEADLINE if name in scorecard and scorecard.get(name).computed}


def _events(prov: dict[str, Any], record: dict[str, Any], verdict: Verdict) -> list[tuple[str, dict]]:
    """The ledger's account: counts, hashes and settings; never a patient's data."""
    files = record["files"]
    return [
        # Counts only: a validation message can quote a resource's values.
        ("ingest", {"source": prov["source"], "sha256": prov["source_sha256"], "patients": prov["source_rows"],
                    "events": prov["source_events"], "resources": prov["ingest"].get("resources", {}),
                    "invalid_skipped": len(prov["ingest"].get("invalid", []))}),
        ("fit", {"generator": prov["generator"], "parameters": prov["parameters"], "seed": prov["seed"],
                 "train_patients": prov["train_rows"], "seconds": prov["fit_seconds"], "baseline": prov["baseline"]}),
        ("sample", {"patients": prov["rows"], "events": prov["events"],
                    "events_sha256": files[f"{COHORT_DIR}/events.parquet"]}),
        ("export", {"fhir_resources": prov["fhir_resources"], "valid": record["validation"]["valid"],
                    "invalid": record["validation"]["invalid"]}),
        *verdict_events(verdict, files["scorecard.json"]),
    ]


def _write_report(folder: Path, train: Cohort, synthetic: Cohort, baseline: Cohort | None,
                  **fields: Any) -> None:
    from hygeia.release.cohort_plots import plot_cohort_figures
    from hygeia.release.cohort_report import CohortReportContext, write_cohort_report

    figures = plot_cohort_figures(train, synthetic, baseline)
    (folder / "figures").mkdir(exist_ok=True)
    for name, png in figures.items():
        (folder / "figures" / f"{name}.png").write_bytes(png)
    write_cohort_report(CohortReportContext(**fields), folder / "report.html", figures)


def write_cohort_release(folder: Path, artifact: ArtifactRecord, reviews: list[ReviewRecord], released_at: str,
                         ledger_head: str) -> None:
    """The released cohort: FHIR (bundles, NDJSON), the cohort tables, the model card and the report.

    The caller has checked the gate, the approval and the candidate files against the ledger.
    """
    from hygeia.governance.model_card import build_model_card, render_markdown

    location, rec = Path(artifact.location), artifact.record
    shutil.copytree(location / FHIR_DIR, folder / FHIR_DIR)
    shutil.copytree(location / COHORT_DIR, folder / COHORT_DIR)
    card = build_model_card(artifact, reviews, released_at=released_at, ledger_head=ledger_head)
    (folder / "model_card.json").write_text(json.dumps(card, indent=2, default=str), encoding="utf-8")
    (folder / "model_card.md").write_text(render_markdown(card), encoding="utf-8")
    figures = {p.stem: p.read_bytes() for p in sorted((location / "figures").glob("*.png"))}
    last = reviews[-1]
    from hygeia.release.cohort_report import CohortReportContext, write_cohort_report

    ctx = CohortReportContext(
        title=rec["title"], artifact_id=artifact.id, status=f"Released {released_at}",
        verdict=Verdict(True, [], Scorecard.from_dict(rec["scorecard"]), rec["verdict"]["policy"],
                        rec["verdict"]["policy_sha256"]),
        provenance=rec["provenance"], plausibility=rec["plausibility"], validation=rec["validation"],
        review={"reviewer": last.reviewer, "role": last.role, "decision": last.decision, "comment": last.comment,
                "time": last.created_at})
    write_cohort_report(ctx, folder / "report.html", figures)
