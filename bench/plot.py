"""quality_vs_time.png: quality against fit + sample seconds (log x), one marker per method and table."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from bench.methods import Method

MARKERS = {"hygeia_gaussian_copula": "*", "hygeia_independent": "P", "sdv_gaussian_copula": "o",
           "sdv_ctgan": "s", "sdv_tvae": "^"}
COLOURS = {"actg175": "tab:blue", "gbsg2": "tab:orange", "lung": "tab:green"}


def plot_quality_vs_time(summary: pd.DataFrame, methods: dict[str, Method], path: Path) -> None:
    panels = (("sdm.quality", "SDMetrics QualityReport score (peers' yardstick)", "sdm.quality"),
              ("fidelity.overall", "Hygeia fidelity.overall", "fidelity.overall_holdout_ceiling"))
    fig = Figure(figsize=(12, 5))  # no pyplot: no global state, no display backend needed
    axes = fig.subplots(1, 2, sharex=True)
    gens = summary[summary["method"].isin(methods)]
    for ax, (col, title, ceiling_col) in zip(axes, panels):
        for _, r in gens.iterrows():
            ours = methods[r["method"]].library == "hygeia"
            ax.errorbar(r["seconds_mean"], r[f"{col}_mean"], xerr=r["seconds_sd"], yerr=r[f"{col}_sd"],
                        marker=MARKERS.get(r["method"], "x"), markersize=14 if ours else 9, linestyle="none",
                        color=COLOURS.get(r["table"], "grey"), markerfacecolor=None if ours else "white",
                        markeredgewidth=1.5, capsize=2, alpha=0.9)
        for table, colour in COLOURS.items():
            if col == "sdm.quality":
                ref = summary[(summary["table"] == table) & (summary["method"] == "real_holdout")]
                level = ref["sdm.quality_mean"].mean() if len(ref) else None
            else:
                level = gens[gens["table"] == table][f"{ceiling_col}_mean"].mean()
            if level is not None and not math.isnan(level):
                ax.axhline(level, color=colour, linestyle=":", linewidth=1)
        ax.set_xscale("log")
        ax.set_xlabel("fit + sample wall seconds (log scale)")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("score (higher is better; dotted: real holdout ceiling)")
    handles = [Line2D([], [], marker=MARKERS[k], color="black", linestyle="none",
                      markerfacecolor="black" if methods[k].library == "hygeia" else "white",
                      markersize=10, label=methods[k].label) for k in MARKERS if k in methods]
    handles += [Line2D([], [], color=c, marker="o", linestyle="none", label=t) for t, c in COLOURS.items()
                if t in set(summary["table"])]
    fig.legend(handles=handles, loc="lower center", ncol=4, frameon=False, fontsize=9)
    fig.suptitle("Hygeia (filled) vs SDV (hollow): quality against time, mean ± sd over seeds")
    fig.tight_layout(rect=(0, 0.12, 1, 0.95))
    fig.savefig(path, dpi=120)
