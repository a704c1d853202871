"""Turn the raw rows into results.csv, results.md (tables, machine, versions, summary) and a plot."""

from __future__ import annotations

import math
import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from bench import tables
from bench.methods import Method
from bench.plot import plot_quality_vs_time

LIBRARIES = ("hygeia", "sdv", "sdmetrics", "ctgan", "rdt", "copulas", "torch", "numpy", "pandas", "scipy",
             "scikit-learn", "lifelines", "matplotlib")

#: (column, header saying how to read it) for the Hygeia scorecard table.
SCORECARD = (
    ("fidelity.detection_auc", "detection AUC (0.5 best)"),
    ("utility.tstr_trtr_ratio", "TSTR/TRTR (higher)"),
    ("privacy.dcr_share_closer_to_train", "DCR share closer to train (0.5 best)"),
    ("privacy.mia_auc", "MIA AUC (0.5 best)"),
    ("fairness.worst_group_utility_gap", "worst-group utility gap (lower)"),
)


def environment(**run: Any) -> dict[str, Any]:
    """Machine, library versions and run settings, for the header of results.md."""
    versions = {}
    for lib in LIBRARIES:
        try:
            versions[lib] = metadata.version(lib)
        except metadata.PackageNotFoundError:
            versions[lib] = "not installed"
    torch_threads = subprocess.run([sys.executable, "-c", "import torch; print(torch.get_num_threads())"],
                                   capture_output=True, text=True, check=False).stdout.strip() or "?"
    return {**run, "versions": versions, "python": platform.python_version(), "cpu_model": _cpu_model(),
            "cores": os.cpu_count(), "memory_gib": _memory_gib(), "torch_threads": torch_threads}


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                return round(int(line.split()[1]) / 1024 ** 2, 1)
    except OSError:
        pass
    return math.nan


def summarise(rows: pd.DataFrame) -> pd.DataFrame:
    """Mean and sd over seeds per (table, method), plus ratios to the best peer of each table."""
    numeric = [c for c in rows.columns if c != "seed" and pd.api.types.is_numeric_dtype(rows[c])]
    grouped = rows.groupby(["table", "method"], sort=False)
    mean, sd = grouped[numeric].mean(), grouped[numeric].std(ddof=1)
    counts = grouped[numeric].count()
    out = (mean.add_suffix("_mean").join(sd.add_suffix("_sd")).join(counts.add_suffix("_n"))
           .join(grouped.size().rename("n_seeds_ok")))
    out = out.reset_index()
    out["library"] = out["method"].map(rows.drop_duplicates("method").set_index("method")["library"])
    for table, part in out.groupby("table"):
        peers = part[part["library"].isin(["sdv"])]
        idx = part.index
        if len(peers):
            out.loc[idx, "time_ratio"] = part["seconds_mean"] / peers["seconds_mean"].min()
            out.loc[idx, "quality_ratio"] = part["sdm.quality_mean"] / peers["sdm.quality_mean"].max()
            out.loc[idx, "fidelity_ratio"] = part["fidelity.overall_mean"] / peers["fidelity.overall_mean"].max()
    return out


def _pm(mean: float, sd: float, digits: int = 3) -> str:
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "n/a"
    return f"{mean:.{digits}f} ± {sd:.{digits}f}" if not math.isnan(sd) else f"{mean:.{digits}f}"


def _partial(computed: int, seeds: int) -> str:
    return f" ({int(computed)} of {int(seeds)} seeds)" if 0 < computed < seeds else ""


def _nan_notes(rows: pd.DataFrame, labels: dict[str, str]) -> list[str]:
    """Why a cell is n/a or averages fewer seeds: the evaluator's own reason, per method and seed."""
    if "nan_reasons" not in rows:
        return []
    notes = rows[rows["nan_reasons"].notna()]
    return [f"Not computed: {labels.get(r['method'], r['method'])}, seed {r['seed']}: {r['nan_reasons']}."
            for _, r in notes.iterrows()]


def _ratio(value: float) -> str:
    return "" if value is None or math.isnan(value) else f"{value:.2f}×"


def _order(methods: dict[str, Method]) -> list[str]:
    return [*methods, "real_holdout"]


