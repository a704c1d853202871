"""The self-contained HTML report a data steward reads before approving a synthetic table.

One file, opens offline: CSS inline, figures embedded as base64 PNG, no scripts. Jinja2
autoescaping is on, so column names, categories and reasons can never inject markup::

    ctx = ReportContext(title="Synthetic ACTG 175", artifact_id="a1", status="Released", ...)
    write_report(ctx, "out/report.html")
"""

from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from hygeia.data.schema import ColumnKind, Schema
from hygeia.evaluate.metric import Goal, Metric, Scorecard
from hygeia.release import plots

#: Metrics shown first, in this order; the fairness ones only when present.
HEADLINE = ("fidelity.overall", "utility.tstr_trtr_ratio", "privacy.mia_auc", "privacy.dcr_share_closer_to_train",
            "fairness.worst_group_utility_gap", "fairness.worst_group_fidelity_gap")
_OPTIONAL_HEADLINE = {"fairness.worst_group_utility_gap", "fairness.worst_group_fidelity_gap"}
#: Plain-words name and what a good value looks like, per headline metric.
_HEADLINE_TEXT = {
    "fidelity.overall": ("Fidelity", "Read against the ceiling a real holdout reaches, not against 1."),
    "utility.tstr_trtr_ratio": ("Utility (TSTR / TRTR)", "Near 1: synthetic data trains models as well as real data."),
    "privacy.mia_auc": ("Membership-inference AUC", "Near 0.5: an attacker cannot tell who was in the training data."),
    "privacy.dcr_share_closer_to_train": ("Closer to train than holdout", "Near 0.5: no sign of copied records."),
    "fairness.worst_group_utility_gap": ("Worst-group utility gap", "Near 0: every group is served alike."),
    "fairness.worst_group_fidelity_gap": ("Worst-group fidelity gap", "Near 0: every group is modelled alike."),
}
#: Columns with a distribution plot; wider tables get a note (keeps the file small).
MAX_DISTRIBUTION_PLOTS = 40
FAMILY_ORDER = ("fidelity", "utility", "privacy", "fairness")
_SEVERITY_RANK = {"critical": 0, "blocking": 0, "error": 0, "high": 0, "warning": 1, "medium": 1,
                  "info": 2, "low": 2}
TEMPLATES = Path(__file__).parent / "templates"


@dataclass
class ReportContext:
    """Everything the report shows. ``real`` may be None (a release re-renders from stored figures)."""

    title: str
    artifact_id: str
    status: str
    verdict_passed: bool
    verdict_reasons: list[str]
    scorecard: Scorecard
    schema: Schema
    real: pd.DataFrame | None
    synthetic: pd.DataFrame
    findings: list[dict]
    identifier_actions: list[dict]
    provenance: dict
    review: dict | None = None


def plotted_columns(ctx: ReportContext) -> list[str]:
    """Schema columns present in both tables, in schema order, capped at :data:`MAX_DISTRIBUTION_PLOTS`."""
    present = set(ctx.synthetic.columns) & (set(ctx.real.columns) if ctx.real is not None else set(ctx.synthetic.columns))
    return [name for name in ctx.schema.names if name in present][:MAX_DISTRIBUTION_PLOTS]


def make_figures(ctx: ReportContext) -> dict[str, bytes]:
    """All report figures as ``name -> PNG bytes`` (names are file-safe; see :func:`plots.distribution_figure_name`).

    Distributions and a self-computed correlation difference need ``ctx.real``; the DCR and
    subgroup figures come from metric details and are skipped when those are absent.
    """
    figures: dict[str, bytes] = {}
    if ctx.real is not None:
        for i, col in enumerate(plotted_columns(ctx)):
            kind = ctx.schema[col].kind
            figures[plots.distribution_figure_name(i, col)] = plots.plot_distribution(
                ctx.real[col], ctx.synthetic[col], kind, f"{col} ({kind.value})")
    corr = _correlation_detail(ctx)
    if corr is not None and len(corr["columns"]) >= 2:
        figures["correlation_difference"] = plots.plot_correlation_difference(corr["columns"], corr["matrix"])
    hist = _dcr_histogram(ctx.scorecard)
    if hist is not None:
        figures["dcr_histogram"] = plots.plot_dcr_histogram(hist)
    groups = _subgroups(ctx.scorecard)
    if groups:
        figures["subgroups"] = plots.plot_subgroups(groups)
    sweep = ctx.provenance.get("epsilon_sweep") or []
    if len(sweep) >= 2:
        own = (ctx.provenance.get("differential_privacy") or {}).get("epsilon_requested")
        figures["epsilon_sweep"] = plots.plot_epsilon_sweep(sweep, own)
    return figures


