"""Subgroup fairness: is every group of each sensitive attribute represented, reproduced and useful?

Groups are the values of each sensitive attribute; a continuous attribute with more than
:data:`MAX_UNBANDED_VALUES` distinct values is cut into :data:`N_BANDS` quantile bands of the
real train data (labelled by the real values they hold, e.g. ``30–36``). A group with fewer
than :data:`MIN_GROUP_ROWS` holdout rows is listed but left out of the worst-case numbers:
its scores would be mostly noise. Each group's fidelity is read against its own ceiling (the
group's holdout rows against its train rows), so a small group's natural noise is not blamed
on the generator. A group's fidelity is the mean of its column-shape, pair-trend and dependence
scores (see :mod:`hygeia.evaluate.fidelity`): shuffling every column within one group leaves
the plain shape/trend mean almost unchanged, the dependence score does not.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np
import pandas as pd
from fairlearn.metrics import MetricFrame

from hygeia.data.schema import ColumnKind
from hygeia.evaluate.encoding import MISSING, Encoding
from hygeia.evaluate.fidelity import quality
from hygeia.evaluate.metric import Goal, Metric
from hygeia.evaluate.utility import UtilityRun

MIN_GROUP_ROWS = 30
MAX_UNBANDED_VALUES = 10
N_BANDS = 4

NAMES = ("fairness.min_representation_ratio", "fairness.worst_group_fidelity_gap", "fairness.worst_group_utility_gap")


def group_labels(train: pd.DataFrame, enc: Encoding, attribute: str) -> Callable[[pd.DataFrame], pd.Series]:
    """A function giving each row's group of ``attribute``, with bands learned from ``train``."""
    if not enc.continuous(attribute):
        return lambda frame: enc.labels(frame, attribute)
    real = enc.values(train, attribute)
    real = real[~np.isnan(real)]
    if len(np.unique(real)) <= MAX_UNBANDED_VALUES:
        return lambda frame: enc.labels(frame, attribute)
    # Edges are real values (inverted CDF), so every band but perhaps the last holds real rows.
    edges = np.unique(np.quantile(real, np.linspace(0, 1, N_BANDS + 1)[1:-1], method="inverted_cdf"))
    band = np.searchsorted(edges, real, side="left")
    fmt = _date if enc.kinds[attribute] is ColumnKind.DATETIME else _number
    names = np.array([f"{fmt(real[band == b].min())}–{fmt(real[band == b].max())}" if np.any(band == b)
                      else f"> {fmt(edges[-1])}" for b in range(len(edges) + 1)] + [MISSING], dtype=object)

    def assign(frame: pd.DataFrame) -> pd.Series:
        values = enc.values(frame, attribute)
        codes = np.where(np.isnan(values), len(edges) + 1, np.searchsorted(edges, values, side="left"))
        return pd.Series(names[codes], index=frame.index)

    return assign


def fairness_metrics(train: pd.DataFrame, holdout: pd.DataFrame | None, synthetic: pd.DataFrame, enc: Encoding,
                     sensitive: Sequence[str], *, run: UtilityRun | str | None = None, seed: int = 0,
                     holdout_reason: str = "no holdout given") -> list[Metric]:
    """The ``fairness.*`` metrics over the groups of every attribute in ``sensitive``.

    ``run`` is the utility run (its predictions are scored per group), a string saying why
    there is none, or None when no target was given.
    """
    if not sensitive:
        return [_nan(name, "no sensitive attributes given", applicable=False) for name in NAMES]
    lacking = [a for a in sensitive if a not in synthetic]
    if lacking:
        return [_nan(name, f"the synthetic table lacks the sensitive column {lacking[0]!r}") for name in NAMES]
    rows, eligible, skipped = [], [], []
    for attribute in sensitive:
        assign = group_labels(train, enc, attribute)
        g_train, g_syn = assign(train), assign(synthetic)
        g_hold = assign(holdout) if holdout is not None else None
        by_group = _per_group_utility(run, g_hold, attribute)
        for group in sorted(g_train.unique(), key=_natural):
            row = _group_row(attribute, group, train, holdout, synthetic, enc, g_train, g_hold, g_syn, by_group, seed)
            rows.append(row)
            small = (row["n_holdout"] if holdout is not None else row["n_train"]) < MIN_GROUP_ROWS
            (skipped if small else eligible).append(row)
    skipped = [f"{r['attribute']} = {r['group']}" for r in skipped]
    common = {"groups": rows, "min_group_rows": MIN_GROUP_ROWS, "skipped_small_groups": skipped}
    if skipped:
        where = "holdout" if holdout is not None else "train"
        common["note"] = (f"groups with fewer than {MIN_GROUP_ROWS} {where} rows are listed but left out of the "
                          "worst-case numbers")

    ratios = [(r["share_synthetic"] / r["share_real"], r) for r in eligible if r["share_real"]]
    fid_gaps = [(r["fidelity_ceiling"] - r["fidelity"], r) for r in eligible
                if r["fidelity"] is not None and r["fidelity_ceiling"] is not None]
    util_gaps = [(r["trtr"] - r["tstr"], r) for r in eligible if r["tstr"] is not None and r["trtr"] is not None]
    if run is None:
        util_reason, util_applicable = "no target column given", False
    else:
        util_reason = run if isinstance(run, str) else run.tstr_reason or "no group has a defined score for both models"
        util_applicable = True
    return [
        _worst("fairness.min_representation_ratio", min, ratios, common,
               "no group has enough holdout rows to be judged"),
        _worst("fairness.worst_group_fidelity_gap", max, fid_gaps, common,
               holdout_reason if holdout is None else "no group has enough holdout rows to be judged"),
        _worst("fairness.worst_group_utility_gap", max, util_gaps, common, util_reason, applicable=util_applicable),
    ]


