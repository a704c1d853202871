"""quality_vs_time.png: quality against fit + sample CPU seconds (log x), one marker per method and table.

Hygeia's models are filled markers, the peers hollow ones; colour is the table. Markers are
handed out in method order, so a newly registered Hygeia family gets one without a change here.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from bench import tables
from bench.methods import Method

OURS_MARKERS = ("*", "P", "D", "X", "p", "h", "v", "<", ">", "8")
PEER_MARKERS = ("o", "s", "^", "d", "H")
PANELS = (("sdm.quality", "SDMetrics QualityReport (peers' yardstick)"),
          ("fidelity.overall", "Hygeia fidelity.overall"),
          ("utility.tstr_trtr_ratio", "TSTR/TRTR utility"))


def _markers(methods: dict[str, Method]) -> dict[str, str]:
    ours = [k for k, m in methods.items() if not m.is_peer]
    peers = [k for k, m in methods.items() if m.is_peer]
    return {**{k: OURS_MARKERS[i % len(OURS_MARKERS)] for i, k in enumerate(ours)},
            **{k: PEER_MARKERS[i % len(PEER_MARKERS)] for i, k in enumerate(peers)}}


def _ceiling(summary: pd.DataFrame, gens: pd.DataFrame, table: str, col: str) -> float:
    """The real holdout's score: SDMetrics' from the reference rows, Hygeia's from its own reference."""
    if col == "sdm.quality":
        ref = summary[(summary["table"] == table) & (summary["method"] == "real_holdout")]
        return ref["sdm.quality_mean"].mean() if len(ref) else math.nan
    if col == "fidelity.overall" and "fidelity.overall_holdout_ceiling_mean" in gens:
        return gens[gens["table"] == table]["fidelity.overall_holdout_ceiling_mean"].mean()
    return 1.0 if col == "utility.tstr_trtr_ratio" else math.nan  # TSTR = TRTR


def plot_quality_vs_time(summary: pd.DataFrame, methods: dict[str, Method], path: Path) -> None:
    markers = _markers(methods)
    table_names = [t for t in tables.TABLES if t in set(summary["table"])]
    colours = {t: f"C{i}" for i, t in enumerate(table_names)}
    fig = Figure(figsize=(16, 6))  # no pyplot: no global state, no display backend needed
    axes = fig.subplots(1, len(PANELS), sharex=True)
    gens = summary[summary["method"].isin(methods)]
    for ax, (col, title) in zip(axes, PANELS):
        if f"{col}_mean" not in gens:
            continue
        for _, r in gens.iterrows():
            ours = not methods[r["method"]].is_peer
            ax.errorbar(r["cpu_seconds_mean"], r[f"{col}_mean"], xerr=r["cpu_seconds_sd"], yerr=r[f"{col}_sd"],
                        marker=markers[r["method"]], markersize=12 if ours else 9, linestyle="none",
                        color=colours[r["table"]], markerfacecolor=None if ours else "white",
                        markeredgewidth=1.5, capsize=2, alpha=0.85)
        for table, colour in colours.items():
            level = _ceiling(summary, gens, table, col)
            if not math.isnan(level):
                ax.axhline(level, color=colour, linestyle=":", linewidth=1)
        ax.set_xscale("log")
        ax.set_xlabel("fit + sample CPU seconds (log scale)")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("score (higher is better; dotted: real holdout)")
    handles = [Line2D([], [], marker=markers[k], color="black", linestyle="none",
                      markerfacecolor="white" if m.is_peer else "black", markersize=9, label=m.label)
               for k, m in methods.items()]
    handles += [Line2D([], [], color=c, marker="o", linestyle="none", label=t) for t, c in colours.items()]
    fig.legend(handles=handles, loc="lower center", ncol=5, frameon=False, fontsize=9)
    fig.suptitle("Hygeia (filled) vs SDV and MOSTLY AI (hollow): quality against CPU time, mean ± sd over seeds")
    fig.tight_layout(rect=(0, 0.16, 1, 0.95))
    fig.savefig(path, dpi=110)