def render_report(ctx: ReportContext, figures: dict[str, bytes] | None = None) -> str:
    """Render the report to an HTML string; figures are made when not given."""
    if figures is None:
        figures = make_figures(ctx)
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    corr = _correlation_detail(ctx)
    view = {
        "ctx": ctx,
        "status_class": status_class(ctx.status),
        "headline": [_headline_view(ctx.scorecard, n) for n in HEADLINE
                     if n in ctx.scorecard or n not in _OPTIONAL_HEADLINE],
        "families": family_views(ctx.scorecard),
        "distributions": _distribution_views(ctx, figures),
        "columns_not_plotted": _columns_not_plotted(ctx),
        "correlation": figure_view(figures, "correlation_difference", _corr_alt(corr)),
        "top_pairs": _top_pairs(corr),
        "dcr": figure_view(figures, "dcr_histogram", _dcr_alt(_dcr_histogram(ctx.scorecard))),
        "subgroups": figure_view(figures, "subgroups", "Per-subgroup bars: share of rows real vs synthetic, fidelity vs "
                             "its real-holdout ceiling, and TSTR vs TRTR; exact numbers are in the table below."),
        "groups": [_group_view(g) for g in _subgroups(ctx.scorecard)],
        "findings": sorted(ctx.findings, key=lambda f: _SEVERITY_RANK.get(str(f.get("severity", "")).lower(), 3)),
        "severity_class": lambda s: {0: "sev-high", 1: "sev-medium", 2: "sev-low"}.get(
            _SEVERITY_RANK.get(str(s).lower(), 3), "sev-low"),
        "provenance": [(str(k), provenance_value(v)) for k, v in ctx.provenance.items()],
        "dp": _privacy_view(ctx.provenance),
        "sweep": _sweep_view(ctx.provenance, figures),
    }
    return env.get_template("report.html.j2").render(**view)


def write_report(ctx: ReportContext, path: str | Path, figures: dict[str, bytes] | None = None) -> Path:
    """Render and write the report as UTF-8; returns the path."""
    path = Path(path)
    path.write_text(render_report(ctx, figures), encoding="utf-8")
    return path


# -- view helpers ---------------------------------------------------------------------------------------

