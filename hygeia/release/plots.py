"""PNG figures for the release report: distributions, correlation differences, DCR, subgroups, ε sweeps.

Figures are built on :class:`matplotlib.figure.Figure` with the Agg canvas directly, never
through ``pyplot``, so nothing is left in pyplot's global registry and the module is safe to
call from a server thread. Colours are the Okabe-Ito colour-blind-safe pair, and real and
synthetic also differ in *form* (filled vs outlined / hatched) so the plots survive a
greyscale printout.
"""

from __future__ import annotations

import io
import math
import re
from typing import Any, Sequence

import numpy as np
import pandas as pd
from matplotlib import dates as mdates
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from hygeia.data.schema import ColumnKind

REAL, SYNTH, REFERENCE = "#0072B2", "#D55E00", "#7F7F7F"
#: Categories shown per bar chart; the rest are pooled into "other".
MAX_CATEGORIES = 12
#: Subgroups shown in the subgroup figure (worst first is the caller's job).
MAX_GROUPS = 30
_DPI = 100
_NUMERIC_KINDS = (ColumnKind.NUMERIC, ColumnKind.INTEGER, ColumnKind.DATETIME)


def distribution_figure_name(index: int, column: str) -> str:
    """File-safe, stable figure name for the ``index``-th plotted column.

    >>> distribution_figure_name(3, "<b>cd4 count</b>")
    'dist_03_b_cd4_count_b'
    """
    slug = re.sub(r"[^A-Za-z0-9]+", "_", column).strip("_")[:40] or "column"
    return f"dist_{index:02d}_{slug}"


def to_png(fig: Figure) -> bytes:
    """Render a figure to PNG bytes (the figure is discarded afterwards)."""
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=_DPI, metadata={"Software": None})
    fig.clear()
    return buf.getvalue()


def _plain(text: Any) -> str:
    """Escape ``$`` so matplotlib never parses a column name or category as mathtext."""
    return str(text).replace("$", r"\$")


def numeric_values(series: pd.Series, kind: ColumnKind) -> np.ndarray:
    """Non-missing values as floats (dates as matplotlib date numbers)."""
    values = series.dropna()
    if kind is ColumnKind.DATETIME:
        return mdates.date2num(pd.to_datetime(values, errors="coerce").dropna().dt.tz_localize(None).to_numpy())
    return pd.to_numeric(values, errors="coerce").dropna().to_numpy(dtype=float)


def out_of_range_share(real: pd.Series, synthetic: pd.Series, kind: ColumnKind) -> float:
    """Share of synthetic values outside the real min..max (NaN when either side is empty)."""
    r, s = numeric_values(real, kind), numeric_values(synthetic, kind)
    if len(r) == 0 or len(s) == 0:
        return math.nan
    return float(np.mean((s < r.min()) | (s > r.max())))