def write_results(rows: pd.DataFrame, methods: dict[str, Method], env: dict[str, Any], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for col in ("error", "score_error"):
        if col not in rows:
            rows[col] = None
    for col in ("rows", "synthetic_rows"):
        if col in rows:
            rows[col] = rows[col].astype("Int64")
    rows.to_csv(out / "results.csv", index=False)
    ok = rows[rows["error"].isna() & rows["score_error"].isna()]
    summary = summarise(ok)
    plot_quality_vs_time(summary, methods, out / "quality_vs_time.png")
    (out / "results.md").write_text(_markdown(rows, summary, methods, env), encoding="utf-8")


def _markdown(rows: pd.DataFrame, summary: pd.DataFrame, methods: dict[str, Method], env: dict[str, Any]) -> str:
    labels = {**{k: m.label for k, m in methods.items()}, "real_holdout": "*real holdout (ceiling)*"}
    v = env["versions"]
    lines = [
        "# Hygeia vs SDV: tabular generators on real clinical tables",
        "",
        (f"Run {env['date']} with `make bench`; whole run {env['total_seconds'] / 60:.1f} min "
        f"(fitting phase {env['fit_phase_seconds'] / 60:.1f} min). Seeds {', '.join(map(str, env['seeds']))}: "
        "each seed is its own 70/30 train/holdout split (`split_holdout`), the same for every method; "
        "every method samples as many rows as the train split has. Cells are mean ± sd over seeds."),
        "",
        (f"**Machine**: {env['cores']} cores, {env['cpu_model']}, {env['memory_gib']} GiB RAM, Python {env['python']}, "
        f"torch threads {env['torch_threads']}. Load average at start {env['load_start'][0]:.2f}, at end "
        f"{env['load_end'][0]:.2f} (a shared machine: read times as ratios, not absolutes)."),
        "",
        "**Versions**: " + ", ".join(f"{k} {v[k]}" for k in v) + ".",
        "",
        (f"**Settings**: every method at its library's defaults, except epochs: CTGAN {env['epochs']['ctgan']}, "
        f"TVAE {env['epochs']['tvae']} (SDV's default is 300 for both). SDV metadata is detected from the train "
        "frame (`Metadata.detect_from_dataframes`) and that detection is inside the timed span."),
        "",
        ("**Columns**: *fit+sample s* is wall time of fit + sample in a fresh worker process, library import "
        "excluded. *peak RSS MB* is `getrusage(RUSAGE_SELF).ru_maxrss` read by that worker after sampling: it "
        "includes Python, pandas, the data and the method's library (a Hygeia worker never imports torch). "
        "*SDMetrics quality* is `sdmetrics.reports.single_table.QualityReport` (real = train split, metadata as "
        "SDV detects it); *Hygeia fidelity* is `fidelity.overall` from `hygeia.evaluate.evaluate_synthetic`; both "
        "score every synthetic table after it is cast back to the train dtypes. Ratios divide a method's mean by "
        "the best SDV method's mean on that table: *time ÷ fastest peer* (below 1 is faster), *quality ÷ best "
        "peer* and *fidelity ÷ best peer* (above 1 is better)."),
        "",
    ]
    for table in [t for t in tables.TABLES if t in set(summary["table"])]:
        spec = tables.TABLES[table]
        part = summary[summary["table"] == table].set_index("method")
        n_train = rows[(rows["table"] == table) & rows["rows"].notna()]["rows"]
        lines += [f"## {table}: {spec.description}",
                  "",
                  (f"Target `{spec.target}`, sensitive {', '.join(f'`{s}`' for s in spec.sensitive)}; "
                  f"{int(n_train.iloc[0]) if len(n_train) else '?'} train rows."),
                  "",
                  ("| method | fit+sample s | time ÷ fastest peer | peak RSS MB (+ during fit) | SDMetrics quality | "
                  "quality ÷ best peer | Hygeia fidelity | fidelity ÷ best peer |"),
                  "|---|---:|---:|---:|---:|---:|---:|---:|"]
        for name in [m for m in _order(methods) if m in part.index]:
            r = part.loc[name]
            if name == "real_holdout":
                hygeia_ceiling = summary[(summary["table"] == table) & summary["method"].isin(methods)][
                    "fidelity.overall_holdout_ceiling_mean"].mean()
                lines.append(f"| {labels[name]} | | | | {_pm(r['sdm.quality_mean'], r['sdm.quality_sd'])} | | "
                             f"{hygeia_ceiling:.3f} | |")
                continue
            lines.append(
                f"| {labels[name]} | {_pm(r['seconds_mean'], r['seconds_sd'], 2)} | {_ratio(r.get('time_ratio'))} | "
                f"{r['peak_rss_mb_mean']:.0f} (+{r['peak_rss_mb_mean'] - r['baseline_rss_mb_mean']:.0f}) | "
                f"{_pm(r['sdm.quality_mean'], r['sdm.quality_sd'])} | "
                f"{_ratio(r.get('quality_ratio'))} | {_pm(r['fidelity.overall_mean'], r['fidelity.overall_sd'])} | "
                f"{_ratio(r.get('fidelity_ratio'))} |")
        lines += ["", "| method | " + " | ".join(h for _, h in SCORECARD) + " |",
                  "|---|" + "---:|" * len(SCORECARD)]
        for name in [m for m in methods if m in part.index]:
            r = part.loc[name]
            cells = [_pm(r[f"{c}_mean"], r[f"{c}_sd"]) + _partial(r[f"{c}_n"], r["n_seeds_ok"]) for c, _ in SCORECARD]
            lines.append(f"| {labels[name]} | " + " | ".join(cells) + " |")
        lines += ["", *_nan_notes(rows[rows["table"] == table], labels), ""]
    lines += ["## Who wins where", "", *_verdicts(summary, methods), "", *_caveats(summary, methods, env), ""]
    failed = rows[rows["error"].notna() | rows["score_error"].notna()]
    lines += ["## Failures", ""]
    if len(failed):
        for _, r in failed.iterrows():
            lines.append(f"- {r['table']} seed {r['seed']} {r['method']}: {r['error'] or r['score_error']}")
    else:
        lines.append("None: every fit, sample and score completed.")
    lines += ["", "Raw rows (one per table × seed × method): `results.csv`. Plot: `quality_vs_time.png`.", ""]
    return "\n".join(lines)


#: (column, what it is, goal): "max"/"min" = higher/lower is better, "half" = closest to 0.5 is best.
CRITERIA = (
    ("sdm.quality", "SDMetrics quality", "max"),
    ("fidelity.overall", "Hygeia fidelity", "max"),
    ("fidelity.detection_auc", "detection AUC (0.5 best)", "half"),
    ("utility.tstr_trtr_ratio", "TSTR/TRTR utility", "max"),
    ("privacy.dcr_share_closer_to_train", "DCR share closer to train (0.5 best)", "half"),
    ("privacy.mia_auc", "membership-inference AUC (0.5 best)", "half"),
    ("fairness.worst_group_utility_gap", "worst-group utility gap (lower better)", "min"),
    ("seconds", "fit+sample time", "min"),
    ("peak_rss_mb", "peak RSS", "min"),
)


def compare(summary: pd.DataFrame, methods: dict[str, Method], ours: str = "hygeia_gaussian_copula") -> list[dict]:
    """Our method against the best SDV method on every criterion of every table: win, tie or loss.

    A difference no larger than the combined seed-to-seed sd counts as a tie.
    """
    found = []
    for table in [t for t in tables.TABLES if t in set(summary["table"])]:
        part = summary[(summary["table"] == table) & summary["method"].isin(methods)].set_index("method")
        peers = [m for m in part.index if part.loc[m, "library"] == "sdv"]
        if ours not in part.index or not peers:
            continue
        for col, what, goal in CRITERIA:
            mean, sd = part[f"{col}_mean"], part[f"{col}_sd"].fillna(0.0)
            badness = (mean - 0.5).abs() if goal == "half" else (-mean if goal == "max" else mean)
            peer_bad = badness[peers].dropna()
            if peer_bad.empty or math.isnan(badness[ours]):
                continue
            best = peer_bad.idxmin()
            gap = badness[ours] - peer_bad[best]  # > 0: ours is worse
            noise = math.hypot(sd[ours], sd[best])
            outcome = "tie" if abs(gap) <= noise else ("loss" if gap > 0 else "win")
            found.append({"table": table, "criterion": what, "col": col, "outcome": outcome, "ours": mean[ours],
                          "peer": mean[best], "peer_label": methods[best].label, "gap": abs(gap), "noise": noise})
    return found


def _describe(c: dict) -> str:
    if c["col"] == "seconds":
        ratio = c["ours"] / c["peer"]
        how = f"{1 / ratio:.1f}× faster" if ratio < 1 else f"{ratio:.1f}× slower"
        return f"{c['criterion']} {c['ours']:.2f} s vs {c['peer']:.2f} s ({c['peer_label']}; {how})"
    if c["col"] == "peak_rss_mb":
        return f"{c['criterion']} {c['ours']:.0f} MB vs {c['peer']:.0f} MB ({c['peer_label']})"
    return (f"{c['criterion']} {c['ours']:.3f} vs {c['peer']:.3f} ({c['peer_label']}; "
            f"by {c['gap']:.3f}, seed sd {c['noise']:.3f})")


def _verdicts(summary: pd.DataFrame, methods: dict[str, Method]) -> list[str]:
    """Sentences computed from the numbers, so the summary cannot drift from the tables."""
    found = compare(summary, methods)
    if not found:
        return ["No comparison: Hygeia gaussian_copula or every SDV method is missing."]
    counts = {k: sum(c["outcome"] == k for c in found) for k in ("win", "tie", "loss")}
    losses = [c for c in found if c["outcome"] == "loss"]
    out = [(f"Hygeia `gaussian_copula` against the best SDV method on each criterion (a different peer may be "
           f"best on each), over {len({c['table'] for c in found})} tables × {len(CRITERIA)} criteria: "
           f"**{counts['win']} wins, {counts['tie']} ties (within seed-to-seed sd), {counts['loss']} losses**."),
           ""]
    if losses:
        out.append("Where Hygeia loses: " + "; ".join(f"{c['table']}: {_describe(c)}" for c in losses) + ".")
    else:
        out.append("Hygeia loses on no criterion of any table in this run.")
    out.append("")
    for table in dict.fromkeys(c["table"] for c in found):
        out.append(f"- **{table}**")
        for outcome, word in (("win", "wins"), ("tie", "ties"), ("loss", "LOSES")):
            items = [_describe(c) for c in found if c["table"] == table and c["outcome"] == outcome]
            if items:
                out.append(f"  - {word}: " + "; ".join(items))
    return out


def _caveats(summary: pd.DataFrame, methods: dict[str, Method], env: dict[str, Any]) -> list[str]:
    out = ["How to read this:", "",
           ("- Privacy and fairness gaps favour generators that learn less: a model far from every real record, "
           "or equally poor for every group, scores well on them. Read them beside fidelity and utility."),
           ("- `independent_marginals` is a trivial baseline (columns drawn independently); the comparison that "
           "matters is `gaussian_copula` against the peers.")]
    deep = [_epochs_note(name, env["epochs"][key]) for key, name in (("ctgan", "CTGAN"), ("tvae", "TVAE"))
            if f"sdv_{key}" in set(summary["method"])]
    if deep:
        out.append("- " + "; ".join(deep) + ".")
    above = []
    for table in [t for t in tables.TABLES if t in set(summary["table"])]:
        part = summary[summary["table"] == table].set_index("method")
        if "real_holdout" not in part.index:
            continue
        ceiling = part.loc["real_holdout", "sdm.quality_mean"]
        over = [methods[m].label for m in part.index if m in methods and part.loc[m, "sdm.quality_mean"] > ceiling]
        if over:
            above.append(f"{table} ({', '.join(over)} above {ceiling:.3f})")
    if above:
        out.append("- Above the real-holdout ceiling on SDMetrics quality: " + "; ".join(above) + ". A synthetic "
                   "table of train size drawn from a model of the train split can match that split more closely "
                   "than a smaller, independent real sample does; check the membership-inference AUC and DCR share "
                   "of the same rows before reading it as a pure gain.")
    return out


def _epochs_note(name: str, epochs: int) -> str:
    default = 300  # SDV's default for CTGAN and TVAE
    if epochs == default:
        return f"{name} ran SDV's default {default} epochs"
    if epochs < default:
        return (f"{name} ran {epochs} epochs, below SDV's default {default}, to fit the time budget: its quality "
                f"with full training may be higher, at about {default / epochs:.0f}× its training time")
    return f"{name} ran {epochs} epochs, above SDV's default {default}"
