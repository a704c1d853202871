"""Turn the raw rows into results.csv, results.md (tables, machine, versions, target, summary) and a plot."""

from __future__ import annotations

import math
import os
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from bench import tables
from bench.methods import Method, Settings
from bench.plot import plot_quality_vs_time
from bench.target import CPU_SHARE, MIA_LIMIT, check_target, compare, describe_comparison, describe_target

LIBRARIES = ("hygeia", "sdv", "sdmetrics", "ctgan", "rdt", "copulas", "mostlyai-engine", "transformers", "torch",
             "opacus", "numpy", "pandas", "scipy", "scikit-learn", "lifelines", "scikit-survival", "matplotlib")

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
    return {**run, "versions": versions, "python": platform.python_version(), "cpu_model": _cpu_model(),
            "cores": os.cpu_count(), "memory_gib": _memory_gib()}


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


def summarise(rows: pd.DataFrame, methods: dict[str, Method]) -> pd.DataFrame:
    """Mean and sd over seeds per (table, method), plus ratios to each table's best peer (by fidelity)."""
    numeric = [c for c in rows.columns if c != "seed" and pd.api.types.is_numeric_dtype(rows[c])]
    grouped = rows.groupby(["table", "method"], sort=False)
    mean, sd = grouped[numeric].mean(), grouped[numeric].std(ddof=1)
    counts = grouped[numeric].count()
    out = (mean.add_suffix("_mean").join(sd.add_suffix("_sd")).join(counts.add_suffix("_n"))
           .join(grouped.size().rename("n_seeds_ok")))
    out = out.reset_index()
    out["library"] = out["method"].map(rows.drop_duplicates("method").set_index("method")["library"])
    for col in ("cpu_seconds", "fidelity.overall", "utility.tstr_trtr_ratio", "sdm.quality"):
        if f"{col}_mean" not in out:
            out[f"{col}_mean"] = out[f"{col}_sd"] = math.nan
    for _, part in out.groupby("table"):
        peers = part[part["method"].map(lambda m: m in methods and methods[m].is_peer)]
        peers = peers[peers["fidelity.overall_mean"].notna()]
        if len(peers):
            best = peers.loc[peers["fidelity.overall_mean"].idxmax()]
            for col, ratio in (("cpu_seconds", "cpu_ratio"), ("fidelity.overall", "fidelity_ratio"),
                               ("utility.tstr_trtr_ratio", "tstr_ratio")):
                out.loc[part.index, ratio] = part[f"{col}_mean"] / best[f"{col}_mean"]
    return out


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
    summary = summarise(ok, methods)
    plot_quality_vs_time(summary, methods, out / "quality_vs_time.png")
    (out / "results.md").write_text(_markdown(rows, summary, methods, env), encoding="utf-8")


def _pm(mean: float, sd: float, digits: int = 3) -> str:
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "n/a"
    return f"{mean:.{digits}f} ± {sd:.{digits}f}" if not math.isnan(sd) else f"{mean:.{digits}f}"


def _cell(r: pd.Series, col: str, digits: int = 3) -> str:
    partial = ""
    n, ok = r.get(f"{col}_n", math.nan), r.get("n_seeds_ok", math.nan)
    if 0 < n < ok:
        partial = f" ({int(n)} of {int(ok)} seeds)"
    return _pm(r.get(f"{col}_mean", math.nan), r.get(f"{col}_sd", math.nan), digits) + partial


def _ratio(value: Any) -> str:
    return "" if value is None or math.isnan(value) else f"{value:.2f}×"


def _nan_notes(rows: pd.DataFrame, labels: dict[str, str]) -> list[str]:
    """Why a cell is n/a or averages fewer seeds: the evaluator's own reason, per method and seed."""
    if "nan_reasons" not in rows:
        return []
    notes = rows[rows["nan_reasons"].notna()]
    return [f"Not computed: {labels.get(r['method'], r['method'])}, seed {r['seed']}: {r['nan_reasons']}."
            for _, r in notes.iterrows()]