def plot_distribution(real: pd.Series, synthetic: pd.Series, kind: ColumnKind, title: str) -> bytes:
    """One small multiple: real vs synthetic on shared bins (numbers, dates) or side-by-side bars."""
    fig = Figure(figsize=(3.4, 2.4))
    ax = fig.add_subplot()
    note = _histogram(ax, real, synthetic, kind) if kind in _NUMERIC_KINDS else _bars(ax, real, synthetic)
    ax.set_title(_plain(title if len(title) <= 26 else title[:25] + "…"), fontsize=9, loc="left")
    ax.set_ylabel("share of rows", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.spines[["top", "right"]].set_visible(False)
    # Legend above the axes, right of the title, so it never hides a bar.
    ax.legend(fontsize=7, frameon=False, loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=2, borderaxespad=0.1,
              handlelength=1.2, columnspacing=0.8)
    fig.tight_layout(pad=0.4, rect=(0, 0.07 if note else 0, 1, 1))
    if note:
        fig.text(0.01, 0.015, note, fontsize=7, color="#444444")
    return to_png(fig)


def _histogram(ax, real: pd.Series, synthetic: pd.Series, kind: ColumnKind) -> str | None:
    r, s = numeric_values(real, kind), numeric_values(synthetic, kind)
    # Bins span the real range: synthetic values outside it are counted and reported, not
    # stretched into view, so one wild value cannot flatten the whole plot.
    base = r if len(r) else s
    if len(base) == 0:
        ax.text(0.5, 0.5, "no values", ha="center", va="center", transform=ax.transAxes)
        return None
    lo, hi = float(base.min()), float(base.max())
    if kind is ColumnKind.INTEGER and hi - lo <= 2000:
        # Whole-number bins of equal width: uneven integer counts per bin would draw false spikes.
        width = max(1, math.ceil((hi - lo + 1) / 40))
        edges = np.arange(lo - 0.5, hi + width + 0.5, width)
    elif hi > lo:
        edges = np.histogram_bin_edges(base, bins="auto", range=(lo, hi))
        if len(edges) > 41:
            edges = np.linspace(lo, hi, 41)
    else:
        edges = np.array([lo - 0.5, hi + 0.5])
    ax.hist(r, bins=edges, weights=np.full(len(r), 1 / max(len(r), 1)), color=REAL, alpha=0.45, label="real")
    ax.hist(s, bins=edges, weights=np.full(len(s), 1 / max(len(s), 1)), histtype="step", color=SYNTH,
            linewidth=1.6, label="synthetic")
    if kind is ColumnKind.DATETIME:
        locator = mdates.AutoDateLocator(minticks=3, maxticks=6)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    outside = float(np.mean((s < lo) | (s > hi))) if len(r) and len(s) else 0.0
    return f"{outside:.1%} of synthetic values outside the real range (not shown)" if outside > 0 else None


def category_shares(real: pd.Series, synthetic: pd.Series) -> pd.DataFrame:
    """Per-category shares: coded levels in code order, else by real frequency with the tail pooled as "other"."""
    def shares(series: pd.Series) -> pd.Series:
        labels = series.astype(object).where(series.notna(), "(missing)").map(str)
        return labels.value_counts(normalize=True)

    table = pd.concat({"real": shares(real), "synthetic": shares(synthetic)}, axis=1).fillna(0.0)
    codes = pd.to_numeric(pd.Series(table.index), errors="coerce")
    if len(table) <= MAX_CATEGORIES and codes.notna().all():
        table = table.iloc[np.argsort(codes.to_numpy(), kind="stable")]  # coded levels read best in code order
    else:
        table = table.sort_values(["real", "synthetic"], ascending=False)
    if len(table) > MAX_CATEGORIES:
        head, tail = table.iloc[: MAX_CATEGORIES - 1], table.iloc[MAX_CATEGORIES - 1:]
        table = pd.concat([head, pd.DataFrame([tail.sum()], index=[f"other ({len(tail)})"])])
    return table


def _bars(ax, real: pd.Series, synthetic: pd.Series) -> None:
    """Side-by-side shares; synthetic hatched so the pair reads in greyscale too."""
    table = category_shares(real, synthetic)
    x = np.arange(len(table))
    ax.bar(x - 0.2, table["real"], width=0.4, color=REAL, label="real")
    ax.bar(x + 0.2, table["synthetic"], width=0.4, color="white", edgecolor=SYNTH, hatch="////",
           linewidth=1.0, label="synthetic")
    labels = [_plain(label if len(label) <= 12 else label[:11] + "…") for label in table.index]
    ax.set_xticks(x, labels, rotation=30 if len(table) > 4 else 0, ha="right" if len(table) > 4 else "center")


def correlation_difference(real: pd.DataFrame, synthetic: pd.DataFrame, columns: Sequence[str]) -> dict[str, Any]:
    """``|corr(real) - corr(synthetic)|`` (Pearson) of numerically encoded columns.

    Categories are coded by their sorted union of labels so both tables share one code book;
    dates become nanoseconds. Constant columns yield NaN entries, shown blank.
    """
    def encode(frame: pd.DataFrame) -> pd.DataFrame:
        out = {}
        for col in columns:
            series = frame[col]
            if pd.api.types.is_datetime64_any_dtype(series):
                out[col] = series.astype("int64").where(series.notna())
            elif pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
                out[col] = series.astype(float)
            else:
                levels = sorted(set(real[col].dropna().map(str)) | set(synthetic[col].dropna().map(str)))
                codes = {level: i for i, level in enumerate(levels)}
                out[col] = series.map(lambda v: codes.get(str(v)) if pd.notna(v) else np.nan).astype(float)
        return pd.DataFrame(out)

    diff = (encode(real).corr() - encode(synthetic).corr()).abs()
    return {"columns": list(columns), "matrix": diff.to_numpy().tolist()}


def plot_correlation_difference(columns: Sequence[str], matrix: Sequence[Sequence[float | None]]) -> bytes:
    """Lower-triangle heatmap of absolute correlation differences on a fixed 0–1 scale."""
    values = np.array([[math.nan if v is None else float(v) for v in row] for row in matrix], dtype=float)
    upper = np.triu(np.ones_like(values, dtype=bool))
    undefined = np.where(~upper & np.isnan(values), 1.0, np.nan)  # e.g. a constant column: grey, not "no difference"
    values[upper] = np.nan  # symmetric: the lower triangle says it all
    n = len(columns)
    side = min(max(3.5, 0.24 * n + 2.2), 9.0)
    fig = Figure(figsize=(side + 1.0, side))
    ax = fig.add_subplot()
    # A fixed scale keeps reports comparable across artifacts; > 1 is saturated.
    image = ax.imshow(np.ma.masked_invalid(values), cmap="magma_r", vmin=0.0, vmax=1.0)
    ax.imshow(np.ma.masked_invalid(undefined), cmap=ListedColormap(["#b0b0b0"]), vmin=0.0, vmax=1.0)
    labels = [_plain(c if len(c) <= 18 else c[:17] + "…") for c in columns]
    fontsize = 8 if n <= 30 else 6
    ax.set_xticks(range(n), labels, rotation=90, fontsize=fontsize)
    ax.set_yticks(range(n), labels, fontsize=fontsize)
    ax.spines[:].set_visible(False)
    bar = fig.colorbar(image, ax=ax, fraction=0.04, pad=0.02, extend="max")
    bar.set_label("|corr real − corr synthetic|", fontsize=9)
    fig.tight_layout()
    return to_png(fig)


def plot_dcr_histogram(histogram: dict[str, Sequence[float]]) -> bytes:
    """Distance to the closest training record: synthetic rows vs real holdout rows."""
    edges = np.asarray(histogram["edges"], dtype=float)
    fig = Figure(figsize=(6.4, 3.2))
    ax = fig.add_subplot()
    for key, label, style in (
        ("holdout_to_train", "real holdout → train (expected)", {"color": REAL, "alpha": 0.45}),
        ("synthetic_to_train", "synthetic → train", {"histtype": "step", "color": SYNTH, "linewidth": 1.8}),
    ):
        counts = np.asarray(histogram[key], dtype=float)
        total = counts.sum()
        # Shares, not counts, so samples of different sizes compare fairly.
        ax.hist(edges[:-1], bins=edges, weights=counts / total if total else counts, label=label, **style)
    ax.set_xlabel("distance to closest training record", fontsize=9)
    ax.set_ylabel("share of records", fontsize=9)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(fontsize=8, frameon=False)
    fig.tight_layout()
    return to_png(fig)


def merge_groups(group_lists: Sequence[Sequence[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Union of subgroup rows from several fairness metrics, keyed by (attribute, group)."""
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for groups in group_lists:
        for row in groups:
            key = (str(row.get("attribute")), str(row.get("group")))
            target = merged.setdefault(key, {})
            for field, value in row.items():
                if value is not None or field not in target:
                    target[field] = value
    return list(merged.values())[:MAX_GROUPS]


def plot_subgroups(groups: Sequence[dict[str, Any]]) -> bytes:
    """Three panels per subgroup: share real vs synthetic, fidelity vs ceiling, TSTR vs TRTR."""
    labels = [_plain(f"{g.get('attribute')} = {g.get('group')}") for g in groups]
    y = np.arange(len(groups))
    fig = Figure(figsize=(10.0, 1.6 + 0.3 * len(groups)))
    panels = (
        ("Share of rows", ("share_real", "real"), ("share_synthetic", "synthetic")),
        ("Fidelity", ("fidelity_ceiling", "ceiling (real holdout)"), ("fidelity", "synthetic")),
        ("Utility (AUC)", ("trtr", "TRTR (real)"), ("tstr", "TSTR (synthetic)")),
    )
    axes = fig.subplots(1, 3, sharey=True)
    for ax, (title, (ref_key, ref_label), (val_key, val_label)) in zip(axes, panels):
        ref = np.array([_num(g.get(ref_key)) for g in groups])
        val = np.array([_num(g.get(val_key)) for g in groups])
        ax.barh(y - 0.2, np.nan_to_num(ref), height=0.4, color=REAL if ref_key == "share_real" else REFERENCE,
                label=ref_label)
        ax.barh(y + 0.2, np.nan_to_num(val), height=0.4, color="white", edgecolor=SYNTH, hatch="////", label=val_label)
        for i in np.flatnonzero(np.isnan(val) | np.isnan(ref)):
            ax.text(0.01, y[i], "not computed", va="center", fontsize=7, color="#444444",
                    transform=ax.get_yaxis_transform())
        ax.set_title(title, fontsize=10, loc="left", pad=18)
        ax.set_xlim(0, max(1.0, np.nanmax(np.r_[ref, val, 0.0])))
        ax.tick_params(labelsize=8)
        ax.spines[["top", "right"]].set_visible(False)
        # Legend between title and bars, so it never hides a bar.
        ax.legend(fontsize=7, frameon=False, loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=2,
                  borderaxespad=0.1, handlelength=1.5, columnspacing=1.0)
    axes[0].set_yticks(y, labels)
    axes[0].invert_yaxis()
    fig.tight_layout()
    return to_png(fig)


def _num(value: Any) -> float:
    return math.nan if value is None else float(value)


#: Lines of the epsilon-sweep figure: metric, label, colour, marker, line style (distinct in greyscale too).
SWEEP_LINES = (
    ("fidelity.overall", "fidelity (higher is better)", REAL, "o", "-"),
    ("utility.tstr_trtr_ratio", "utility TSTR/TRTR (higher is better)", "#009E73", "s", "--"),
    ("privacy.mia_auc", "membership-inference AUC (0.5 is ideal)", SYNTH, "^", ":"),
)


def plot_epsilon_sweep(rows: Sequence[dict[str, Any]], current: float | None = None) -> bytes:
    """Fidelity, utility and membership-inference AUC against ε (log scale), one point per candidate.

    ``rows`` are a sweep's summary lines (``epsilon`` plus the metric names); ``current`` marks
    the ε of the candidate whose report shows the figure.
    """
    ordered = sorted((r for r in rows if r.get("epsilon") is not None), key=lambda r: float(r["epsilon"]))
    x = np.array([float(r["epsilon"]) for r in ordered])
    fig = Figure(figsize=(6.4, 3.4))
    ax = fig.add_subplot()
    for name, label, colour, marker, style in SWEEP_LINES:
        y = np.array([_num(r.get(name)) for r in ordered])
        if np.isfinite(y).any():
            ax.plot(x, y, color=colour, marker=marker, linestyle=style, linewidth=1.6, label=label)
    ax.axhline(0.5, color=REFERENCE, linewidth=0.8, linestyle=(0, (1, 3)))
    if current is not None:
        ax.axvline(float(current), color="#444444", linewidth=1.0, linestyle="-", alpha=0.6)
        ax.annotate(f"this candidate: ε = {float(current):g}", (float(current), 1.0),
                    xycoords=("data", "axes fraction"), xytext=(4, -12), textcoords="offset points", fontsize=8)
    if len(x) and x.min() > 0:
        ax.set_xscale("log")
        ax.set_xticks(x, [f"{v:g}" for v in x])
        ax.minorticks_off()
    ax.set_xlabel("privacy budget ε (smaller = more private)", fontsize=9)
    ax.set_ylabel("score", fontsize=9)
    ax.set_ylim(0.0, 1.05)
    ax.tick_params(labelsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(fontsize=7, frameon=False, loc="lower right")
    fig.tight_layout()
    return to_png(fig)


def plot_sentence_support(scores: Sequence[float], supported: Sequence[bool], critical: Sequence[bool]) -> bytes:
    """One bar per drafted sentence: its best support score in the source, by the grounding verdict.

    Supported sentences are filled blue, unsupported ones outlined orange, and those with an unsupported
    critical fact also hatched, so the three read apart in greyscale too.
    """
    n = len(scores)
    fig = Figure(figsize=(6.4, max(1.6, 0.28 * n + 0.9)))
    ax = fig.add_subplot()
    y = np.arange(n)[::-1]
    for i, (score, ok, bad) in enumerate(zip(scores, supported, critical, strict=True)):
        style = ({"color": REAL} if ok else
                 {"facecolor": "white", "edgecolor": SYNTH, "linewidth": 1.5, "hatch": "///" if bad else None})
        ax.barh(y[i], max(float(score), 0.0), height=0.7, **style)
    ax.set_yticks(y, [f"S{i + 1}" for i in range(n)], fontsize=8)
    ax.set_xlim(0, 1)
    ax.set_xlabel("support score of the best source passage", fontsize=9)
    ax.spines[["top", "right"]].set_visible(False)
    handles = [Patch(color=REAL, label="supported"), Patch(facecolor="white", edgecolor=SYNTH, label="unsupported"),
               Patch(facecolor="white", edgecolor=SYNTH, hatch="///", label="unsupported critical fact")]
    ax.legend(handles=handles, fontsize=8, frameon=False, loc="lower right")
    fig.tight_layout()
    return to_png(fig)
