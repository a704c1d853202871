"""Fidelity: how closely the synthetic table reproduces the real one, column by column and pair by pair.

Each score is shown beside its ceiling: the same score of a real holdout sample of the same
size against the train table, because finite real samples never score 1 against each other.

Dependence rule: a pair of columns is *clearly dependent* in the real data when its
association is at least :data:`DEPENDENCE_THRESHOLD`, measured as |Spearman ρ| for two
continuous columns and as bias-corrected Cramér's V of the (binned) contingency table
otherwise. ``fidelity.dependence`` averages the pair similarity over those pairs only, because
most pairs of a real table are nearly independent and would hide broken dependence in a mean.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.stats import ks_2samp
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from threadpoolctl import threadpool_limits  # a scikit-learn dependency

from hygeia.evaluate.encoding import MISSING, Encoding
from hygeia.evaluate.metric import Goal, Metric

DEPENDENCE_THRESHOLD = 0.2
#: Rows per side in the real-vs-synthetic classifier test (more adds time, not insight).
DETECTION_CAP = 5_000
_FOLDS = 5
_REFERENCE_LABEL = "real holdout"


def column_shapes(real: pd.DataFrame, other: pd.DataFrame, enc: Encoding) -> dict[str, float]:
    """Per column, 1 - KS statistic (continuous, missing values ignored) or 1 - total variation
    distance (categories, missing as a category of its own). A column ``other`` lacks scores 0."""
    scores = {}
    for col in enc.columns:
        if col not in other:
            scores[col] = 0.0
        elif enc.continuous(col):
            a, b = enc.values(real, col), enc.values(other, col)
            a, b = a[~np.isnan(a)], b[~np.isnan(b)]
            if a.size == 0 or b.size == 0:
                scores[col] = 1.0 if a.size == b.size else 0.0
            else:
                scores[col] = 1.0 - float(ks_2samp(a, b).statistic)
        else:
            p = enc.labels(real, col).value_counts(normalize=True)
            q = enc.labels(other, col).value_counts(normalize=True)
            scores[col] = 1.0 - 0.5 * float(p.sub(q, fill_value=0.0).abs().sum())
    return scores


def pair_scores(real: pd.DataFrame, other: pd.DataFrame, enc: Encoding) -> pd.DataFrame:
    """One row per column pair: ``a, b, method, association`` (in the real data) and ``similarity``.

    Two continuous columns: similarity ``1 - |ρ_real - ρ_other| / 2`` (Spearman, an undefined
    correlation such as that of a constant column counts as 0). Otherwise ``1 -`` the total
    variation distance between the joint tables, continuous columns binned at real quantiles.
    """
    cols = list(enc.columns)
    rho_real = _spearman(real, [c for c in cols if enc.continuous(c)], enc)
    rho_other = _spearman(other, [c for c in cols if enc.continuous(c) and c in other], enc)
    disc_real = {c: enc.discrete(real, c) for c in cols}
    disc_other = {c: enc.discrete(other, c) for c in cols if c in other}
    rows = []
    for i, a in enumerate(cols):
        for b in cols[i + 1:]:
            present = a in other and b in other
            if enc.continuous(a) and enc.continuous(b):
                r = rho_real.at[a, b]
                sim = 1.0 - abs(r - rho_other.at[a, b]) / 2.0 if present else 0.0
                rows.append((a, b, "spearman", abs(r), sim))
                continue
            p = _joint(disc_real[a], disc_real[b])
            sim = 1.0 - 0.5 * float(np.abs(_share(p) - _share(_joint(disc_other[a], disc_other[b]))).sum()) \
                if present else 0.0
            rows.append((a, b, "contingency", _cramers_v(p), sim))
    return pd.DataFrame(rows, columns=["a", "b", "method", "association", "similarity"])


def quality(real: pd.DataFrame, other: pd.DataFrame, enc: Encoding, *, dependence: bool = False) -> float:
    """Mean of the column-shape and pair-trend scores (the SDMetrics-like quality score).

    With ``dependence=True`` the dependence score joins the mean (when some pair is clearly
    dependent), so that broken dependence is not averaged away by the many independent pairs.
    """
    parts = [float(np.mean(list(column_shapes(real, other, enc).values())))]
    pairs = pair_scores(real, other, enc)
    if len(pairs):
        parts.append(float(pairs["similarity"].mean()))
        dependent = pairs.loc[pairs["association"] >= DEPENDENCE_THRESHOLD, "similarity"]
        if dependence and len(dependent):
            parts.append(float(dependent.mean()))
    return float(np.mean(parts))


def detection_auc(real: pd.DataFrame, other: pd.DataFrame, enc: Encoding, seed: int = 0) -> float:
    """Cross-validated ROC AUC of a classifier telling ``real`` from ``other`` rows, folded to >= 0.5.

    Equal-size samples (at most :data:`DETECTION_CAP` each), so 0.5 means indistinguishable.
    NaN when there are too few rows for the folds.
    """
    n = min(len(real), len(other), DETECTION_CAP)
    if n < 2 * _FOLDS:
        return math.nan
    cols = [c for c in enc.columns if c in other]
    X = pd.concat([enc.numeric(real.sample(n, random_state=seed), cols),
                   enc.numeric(other.sample(n, random_state=seed + 1), cols)]).to_numpy()
    y = np.r_[np.zeros(n), np.ones(n)]
    model = HistGradientBoostingClassifier(categorical_features=enc.native_categorical(cols), random_state=seed)
    cv = StratifiedKFold(_FOLDS, shuffle=True, random_state=seed)
    # One OpenMP thread: on tables this small it is as fast, and it does not collapse (10x and
    # worse) when other processes share the cores, as OpenMP's busy-waiting threads do.
    with threadpool_limits(1, user_api="openmp"):
        proba = cross_val_predict(model, X, y, cv=cv, method="predict_proba")[:, 1]
    auc = float(roc_auc_score(y, proba))
    return max(auc, 1.0 - auc)


def correlation_difference(real: pd.DataFrame, other: pd.DataFrame, enc: Encoding) -> dict:
    """``|ρ_real - ρ_other|`` (Spearman over numerically encoded columns) for the report's heatmap."""
    cols = [c for c in enc.columns if c in other]
    diff = (enc.numeric(real, cols).corr("spearman") - enc.numeric(other, cols).corr("spearman")).abs()
    matrix = [[None if math.isnan(v) else float(v) for v in row] for row in diff.to_numpy()]
    return {"columns": cols, "matrix": matrix, "method": "spearman"}