def _header(env: dict[str, Any], methods: dict[str, Method]) -> list[str]:
    s: Settings = env["settings"]
    v = env["versions"]
    ours = [m for m in methods.values() if not m.is_peer]
    peers = [m for m in methods.values() if m.is_peer]
    families = ", ".join(f"`{m.name.removeprefix('hygeia_')}`" for m in ours)
    caps = [f"Hygeia's neural families train for at most {s.hygeia_max_time:g} s (`max_time`, their own "
            "training-time budget; the label shows it), so they may stop before their early stopping would"
            if s.hygeia_max_time else "Hygeia's neural families train without a time cap",
            f"MOSTLY AI trains for at most {s.mostly_max_time:g} s (`max_training_time`)" if s.mostly_max_time else
            "MOSTLY AI trains without a time cap"]
    cap = "; ".join(caps)
    quick = (["**QUICK development run** (`--quick`): few epochs, one seed, one small table. These numbers test the "
              "benchmark's plumbing; they are not a benchmark result.", ""] if env["quick"] else [])
    return [
        "# Hygeia vs SDV and MOSTLY AI: tabular generators on real clinical tables", "", *quick,
        (f"Run {env['date']}; whole run {env['total_seconds'] / 60:.1f} min (fitting phase "
         f"{env['fit_phase_seconds'] / 60:.1f} min). Seeds {', '.join(map(str, env['seeds']))}: each seed is its own "
         "70/30 train/holdout split (`split_holdout`, stratified on the target), the same for every method; every "
         "method samples as many rows as the train split has. Cells are mean ± sd over seeds."),
        "",
        (f"**Machine**: {env['cores']} cores, {env['cpu_model']}, {env['memory_gib']} GiB RAM, Python {env['python']}; "
         f"every method ran with {s.threads} torch/BLAS threads. Load average at start {env['load_start'][0]:.2f}, "
         f"at end {env['load_end'][0]:.2f} (a shared machine: wall times are noisy, CPU times less so)."),
        "",
        "**Versions**: " + ", ".join(f"{k} {v[k]}" for k in v) + ".",
        "",
        (f"**Methods**: Hygeia: the registered generator families run ({families}) at "
         f"{'their quick_params' if env['quick'] else 'their defaults'}, with `threads={s.threads}` where the family "
         "takes it and `random_state` = the seed; `independent_marginals` is the trivial baseline (columns drawn "
         f"independently), never counted as Hygeia's best. Peers: {', '.join(m.label for m in peers)}. SDV's "
         "default is 300 epochs for CTGAN and TVAE; SDV metadata is detected from the train frame inside the timed "
         "span. MOSTLY AI's engine runs on CPU with its defaults (at most 100 epochs, early stopping on its "
         f"validation loss) unless its label says otherwise. {cap[0].upper() + cap[1:]}. A fit + sample still running "
         f"after {env['timeout']:g} s is stopped and that method is not retried on the table's other seeds; no "
         f"fit starts after {env['fit_budget']:g} min of the run."),
        "",
        ("**Columns**: *wall s* and *CPU s* cover fit + sample in a fresh worker process, library import excluded; "
         "CPU is user + system time of the worker and of every child process it reaped (the target is stated in "
         "CPU time: it does not reward a method for using more cores). *peak RSS MB* is the worker's peak "
         "resident memory during that fit + sample (Linux `VmHWM`, reset before each seed; it includes Python, "
         "pandas, torch, the data and the library), in brackets what the fit and sample added to it. *SDMetrics "
         "quality* is `sdmetrics` `QualityReport` (real = the train split, metadata as SDV detects it); every "
         "other score is `hygeia.evaluate.evaluate_synthetic` (train, holdout, synthetic), for every method "
         "alike, after the synthetic table is cast to the train dtypes. *÷ best peer* divides by the peer of "
         "highest fidelity on that table."),
        "",
    ]