def fmt(value: float | None) -> str:
    """A number as a steward reads it: three decimals, thousands separated when large."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    value = float(value)
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3f}"


def _metric_view(m: Metric) -> dict[str, Any]:
    reason = str(m.detail.get("reason", "no reason given"))
    if not m.applicable:
        value = f"not applicable: {reason}"
    elif not m.computed:
        value = f"not computed: {reason}"
    else:
        value = fmt(m.value)
    sign = "≥" if m.goal is Goal.MAXIMIZE else "≤"
    gate = {True: "pass", False: "fail", None: "not gated" if m.applicable else "not applicable"}[m.passed]
    state = "num" if m.computed else ("nc" if m.applicable else "na")
    return {"name": m.name, "missing": False, "value": value, "computed": m.computed, "state": state,
            "reference": fmt(m.reference) if m.reference is not None else "",
            "reference_label": m.reference_label,
            "threshold": f"{sign} {m.threshold:g}" if m.threshold is not None else "—",
            "gate": gate, "description": m.description,
            "goal": "higher is better" if m.goal is Goal.MAXIMIZE else "lower is better"}


def _headline_view(scorecard: Scorecard, name: str) -> dict[str, Any]:
    label, hint = _HEADLINE_TEXT.get(name, (name, ""))
    view = _metric_view(scorecard.get(name)) if name in scorecard else {"name": name, "missing": True}
    return {**view, "label": label, "hint": hint}


def family_views(scorecard: Scorecard) -> list[tuple[str, list[dict[str, Any]]]]:
    names = list(dict.fromkeys([*FAMILY_ORDER, *(m.family for m in scorecard)]))
    return [(f, [_metric_view(m) for m in scorecard.family(f)]) for f in names if scorecard.family(f)]


def _columns_not_plotted(ctx: ReportContext) -> int:
    if ctx.real is None:
        return 0
    shared = [n for n in ctx.schema.names if n in ctx.synthetic.columns and n in ctx.real.columns]
    return len(shared) - len(plotted_columns(ctx))


def status_class(status: str) -> str:
    low = status.lower()
    if "reject" in low:
        return "status-rejected"
    return "status-released" if low.startswith("released") else "status-pending"


def figure_view(figures: dict[str, bytes], name: str, alt: str) -> dict[str, str] | None:
    png = figures.get(name)
    return None if png is None else {"src": _data_uri(png), "alt": alt}


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _distribution_views(ctx: ReportContext, figures: dict[str, bytes]) -> list[dict[str, Any]]:
    views = []
    for i, col in enumerate(plotted_columns(ctx)):
        kind = ctx.schema[col].kind
        summary = _column_summary(ctx.real[col], ctx.synthetic[col], kind) if ctx.real is not None else ""
        alt = f"Distribution of column {col} ({kind.value}), real vs synthetic. {summary}".strip()
        figure = figure_view(figures, plots.distribution_figure_name(i, col), alt)
        if figure is not None or ctx.real is not None:  # without real rows, only stored figures can be shown
            views.append({"column": col, "kind": kind.value, "summary": summary, "figure": figure})
    return views


def _column_summary(real: pd.Series, synthetic: pd.Series, kind: ColumnKind) -> str:
    if kind in (ColumnKind.NUMERIC, ColumnKind.INTEGER):
        def describe(s: pd.Series) -> str:
            v = pd.to_numeric(s, errors="coerce").dropna()
            return "no values" if v.empty else f"median {fmt(v.median())} (IQR {fmt(v.quantile(.25))}–{fmt(v.quantile(.75))})"
        text = f"Real {describe(real)}; synthetic {describe(synthetic)}."
        outside = plots.out_of_range_share(real, synthetic, kind)
        if outside > 0:
            text += f" {outside:.1%} of synthetic values fall outside the real range."
    elif kind is ColumnKind.DATETIME:
        r, s = pd.to_datetime(real, errors="coerce"), pd.to_datetime(synthetic, errors="coerce")
        text = f"Real {_day(r.min())} to {_day(r.max())}; synthetic {_day(s.min())} to {_day(s.max())}."
    else:
        table = plots.category_shares(real, synthetic)
        if len(table):
            top = table["real"].idxmax()
            text = (f"{len(table)} categories; most common in real data: {top} "
                    f"(real {table.at[top, 'real']:.0%}, synthetic {table.at[top, 'synthetic']:.0%}).")
        else:
            text = ""
    missing_r, missing_s = real.isna().mean(), synthetic.isna().mean()
    if missing_r or missing_s:
        text += f" Missing: real {missing_r:.1%}, synthetic {missing_s:.1%}."
    return text


def _day(ts: pd.Timestamp) -> str:
    """A timestamp without a needless midnight."""
    if pd.isna(ts):
        return "—"
    return ts.date().isoformat() if ts == ts.normalize() else ts.isoformat(sep=" ")


def _correlation_detail(ctx: ReportContext) -> dict[str, Any] | None:
    if "fidelity.pair_trends" in ctx.scorecard:
        detail = ctx.scorecard.get("fidelity.pair_trends").detail.get("correlation_difference")
        if detail and detail.get("columns"):
            return detail
    if ctx.real is None:
        return None
    return plots.correlation_difference(ctx.real, ctx.synthetic, plotted_columns(ctx))


def _top_pairs(corr: dict[str, Any] | None, k: int = 5) -> list[tuple[str, str, str]]:
    if corr is None:
        return []
    cols = corr["columns"]
    m = np.array([[np.nan if v is None else float(v) for v in row] for row in corr["matrix"]], dtype=float)
    pairs = [(m[i, j], cols[i], cols[j]) for i in range(len(cols)) for j in range(i) if not np.isnan(m[i, j])]
    return [(a, b, fmt(v)) for v, a, b in sorted(pairs, reverse=True)[:k]]


def _corr_alt(corr: dict[str, Any] | None) -> str:
    pairs = _top_pairs(corr, 3)
    listed = "; ".join(f"{a} with {b}: {v}" for a, b, v in pairs)
    return ("Heatmap of absolute differences between real and synthetic correlations for each pair of columns, "
            f"0 (same) to 1 or more (very different). Largest: {listed or 'none computed'}.")


def _dcr_histogram(scorecard: Scorecard) -> dict[str, Any] | None:
    if "privacy.dcr_share_closer_to_train" not in scorecard:
        return None
    hist = scorecard.get("privacy.dcr_share_closer_to_train").detail.get("histogram")
    keys = ("edges", "synthetic_to_train", "holdout_to_train")
    return hist if isinstance(hist, dict) and all(hist.get(k) is not None for k in keys) else None


def _dcr_alt(hist: dict[str, Any] | None) -> str:
    what = ("Histogram of the distance from each record to its closest training record: synthetic records vs real "
            "holdout records.")
    if hist is None:
        return what
    edges = np.asarray(hist["edges"], dtype=float)
    mids = (edges[:-1] + edges[1:]) / 2

    def median(counts: Any) -> str:
        c = np.cumsum(np.asarray(counts, dtype=float))
        return fmt(mids[np.searchsorted(c, c[-1] / 2)]) if c.size and c[-1] else "—"

    return (f"{what} Median bin: synthetic {median(hist['synthetic_to_train'])}, "
            f"holdout {median(hist['holdout_to_train'])}.")


def _subgroups(scorecard: Scorecard) -> list[dict[str, Any]]:
    lists = [m.detail["groups"] for m in scorecard.family("fairness") if isinstance(m.detail.get("groups"), list)]
    return plots.merge_groups(lists)


def _group_view(g: dict[str, Any]) -> dict[str, str]:
    def count(v: Any) -> str:
        return "—" if v is None else f"{int(v):,}"

    return {"attribute": str(g.get("attribute")), "group": str(g.get("group")),
            "n_train": count(g.get("n_train")), "n_synthetic": count(g.get("n_synthetic")),
            "n_holdout": count(g.get("n_holdout")),
            **{k: fmt(g.get(k)) for k in ("share_real", "share_synthetic", "fidelity", "fidelity_ceiling",
                                          "tstr", "trtr")}}


def _privacy_view(provenance: dict[str, Any]) -> dict[str, str] | None:
    """The differential-privacy promise in words and numbers; None for a fit without one."""
    dp = provenance.get("differential_privacy")
    if not dp:
        return None
    return {"epsilon_spent": _budget(dp.get("epsilon_spent")), "epsilon_requested": _budget(dp.get("epsilon_requested")),
            "delta_spent": _budget(dp.get("delta_spent")), "delta_requested": _budget(dp.get("delta_requested")),
            "delta_rule": str(dp.get("delta_rule", "")), "mechanism": str(dp.get("mechanism", "not stated")),
            "composition": str(dp.get("composition", "")), "public": str(dp.get("public", "not stated"))}


def _budget(value: Any) -> str:
    """ε and δ as a reader compares them: enough digits, scientific for small δ."""
    if value is None:
        return "—"
    value = float(value)
    return f"{value:.2e}" if 0 < abs(value) < 1e-3 else f"{value:.4g}"


def _sweep_view(provenance: dict[str, Any], figures: dict[str, bytes]) -> dict[str, Any] | None:
    rows = provenance.get("epsilon_sweep") or []
    if not rows:
        return None
    own = (provenance.get("differential_privacy") or {}).get("epsilon_requested")
    ordered = sorted(rows, key=lambda r: float(r.get("epsilon") or 0))
    table = [{"epsilon": _budget(r.get("epsilon")), "epsilon_spent": _budget(r.get("epsilon_spent")),
              **{k.split(".")[0]: fmt(r.get(k)) for k in ("fidelity.overall", "utility.tstr_trtr_ratio",
                                                           "privacy.mia_auc")},
              "gate": "pass" if r.get("gate_passed") else "fail", "artifact_id": str(r.get("artifact_id", "")),
              "current": own is not None and r.get("epsilon") == own} for r in ordered]
    listed = "; ".join(f"ε {t['epsilon']}: fidelity {t['fidelity']}, utility {t['utility']}, MIA AUC {t['privacy']}"
                       for t in table)
    figure = figure_view(figures, "epsilon_sweep", f"Line chart of fidelity, utility and membership-inference AUC "
                                               f"against the privacy budget ε. {listed}.")
    return {"rows": table, "figure": figure}


def provenance_value(value: Any) -> dict[str, Any]:
    """Scalars inline; mappings and lists as indented JSON (``pre`` keeps them legible)."""
    if isinstance(value, (dict, list, tuple)):
        return {"block": True, "text": json.dumps(value, indent=2, default=str, sort_keys=True)}
    return {"block": False, "text": "—" if value is None else str(value)}
