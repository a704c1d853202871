"""Hygeia against the peers, table by table: the stated target and a win/tie/loss count.

The target: *Hygeia's best model reaches at least the best peer's fidelity and TSTR/TRTR, at no
more than half of that peer's CPU time, with a membership-inference AUC of at most 0.6.*

Read strictly, on the means over seeds:

- the *best peer* is the peer model with the highest ``fidelity.overall``; its CPU time is the
  one to halve;
- fidelity must reach the best peer's, and TSTR/TRTR the highest of any peer (which may be
  another peer than the best one);
- every non-baseline Hygeia model is checked; the target is met when one of them passes all
  four conditions. *Hygeia's best* is the passing model of highest fidelity, or, when none
  passes, the model of highest fidelity, whose misses are then given with their size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from bench.methods import Method

CPU_SHARE = 0.5
MIA_LIMIT = 0.6
FID, TSTR, CPU, MIA = "fidelity.overall", "utility.tstr_trtr_ratio", "cpu_seconds", "privacy.mia_auc"


@dataclass
class TargetCheck:
    table: str
    ours: str
    peer: str
    tstr_peer: str
    values: dict[str, float]  # ours_fid, peer_fid, ours_tstr, peer_tstr, ours_cpu, peer_cpu, ours_mia
    misses: list[str] = field(default_factory=list)
    passing: list[str] = field(default_factory=list)  # every Hygeia model that meets the target

    @property
    def met(self) -> bool:
        return not self.misses

    @property
    def cpu_ratio(self) -> float:
        return self.values["ours_cpu"] / self.values["peer_cpu"]


def _sd(value: float) -> str:
    return "one seed" if math.isnan(value) else f"seed sd {value:.3f}"


def _misses(r: pd.Series, peer_fid: float, peer_tstr: float, peer_cpu: float) -> list[str]:
    out = []
    if not r[f"{FID}_mean"] >= peer_fid:
        out.append(f"fidelity {r[f'{FID}_mean']:.3f} < {peer_fid:.3f} (short by {peer_fid - r[f'{FID}_mean']:.3f}, "
                   f"{_sd(r[f'{FID}_sd'])})")
    if not r[f"{TSTR}_mean"] >= peer_tstr:
        out.append(f"TSTR/TRTR {r[f'{TSTR}_mean']:.3f} < {peer_tstr:.3f} "
                   f"(short by {peer_tstr - r[f'{TSTR}_mean']:.3f}, {_sd(r[f'{TSTR}_sd'])})")
    ratio = r[f"{CPU}_mean"] / peer_cpu
    if not ratio <= CPU_SHARE:
        out.append(f"CPU time {ratio:.2f}× the peer's, above {CPU_SHARE:g}× "
                   f"({r[f'{CPU}_mean']:.1f} s vs {peer_cpu:.1f} s; {ratio / CPU_SHARE:.1f}× over the allowance)")
    if not r[f"{MIA}_mean"] <= MIA_LIMIT:
        out.append(f"MIA AUC {r[f'{MIA}_mean']:.3f} above {MIA_LIMIT}")
    return out


def check_target(summary: pd.DataFrame, methods: dict[str, Method], table: str) -> TargetCheck | None:
    """The target on one table (None when it has no Hygeia model or no peer with scores)."""
    part = summary[(summary["table"] == table) & summary["method"].isin(methods)].set_index("method")
    part = part[part[f"{FID}_mean"].notna()]
    peers = [m for m in part.index if methods[m].is_peer]
    ours = [m for m in part.index if not methods[m].is_peer and not methods[m].baseline]
    if not peers or not ours:
        return None
    peer = part.loc[peers, f"{FID}_mean"].idxmax()
    tstr_peer = part.loc[peers, f"{TSTR}_mean"].idxmax()
    peer_fid, peer_cpu = part.loc[peer, f"{FID}_mean"], part.loc[peer, f"{CPU}_mean"]
    peer_tstr = part.loc[tstr_peer, f"{TSTR}_mean"]
    misses = {m: _misses(part.loc[m], peer_fid, peer_tstr, peer_cpu) for m in ours}
    passing = [m for m in ours if not misses[m]]
    by_fid = part.loc[passing or ours, f"{FID}_mean"].sort_values(ascending=False)
    best = by_fid.index[0]
    r = part.loc[best]
    values = {"ours_fid": r[f"{FID}_mean"], "peer_fid": peer_fid, "ours_tstr": r[f"{TSTR}_mean"],
              "peer_tstr": peer_tstr, "ours_cpu": r[f"{CPU}_mean"], "peer_cpu": peer_cpu, "ours_mia": r[f"{MIA}_mean"]}
    return TargetCheck(table, best, peer, tstr_peer, values, misses[best], passing)


def describe_target(c: TargetCheck, labels: dict[str, str]) -> list[str]:
    v = c.values
    tstr_from = "" if c.tstr_peer == c.peer else f" (best peer TSTR: {labels[c.tstr_peer]})"
    lines = [f"- **{c.table}: target {'MET' if c.met else 'MISSED'}.** Hygeia's best: {labels[c.ours]}; "
             f"best peer: {labels[c.peer]}. Fidelity {v['ours_fid']:.3f} vs {v['peer_fid']:.3f} "
             f"({v['ours_fid'] / v['peer_fid']:.3f}×); TSTR/TRTR {v['ours_tstr']:.3f} vs {v['peer_tstr']:.3f}"
             f"{tstr_from} ({_ratio(v['ours_tstr'], v['peer_tstr'])}); CPU {v['ours_cpu']:.1f} s vs "
             f"{v['peer_cpu']:.1f} s ({c.cpu_ratio:.2f}×, target ≤ {CPU_SHARE:g}×); MIA AUC {v['ours_mia']:.3f} "
             f"(target ≤ {MIA_LIMIT})."]
    if c.misses:
        lines.append("  Misses by: " + "; ".join(c.misses) + ".")
    others = [labels[m] for m in c.passing if m != c.ours]
    if others:
        lines.append("  Other Hygeia models that also meet it: " + ", ".join(others) + ".")
    return lines


def _ratio(a: float, b: float) -> str:
    return "n/a" if not b or math.isnan(a) or math.isnan(b) else f"{a / b:.3f}×"


#: (column, what it is, goal): "max"/"min" = higher/lower is better, "half" = closest to 0.5 is best.
CRITERIA = (
    ("sdm.quality", "SDMetrics quality", "max"),
    ("fidelity.overall", "Hygeia fidelity", "max"),
    ("fidelity.detection_auc", "detection AUC (0.5 best)", "half"),
    ("utility.tstr_trtr_ratio", "TSTR/TRTR utility", "max"),
    ("privacy.dcr_share_closer_to_train", "DCR share closer to train (0.5 best)", "half"),
    ("privacy.mia_auc", "membership-inference AUC (0.5 best)", "half"),
    ("fairness.worst_group_utility_gap", "worst-group utility gap (lower better)", "min"),
    ("cpu_seconds", "fit+sample CPU time", "min"),
    ("peak_rss_mb", "peak RSS", "min"),
)


def compare(summary: pd.DataFrame, methods: dict[str, Method], ours: dict[str, str]) -> list[dict]:
    """``ours[table]`` against the best peer on every criterion of that table: win, tie or loss.

    A difference no larger than the combined seed-to-seed sd counts as a tie.
    """
    found = []
    for table, mine in ours.items():
        part = summary[(summary["table"] == table) & summary["method"].isin(methods)].set_index("method")
        peers = [m for m in part.index if methods[m].is_peer]
        for col, what, goal in CRITERIA:
            mean, sd = part[f"{col}_mean"], part[f"{col}_sd"].fillna(0.0)
            badness = (mean - 0.5).abs() if goal == "half" else (-mean if goal == "max" else mean)
            peer_bad = badness[peers].dropna()
            if peer_bad.empty or math.isnan(badness[mine]):
                continue
            best = peer_bad.idxmin()
            gap = badness[mine] - peer_bad[best]  # > 0: ours is worse
            noise = math.hypot(sd[mine], sd[best])
            outcome = "tie" if abs(gap) <= noise else ("loss" if gap > 0 else "win")
            found.append({"table": table, "criterion": what, "col": col, "outcome": outcome, "ours": mean[mine],
                          "peer": mean[best], "peer_label": methods[best].label, "gap": abs(gap), "noise": noise})
    return found


def describe_comparison(c: dict) -> str:
    if c["col"] == "cpu_seconds":
        ratio = c["ours"] / c["peer"]
        how = f"{1 / ratio:.1f}× less" if ratio < 1 else f"{ratio:.1f}× more"
        return f"{c['criterion']} {c['ours']:.2f} s vs {c['peer']:.2f} s ({c['peer_label']}; {how})"
    if c["col"] == "peak_rss_mb":
        return f"{c['criterion']} {c['ours']:.0f} MB vs {c['peer']:.0f} MB ({c['peer_label']})"
    return (f"{c['criterion']} {c['ours']:.3f} vs {c['peer']:.3f} ({c['peer_label']}; "
            f"by {c['gap']:.3f}, seed sd {c['noise']:.3f})")