def _table_section(table: str, rows: pd.DataFrame, summary: pd.DataFrame, methods: dict[str, Method],
                   labels: dict[str, str], marks: dict[str, str], n_seeds: int) -> list[str]:
    spec = tables.TABLES[table]
    part = summary[summary["table"] == table].set_index("method")
    n_train = rows[(rows["table"] == table) & rows["rows"].notna()]["rows"] if "rows" in rows else pd.Series()
    lines = [f"## {table}: {spec.description}", "",
             (f"{tables.load(table).n_rows} rows; target `{spec.target}`, sensitive "
              f"{', '.join(f'`{s}`' for s in spec.sensitive)}; "
              f"{int(n_train.iloc[0]) if len(n_train) else '?'} train rows."), "",
             ("| method | wall s | CPU s | CPU ÷ best peer | peak RSS MB (+ fit) | SDMetrics quality | "
              "Hygeia fidelity | fidelity ÷ best peer | TSTR/TRTR | TSTR ÷ best peer |"),
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    def label(name: str) -> str:  # a mean over fewer seeds than the run had is flagged where it is shown
        done = part.loc[name, "n_seeds_ok"]
        return labels[name] + marks.get(name, "") + (f" ({done} of {n_seeds} seeds)" if done < n_seeds else "")

    for name in [m for m in [*methods, "real_holdout"] if m in part.index]:
        r = part.loc[name]
        if name == "real_holdout":
            ceiling = part.loc[[m for m in part.index if m in methods], "fidelity.overall_holdout_ceiling_mean"] \
                if "fidelity.overall_holdout_ceiling_mean" in part else pd.Series(dtype=float)
            lines.append(f"| {labels[name]} | | | | | {_cell(r, 'sdm.quality')} | {ceiling.mean():.3f} | | | |")
            continue
        lines.append(
            f"| {label(name)} | {_cell(r, 'seconds', 1)} | {_cell(r, 'cpu_seconds', 1)} | "
            f"{_ratio(r.get('cpu_ratio'))} | {r['peak_rss_mb_mean']:.0f} "
            f"(+{r['peak_rss_mb_mean'] - r['baseline_rss_mb_mean']:.0f}) | {_cell(r, 'sdm.quality')} | "
            f"{_cell(r, 'fidelity.overall')} | {_ratio(r.get('fidelity_ratio'))} | "
            f"{_cell(r, 'utility.tstr_trtr_ratio')} | {_ratio(r.get('tstr_ratio'))} |")
    lines += ["", "| method | " + " | ".join(h for c, h in SCORECARD if c != "utility.tstr_trtr_ratio") + " |",
              "|---|" + "---:|" * (len(SCORECARD) - 1)]
    for name in [m for m in methods if m in part.index]:
        cells = [_cell(part.loc[name], c) for c, _ in SCORECARD if c != "utility.tstr_trtr_ratio"]
        lines.append(f"| {label(name)} | " + " | ".join(cells) + " |")
    return [*lines, "", *_nan_notes(rows[rows["table"] == table], labels), ""]


def _markdown(rows: pd.DataFrame, summary: pd.DataFrame, methods: dict[str, Method], env: dict[str, Any]) -> str:
    labels = {**{k: m.label for k, m in methods.items()}, "real_holdout": "*real holdout (ceiling)*"}
    order = [t for t in tables.TABLES if t in set(summary["table"])]
    checks = {t: c for t in order if (c := check_target(summary, methods, t)) is not None}
    lines = _header(env, methods)
    lines += ["## The target, table by table", "",
              (f"*Hygeia's best model reaches at least the best peer's fidelity and TSTR/TRTR at no more than "
               f"{CPU_SHARE:g}× that peer's CPU time, with a membership-inference AUC of at most {MIA_LIMIT}.* Best "
               "peer = the peer of highest `fidelity.overall`; TSTR/TRTR must reach the highest of any peer; every "
               "non-baseline Hygeia model is checked, and Hygeia's best is the passing model of highest fidelity "
               "(or, if none passes, the model of highest fidelity). Means over seeds."), ""]
    if checks:
        met = sum(c.met for c in checks.values())
        lines += [f"**Met on {met} of {len(checks)} tables.**", ""]
        for c in checks.values():
            lines += describe_target(c, labels)
    else:
        lines.append("Not checked: no table has both a scored Hygeia model and a scored peer.")
    lines.append("")
    marks = {}
    for t, c in checks.items():
        marks[(t, c.ours)] = " **(Hygeia best)**"
        marks[(t, c.peer)] = " *(best peer)*"
    for table in order:
        lines += _table_section(table, rows, summary, methods, labels,
                                {m: mark for (t, m), mark in marks.items() if t == table}, len(env["seeds"]))
    lines += ["## Who wins where", "", *_verdicts(summary, methods, checks, labels), "", *_caveats(summary, methods),
              "", "## Failures", ""]
    failed = rows[rows["error"].notna() | rows["score_error"].notna()]
    for _, r in failed.iterrows():
        lines.append(f"- {r['table']} seed {r['seed']} {labels.get(r['method'], r['method'])}: "
                     f"{r['error'] if isinstance(r['error'], str) else r['score_error']}")
    if not len(failed):
        lines.append("None: every fit, sample and score completed.")
    lines += ["", "Raw rows (one per table × seed × method): `results.csv`. Plot: `quality_vs_time.png`.", ""]
    return "\n".join(lines)


def _verdicts(summary: pd.DataFrame, methods: dict[str, Method], checks: dict, labels: dict[str, str]) -> list[str]:
    """Sentences computed from the numbers, so the summary cannot drift from the tables."""
    found = compare(summary, methods, {t: c.ours for t, c in checks.items()})
    if not found:
        return ["No comparison: a table lacks a scored Hygeia model or a scored peer."]
    counts = {k: sum(c["outcome"] == k for c in found) for k in ("win", "tie", "loss")}
    out = [(f"Hygeia's best model of each table (marked above) against the best peer on each criterion (a different "
            f"peer may be best on each), over {len(checks)} table(s): **{counts['win']} win(s), {counts['tie']} tie(s) "
            f"(within seed-to-seed sd), {counts['loss']} loss(es)**."), ""]
    for table in dict.fromkeys(c["table"] for c in found):
        out.append(f"- **{table}** ({labels[checks[table].ours]})")
        for outcome, word in (("win", "wins"), ("tie", "ties"), ("loss", "LOSES")):
            items = [describe_comparison(c) for c in found if c["table"] == table and c["outcome"] == outcome]
            if items:
                out.append(f"  - {word}: " + "; ".join(items))
    return out


def _caveats(summary: pd.DataFrame, methods: dict[str, Method]) -> list[str]:
    out = ["How to read this:", "",
           ("- Privacy and fairness gaps favour generators that learn less: a model far from every real record, "
            "or equally poor for every group, scores well on them. Read them beside fidelity and utility."),
           ("- CPU time is the cost the target is stated in; wall time depends on how many cores a library uses "
            "and on what else ran on the shared machine.")]
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
