"""What each job kind does: the same governance calls the CLI makes, with the job's folder as ``--out``."""

from __future__ import annotations

from typing import Any

from hygeia.governance.datasets import Datasets
from hygeia.governance.jobs import (LEDGER_EVENTS, DeidParams, DraftParams, JobContext, SynthFhirParams,
                                    SynthTableParams, job_kind)

CANDIDATE = "candidate"


def site_policy(name: str | None, default: str) -> Any:
    """A policy by name: the site's own file under ``$HYGEIA_HOME/policies`` first, then a shipped one.

    Names only (checked against :data:`~hygeia.governance.jobs.POLICY_NAME`): an API caller never names a path.
    """
    from hygeia.governance.policy import load_policy
    from hygeia.store.db import hygeia_home

    name = name or default
    own = hygeia_home() / "policies" / f"{name}.yaml"
    return load_policy(own if own.is_file() else name)


def _outcome(artifact_id: str, verdict: Any, headline: dict[str, float]) -> dict[str, Any]:
    return {"artifact_id": artifact_id, "gate_passed": verdict.passed, "reasons": verdict.reasons,
            "headline": headline}


@job_kind("synth_table", SynthTableParams, "Fit a generator on an uploaded table, sample, evaluate, gate, queue.")
def synth_table(ctx: JobContext, p: SynthTableParams) -> dict[str, Any]:
    from hygeia.data.readers import read_dataset
    from hygeia.governance.synthesize import synthesize

    source = Datasets(ctx.store).get(p.dataset_id, kind="table")
    ctx.on_step(f"reading {source.name}")
    dataset = read_dataset(source.path)
    policy = site_policy(p.policy, "default").with_overrides(target=p.target, sensitive=p.sensitive)
    result = synthesize(dataset, policy=policy, out_dir=ctx.folder / CANDIDATE, generator=p.generator,
                        params=dict(p.params), rows=p.rows, seed=p.seed, store=ctx.store, actor=ctx.job.created_by,
                        on_step=ctx.on_step)
    return _outcome(result.artifact_id, result.verdict, result.headline)


@job_kind("synth_fhir", SynthFhirParams, "Learn patient histories (uploaded FHIR or Eunomia OMOP), generate, "
                                         "export FHIR, evaluate, gate, queue.")
def synth_fhir(ctx: JobContext, p: SynthFhirParams) -> dict[str, Any]:
    from hygeia.errors import DataError
    from hygeia.governance.fhir_cohort import COHORT_POLICY, synthesize_cohort

    ctx.on_step("reading the patient histories")
    if p.omop:
        from hygeia.data.longitudinal.omop import read_omop

        cohort, ingest = read_omop(), {"format": "omop"}
    elif p.dataset_id:
        from hygeia.data.longitudinal.fhir import read_fhir

        source = Datasets(ctx.store).get(p.dataset_id, kind="fhir")
        read = read_fhir([source.path], on_invalid="skip")
        cohort, ingest = read.cohort, {"format": "fhir", **read.report.to_dict()}
    else:
        raise DataError("synth_fhir needs dataset_id (uploaded FHIR) or omop=true")
    result = synthesize_cohort(cohort, out_dir=ctx.folder / CANDIDATE, policy=site_policy(p.policy, COHORT_POLICY),
                               generator=p.generator, params=dict(p.params),
                               patients=p.patients, seed=p.seed, baseline=None if p.baseline == "none" else p.baseline,
                               ingest=ingest, store=ctx.store, actor=ctx.job.created_by, on_step=ctx.on_step)
    return {**_outcome(result.artifact_id, result.verdict, result.headline), "patients": result.patients,
            "events": result.events}


@job_kind("draft", DraftParams, "De-identify an uploaded note, draft a text, check its grounding, gate, queue.")
def draft(ctx: JobContext, p: DraftParams) -> dict[str, Any]:
    from hygeia.governance.clinical_text import TEXT_POLICY, draft_candidate, read_note

    source = Datasets(ctx.store).get(p.dataset_id, kind="note")
    result = draft_candidate(read_note(source.path), p.task, out_dir=ctx.folder / CANDIDATE, backend=p.backend,
                             policy=site_policy(p.policy, TEXT_POLICY),
                             patient=p.patient, options=dict(p.options), seed=p.seed, source=source.name,
                             store=ctx.store, actor=ctx.job.created_by, on_step=ctx.on_step)
    return {**_outcome(result.artifact_id, result.verdict, {}), "phi_counts": result.phi_counts}


@job_kind("deid", DeidParams, "De-identify an uploaded note; the de-identified text is the job's output.")
def deid(ctx: JobContext, p: DeidParams) -> dict[str, Any]:
    from hygeia.governance.clinical_text import read_note
    from hygeia.privacy.deid import Deidentifier
    from hygeia.privacy.keys import deid_key

    source = Datasets(ctx.store).get(p.dataset_id, kind="note")
    ctx.on_step("de-identifying the note")
    result = Deidentifier(deid_key()).deidentify(read_note(source.path), patient=p.patient)
    counts = result.counts()
    (ctx.folder / OUTPUT).write_text(result.text, encoding="utf-8")
    event = ("deidentify", {"notes": 1, "categories": counts, "identifiers": sum(counts.values()),
                            "dataset_id": source.id})
    return {"output": OUTPUT, "categories": counts, "identifiers": sum(counts.values()), LEDGER_EVENTS: [event]}


OUTPUT = "deidentified.txt"