def _group_row(attribute: str, group: str, train: pd.DataFrame, holdout: pd.DataFrame | None,
               synthetic: pd.DataFrame, enc: Encoding, g_train: pd.Series, g_hold: pd.Series | None,
               g_syn: pd.Series, by_group: dict[str, dict[str, float]], seed: int) -> dict:
    tr, sy = train[g_train == group], synthetic[g_syn == group]
    ho = holdout[g_hold == group] if holdout is not None else None
    small = (len(ho) if ho is not None else len(tr)) < MIN_GROUP_ROWS
    fidelity = ceiling = None
    if not small:
        if len(sy) == 0:
            fidelity = 0.0  # the generator dropped the group
        else:
            # Compare at the holdout's size so value and ceiling carry the same sampling noise.
            size = min(len(sy), len(ho)) if ho is not None else len(sy)
            fidelity = quality(tr, sy.sample(size, random_state=seed), enc, dependence=True)
        ceiling = quality(tr, ho, enc, dependence=True) if ho is not None else None
    util = by_group.get(group, {})
    return {"attribute": attribute, "group": str(group), "n_train": len(tr), "n_synthetic": len(sy),
            "n_holdout": None if ho is None else len(ho), "share_real": len(tr) / len(train),
            "share_synthetic": len(sy) / len(synthetic), "fidelity": fidelity, "fidelity_ceiling": ceiling,
            "tstr": util.get("tstr"), "trtr": util.get("trtr")}


def _per_group_utility(run: UtilityRun | str | None, g_hold: pd.Series | None, attribute: str) -> dict:
    """Per-group TSTR and TRTR on the holdout, computed with fairlearn's MetricFrame."""
    if not isinstance(run, UtilityRun) or g_hold is None:
        return {}
    groups = g_hold.to_numpy()[run.rows]
    out: dict[str, dict[str, float]] = {}
    for key, scores in (("trtr", run.trtr), ("tstr", run.tstr)):
        if scores is None:
            continue
        frame = MetricFrame(metrics=run.score, y_true=run.y_true, y_pred=scores,
                            sensitive_features=pd.Series(groups, name=attribute))
        for group, value in frame.by_group.items():
            out.setdefault(str(group), {})[key] = None if math.isnan(value) else float(value)
    return out


def _worst(name: str, pick: Callable, pairs: list[tuple[float, dict]], common: dict, reason: str,
           applicable: bool = True) -> Metric:
    goal, description = _SPECS[name]
    if not pairs:
        return _nan(name, reason, applicable=applicable, detail=common)
    value, row = pick(pairs, key=lambda p: p[0])
    return Metric(name, float(value), goal, min_value=0.0, max_value=1.0, description=description,
                  detail={**common, "worst_group": f"{row['attribute']} = {row['group']}"})


def _nan(name: str, reason: str, applicable: bool = True, detail: dict | None = None) -> Metric:
    goal, description = _SPECS[name]
    return Metric(name, math.nan, goal, min_value=0.0, max_value=1.0, description=description,
                  applicable=applicable, detail={**(detail or {}), "reason": reason})


_SPECS = {
    "fairness.min_representation_ratio": (Goal.MAXIMIZE, "Smallest ratio, over groups, of a group's share of the "
                                          "synthetic rows to its share of the real train rows."),
    "fairness.worst_group_fidelity_gap": (Goal.MINIMIZE, "Largest gap, over groups, between a group's fidelity "
                                          "ceiling (its holdout rows vs its train rows) and its synthetic rows' "
                                          "fidelity (mean of column shapes, pair trends and dependence); a dropped "
                                          "group scores 0."),
    "fairness.worst_group_utility_gap": (Goal.MINIMIZE, "Largest gap, over groups, between the real-trained and the "
                                         "synthetic-trained model's score (AUC or R²) on the group's holdout rows."),
}


def _natural(label: str) -> tuple:
    """Sort bands and numeric codes by number, text alphabetically, missing last."""
    head = str(label).split("–")[0]
    try:
        return (0, float(head), "")
    except ValueError:
        return (2 if label == MISSING else 1, 0.0, str(label))


def _number(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.4g}"


def _date(days: float) -> str:
    return pd.Timestamp(int(days * 86_400e9)).date().isoformat()