def fidelity_metrics(train: pd.DataFrame, holdout: pd.DataFrame | None, synthetic: pd.DataFrame, enc: Encoding,
                     *, seed: int = 0, holdout_reason: str = "no holdout given") -> list[Metric]:
    """All ``fidelity.*`` metrics of ``synthetic`` against ``train``, each with its real-holdout ceiling."""
    missing = [c for c in enc.columns if c not in synthetic]
    ref_sample = None
    if holdout is not None:
        ref_sample = holdout.sample(min(len(holdout), len(synthetic)), random_state=seed)
    syn = _scores(train, synthetic, enc, seed)
    ref = _scores(train, ref_sample, enc, seed) if ref_sample is not None else None
    common = {"missing_columns": missing} if missing else {}
    if ref_sample is not None:
        common["reference_rows"] = len(ref_sample)
    else:
        common["reference_reason"] = holdout_reason

    def metric(name: str, key: str, goal: Goal, description: str, detail: dict, min_value: float = 0.0) -> Metric:
        value = syn[key]
        detail = {**common, **detail}
        if math.isnan(value):
            detail["reason"] = syn.get(f"{key}_reason", "not computable")
        reference = ref[key] if ref is not None and not math.isnan(ref[key]) else None
        return Metric(name, value, goal, min_value=min_value, max_value=1.0, description=description,
                      reference=reference, reference_label=_REFERENCE_LABEL if reference is not None else "",
                      detail=detail)

    return [
        metric("fidelity.column_shapes", "column_shapes", Goal.MAXIMIZE,
               "Mean over columns of 1 - KS statistic (numbers, dates) or 1 - total variation distance (categories).",
               {"columns": syn["columns"]}),
        metric("fidelity.pair_trends", "pair_trends", Goal.MAXIMIZE,
               "Mean over column pairs of Spearman-correlation similarity or contingency-table similarity.",
               {"n_pairs": syn["n_pairs"], "correlation_difference": syn["correlation_difference"]}),
        metric("fidelity.dependence", "dependence", Goal.MAXIMIZE,
               f"Pair similarity over the pairs clearly dependent in the real data (|Spearman| or bias-corrected "
               f"Cramér's V >= {DEPENDENCE_THRESHOLD:g}).",
               {"threshold": DEPENDENCE_THRESHOLD, "pairs": syn["dependent_pairs"]}),
        metric("fidelity.missingness", "missingness", Goal.MAXIMIZE,
               "1 - mean absolute difference of the per-column share of missing values.",
               {"columns": syn["missing_rates"]}),
        metric("fidelity.overall", "overall", Goal.MAXIMIZE,
               "Mean of column shapes and pair trends (an SDMetrics-like quality score).", {}),
        metric("fidelity.detection_auc", "detection_auc", Goal.MINIMIZE,
               "Cross-validated ROC AUC of a gradient-boosting classifier telling real train rows from synthetic "
               "rows (equal-size samples); 0.5 means indistinguishable.", {"folds": _FOLDS}, min_value=0.5),
    ]


