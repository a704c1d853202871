"""PNG figures for the synthetic cohort report: events per patient, time gaps, codes, lab values, onset ages.

Same house style as :mod:`hygeia.release.plots`: Agg canvas without pyplot, Okabe-Ito colours,
real filled and synthetic outlined so a greyscale print still tells them apart; the baseline, when
given, is a grey dashed outline. Every figure shows aggregates only, never a patient's timeline.
Shares, not counts, so cohorts of different sizes compare fairly; bins span the real range and a
note counts the synthetic values outside it.

>>> figures = plot_cohort_figures(train, synthetic, baseline=markov)  # doctest: +SKIP
>>> sorted(figures)  # doctest: +SKIP
['age_at_first_diagnosis', 'code_frequency', 'events_per_patient', 'lab_values', 'time_gaps']
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib.figure import Figure

from hygeia.data.longitudinal import Cohort
from hygeia.evaluate.longitudinal import CohortSummary, summarize, top_conditions, top_value_codes
from hygeia.release.plots import REAL, REFERENCE, SYNTH, _plain, to_png

TOP_FREQUENT = 20
SMALL_MULTIPLES = 4
_GAP_TICKS = ((1, "1 d"), (7, "1 wk"), (30.4, "1 mo"), (365.25, "1 y"), (3652.5, "10 y"))


def plot_cohort_figures(train: Cohort, synthetic: Cohort, baseline: Cohort | None = None) -> dict[str, bytes]:
    """The five cohort figures as PNG bytes, keyed as :data:`hygeia.release.cohort_report.FIGURES` expects."""
    real, syn = summarize(train), summarize(synthetic)
    base = summarize(baseline) if baseline is not None else None
    series = [("real (train)", real), ("synthetic", syn)] + ([("baseline", base)] if base is not None else [])
    return {
        "events_per_patient": _single(
            "Events per patient", "events per patient",
            [(label, s.counts["total"].to_numpy(float)) for label, s in series]),
        "time_gaps": _single(
            "Days between consecutive event days", "gap (log scale)",
            [(label, np.log10(s.day_gaps)) for label, s in series], log_days=True),
        "code_frequency": _code_frequency(series),
        "lab_values": _multiples(
            "Numeric observations", series, top_value_codes(real, SMALL_MULTIPLES), _values, "value",
            empty="no observation code has numeric values in the real cohort"),
        "age_at_first_diagnosis": _multiples(
            "Age at first diagnosis", series, top_conditions(real, SMALL_MULTIPLES), _onsets, "age (years)",
            empty="no condition is frequent enough in the real cohort"),
    }


def _values(summary: CohortSummary, key: str) -> np.ndarray:
    return summary.values.loc[summary.values["key"] == key, "value"].to_numpy(float)


def _onsets(summary: CohortSummary, key: str) -> np.ndarray:
    return summary.onsets.loc[summary.onsets["key"] == key, "age_years"].to_numpy(float)


def _hist(ax, series: list[tuple[str, np.ndarray]]) -> str | None:
    """Overlaid shares on bins over the real range; returns a note on synthetic values outside it."""
    real = series[0][1]
    real = real[np.isfinite(real)]
    if real.size == 0:
        ax.text(0.5, 0.5, "no real values", ha="center", va="center", transform=ax.transAxes, fontsize=8)
        return None
    lo, hi = float(real.min()), float(real.max())
    edges = np.histogram_bin_edges(real, bins=min(40, max(5, int(math.sqrt(real.size)))), range=(lo, hi)) \
        if hi > lo else np.array([lo - 0.5, hi + 0.5])
    styles = ({"color": REAL, "alpha": 0.45},
              {"histtype": "step", "color": SYNTH, "linewidth": 1.6},
              {"histtype": "step", "color": REFERENCE, "linewidth": 1.3, "linestyle": "--"})
    notes = []
    for (label, values), style in zip(series, styles):
        values = values[np.isfinite(values)]
        ax.hist(values, bins=edges, weights=np.full(values.size, 1 / max(values.size, 1)), label=label, **style)
        if label != series[0][0] and values.size:
            outside = float(np.mean((values < lo) | (values > hi)))
            if outside > 0:
                share = f"{outside:.1%}" if outside >= 0.001 else "under 0.1%"
                notes.append(f"{share} of {label} values outside the real range")
    return "; ".join(notes) or None


def _finish(fig: Figure, ax, note: str | None, legend: bool = True) -> bytes:
    ax.tick_params(labelsize=7)
    ax.spines[["top", "right"]].set_visible(False)
    if legend:
        ax.legend(fontsize=7, frameon=False, loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=3, borderaxespad=0.1,
                  handlelength=1.2, columnspacing=0.8)
    fig.tight_layout(pad=0.4, rect=(0, 0.06 if note else 0, 1, 1))
    if note:
        fig.text(0.01, 0.015, _plain(note), fontsize=7, color="#444444")
    return to_png(fig)


def _single(title: str, xlabel: str, series: list[tuple[str, np.ndarray]], log_days: bool = False) -> bytes:
    fig = Figure(figsize=(6.4, 3.0))
    ax = fig.add_subplot()
    note = _hist(ax, series)
    if log_days:
        lo, hi = ax.get_xlim()
        ticks = [(math.log10(d), label) for d, label in _GAP_TICKS if lo <= math.log10(d) <= hi]
        ax.set_xticks([t for t, _ in ticks], [label for _, label in ticks])
    ax.set_title(title, fontsize=9, loc="left")
    ax.set_xlabel(xlabel, fontsize=8)
    ax.set_ylabel("share", fontsize=8)
    return _finish(fig, ax, note)


def _label(summary: CohortSummary, key: str, width: int = 34) -> str:
    text = summary.displays.get(key) or key.split("|")[-1]
    return _plain(text if len(text) <= width else text[: width - 1] + "…")


def _code_frequency(series: list[tuple[str, CohortSummary]]) -> bytes:
    """Share of events of the real cohort's most frequent codes, side by side."""
    real = series[0][1]
    keys = real.codes.head(TOP_FREQUENT).index.tolist()
    fig = Figure(figsize=(6.4, 1.2 + 0.26 * max(len(keys), 1)))
    ax = fig.add_subplot()
    y = np.arange(len(keys))
    height = 0.8 / len(series)
    styles = ({"color": REAL}, {"color": "white", "edgecolor": SYNTH, "hatch": "////", "linewidth": 1.0},
              {"color": "white", "edgecolor": REFERENCE, "linestyle": "--", "linewidth": 1.0})
    for i, ((label, summary), style) in enumerate(zip(series, styles)):
        total = summary.codes.sum()
        shares = summary.codes.reindex(keys, fill_value=0).to_numpy(float) / (total if total else 1.0)
        ax.barh(y - 0.4 + height * (i + 0.5), shares, height=height, label=label, **style)
    ax.set_yticks(y, [_label(real, k) for k in keys], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("share of events", fontsize=8)
    ax.set_title(f"The {len(keys)} most frequent codes", fontsize=9, loc="left")
    return _finish(fig, ax, None, legend=bool(keys))


def _multiples(title: str, series: list[tuple[str, CohortSummary]], keys: list[str], values, xlabel: str,
               empty: str) -> bytes:
    """One small histogram per code (at most :data:`SMALL_MULTIPLES`), or a note when there is none."""
    if not keys:
        fig = Figure(figsize=(6.4, 1.2))
        ax = fig.add_subplot()
        ax.axis("off")
        ax.text(0.0, 0.5, f"{title}: {empty}.", fontsize=9, va="center", transform=ax.transAxes)
        return to_png(fig)
    cols = min(2, len(keys))
    rows = math.ceil(len(keys) / cols)
    fig = Figure(figsize=(6.4, 0.6 + 2.3 * rows))
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    notes = []
    for ax, key in zip(axes, keys):
        note = _hist(ax, [(label, values(summary, key)) for label, summary in series])
        if note:
            notes.append(note)
        ax.set_title(_label(series[0][1], key, 40), fontsize=8, loc="left")
        ax.set_xlabel(xlabel, fontsize=7)
        ax.tick_params(labelsize=7)
        ax.spines[["top", "right"]].set_visible(False)
    for ax in axes[len(keys):]:
        ax.axis("off")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=7, frameon=False, loc="upper right", ncol=3)
    fig.suptitle(title, fontsize=9, x=0.01, ha="left")
    fig.tight_layout(pad=0.4, rect=(0, 0.05 if notes else 0, 1, 0.95))
    if notes:
        fig.text(0.01, 0.01, _plain(notes[0] + (" (and more)" if len(notes) > 1 else "")), fontsize=7,
                 color="#444444")
    return to_png(fig)
