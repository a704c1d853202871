"""The self-contained HTML report a clinician reads before approving a drafted clinical text.

Same rules as the table report (:mod:`hygeia.release.report`): one offline file, inline CSS,
figures as base64 PNG, no scripts, autoescaping on. It shows only de-identified text: the draft
sentence by sentence next to its evidence in the source, the flags, the scorecard and the gate.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from hygeia.evaluate.metric import Scorecard
from hygeia.release import plots
from hygeia.release.report import TEMPLATES, family_views, figure_view, provenance_value, status_class


@dataclass
class TextReportContext:
    """Everything the text report shows; ``grounding`` is :meth:`GroundingReport.to_dict` output."""

    title: str
    artifact_id: str
    status: str
    verdict_passed: bool
    verdict_reasons: list[str]
    scorecard: Scorecard
    source: str
    draft: str
    grounding: dict[str, Any]
    flags: list[dict[str, Any]]
    phi_counts: dict[str, int]
    provenance: dict[str, Any]
    review: dict[str, Any] | None = None


def make_text_figures(ctx: TextReportContext) -> dict[str, bytes]:
    """The sentence-support figure (none for a draft without sentences)."""
    sentences = ctx.grounding["sentences"]
    if not sentences:
        return {}
    return {"sentence_support": plots.plot_sentence_support(
        [s["score"] for s in sentences], [s["supported"] for s in sentences], [s["critical"] for s in sentences])}


def render_text_report(ctx: TextReportContext, figures: dict[str, bytes] | None = None) -> str:
    figures = make_text_figures(ctx) if figures is None else figures
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    sentences = ctx.grounding["sentences"]
    view = {
        "ctx": ctx,
        "status_class": status_class(ctx.status),
        "families": family_views(ctx.scorecard),
        "sentences": [{**s, "number": i + 1} for i, s in enumerate(sentences)],
        "unsupported": sum(not s["supported"] for s in sentences),
        "support": figure_view(figures, "sentence_support",
                               "One bar per drafted sentence (S1, S2, …): its best support score in the source; "
                               "filled = supported, outlined = unsupported, hatched = unsupported critical fact. "
                               "The same verdicts are in the sentence table."),
        "provenance": [(str(k), provenance_value(v)) for k, v in ctx.provenance.items()],
    }
    return env.get_template("text_report.html.j2").render(**view)


def write_text_report(ctx: TextReportContext, path: str | Path, figures: dict[str, bytes] | None = None) -> Path:
    path = Path(path)
    path.write_text(render_text_report(ctx, figures), encoding="utf-8")
    return path