def _scores(train: pd.DataFrame, other: pd.DataFrame, enc: Encoding, seed: int) -> dict:
    shapes = column_shapes(train, other, enc)
    pairs = pair_scores(train, other, enc)
    dependent = pairs[pairs["association"] >= DEPENDENCE_THRESHOLD]
    shape_score = float(np.mean(list(shapes.values())))
    pair_score = float(pairs["similarity"].mean()) if len(pairs) else math.nan
    rates = {}
    for col in enc.columns:
        real_rate = float((enc.labels(train, col) == MISSING).mean())
        syn_rate = float((enc.labels(other, col) == MISSING).mean()) if col in other else math.nan
        rates[col] = {"real": real_rate, "synthetic": None if math.isnan(syn_rate) else syn_rate,
                      "score": 0.0 if math.isnan(syn_rate) else 1.0 - abs(real_rate - syn_rate)}
    out = {
        "columns": shapes, "column_shapes": shape_score, "pair_trends": pair_score, "n_pairs": len(pairs),
        "dependence": float(dependent["similarity"].mean()) if len(dependent) else math.nan,
        "dependent_pairs": [{"a": r.a, "b": r.b, "method": r.method, "association": float(r.association),
                             "similarity": float(r.similarity)} for r in dependent.itertuples()],
        "missingness": float(np.mean([r["score"] for r in rates.values()])), "missing_rates": rates,
        "overall": float(np.nanmean([shape_score, pair_score])),
        "detection_auc": detection_auc(train, other, enc, seed),
        "correlation_difference": correlation_difference(train, other, enc),
    }
    if len(pairs) == 0:
        out["pair_trends_reason"] = "fewer than two shared columns"
    if not len(dependent):
        out["dependence_reason"] = (f"no pair of columns is clearly dependent in the real data "
                                    f"(association >= {DEPENDENCE_THRESHOLD:g})")
    if math.isnan(out["detection_auc"]):
        out["detection_auc_reason"] = f"fewer than {2 * _FOLDS} rows to compare"
    return out


def _spearman(frame: pd.DataFrame, cols: list[str], enc: Encoding) -> pd.DataFrame:
    corr = pd.DataFrame({c: enc.values(frame, c) for c in cols}).corr("spearman")
    return corr.fillna(0.0)  # a constant column carries no rank association


def _joint(a: tuple[np.ndarray, int], b: tuple[np.ndarray, int]) -> np.ndarray:
    (codes_a, k_a), (codes_b, k_b) = a, b
    return np.bincount(codes_a * k_b + codes_b, minlength=k_a * k_b).reshape(k_a, k_b)


def _share(counts: np.ndarray) -> np.ndarray:
    total = counts.sum()
    return counts / total if total else counts.astype(float)


def _cramers_v(counts: np.ndarray) -> float:
    """Bias-corrected Cramér's V (Bergsma 2013), so small tables do not look dependent by chance."""
    table = counts[counts.sum(axis=1) > 0][:, counts.sum(axis=0) > 0]
    n = table.sum()
    r, k = table.shape
    if r < 2 or k < 2 or n < 2:
        return 0.0
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / n
    phi2 = float(((table - expected) ** 2 / expected).sum()) / n  # Pearson's chi-squared / n
    phi2 = max(0.0, phi2 - (k - 1) * (r - 1) / (n - 1))
    r_c, k_c = r - (r - 1) ** 2 / (n - 1), k - (k - 1) ** 2 / (n - 1)
    denom = min(k_c - 1, r_c - 1)
    return float(math.sqrt(phi2 / denom)) if denom > 0 else 0.0
