"""The self-contained HTML report a data steward reads before approving a synthetic cohort.

Same rules as the table report (:mod:`hygeia.release.report`): one offline file, inline CSS, figures
as base64 PNG, no scripts, autoescaping on. It shows aggregates only (distributions, frequencies,
counts), never a patient's timeline, so the report itself cannot leak a real history.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from hygeia.governance.gate import Verdict
from hygeia.release.report import TEMPLATES, family_views, figure_view, fmt, provenance_value, status_class

#: Figures of :func:`hygeia.release.cohort_plots.plot_cohort_figures`, with what each shows.
FIGURES: dict[str, str] = {
    "events_per_patient": "Events per patient: real training patients against synthetic ones (and the baseline).",
    "time_gaps": "Days between consecutive encounters (log scale): real against synthetic.",
    "code_frequency": "The 20 most frequent codes: share of events, real against synthetic.",
    "lab_values": "Values of the most frequent numeric observations (LOINC), real against synthetic.",
    "age_at_first_diagnosis": "Age at the first diagnosis of the most frequent conditions.",
}


@dataclass
class CohortReportContext:
    """Everything the cohort report shows; ``plausibility`` and ``validation`` are their ``to_dict()`` output."""

    title: str
    artifact_id: str
    status: str
    verdict: Verdict
    provenance: dict[str, Any]
    plausibility: dict[str, Any]
    validation: dict[str, Any]
    review: dict[str, Any] | None = None


def render_cohort_report(ctx: CohortReportContext, figures: dict[str, bytes]) -> str:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    scorecard = ctx.verdict.scorecard
    baseline = [(m.name, fmt(m.value), fmt(m.detail["baseline"]), fmt(m.reference)) for m in scorecard
                if isinstance(m.detail.get("baseline"), (int, float))]
    known = [figure_view(figures, name, alt) for name, alt in FIGURES.items()]
    extra = [figure_view(figures, name, name.replace("_", " ").capitalize()) for name in figures if name not in FIGURES]
    view = {
        "ctx": ctx,
        "status_class": status_class(ctx.status),
        "families": family_views(scorecard),
        "baseline": baseline,
        "figures": [f for f in known + extra if f],
        "provenance": [(str(k), provenance_value(v)) for k, v in ctx.provenance.items()],
    }
    return env.get_template("cohort_report.html.j2").render(**view)


def write_cohort_report(ctx: CohortReportContext, path: str | Path, figures: dict[str, bytes]) -> Path:
    path = Path(path)
    path.write_text(render_cohort_report(ctx, figures), encoding="utf-8")
    return path
