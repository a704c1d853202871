"""Utility: does a model trained on synthetic rows predict the target on real rows it never saw?

Three models are scored on the same real holdout: trained on synthetic (TSTR), trained on the
real train table (TRTR, the ceiling) and a trivial baseline (class prior / mean). The honest
summary is the lift over the baseline, ``(TSTR - baseline) / (TRTR - baseline)``: a deep model
on a small table can land below the trivial baseline, which TSTR/TRTR alone would hide.

>>> run = run_utility(train, holdout, synthetic, enc, target="cens")   # doctest: +SKIP
>>> [m.name for m in utility_metrics(run)]                             # doctest: +SKIP
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.metrics import r2_score, roc_auc_score
from threadpoolctl import threadpool_limits  # a scikit-learn dependency

from hygeia.data.schema import ColumnKind
from hygeia.errors import EvaluationError
from hygeia.evaluate.encoding import MISSING, Encoding
from hygeia.evaluate.metric import Goal, Metric

NAMES = ("utility.tstr", "utility.trtr", "utility.baseline", "utility.tstr_trtr_ratio", "utility.lift_over_baseline")
_CLASS_KINDS = (ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN)


@dataclass(frozen=True)
class UtilityRun:
    """Predictions of the three models on the scored holdout rows, kept for per-subgroup scores.

    ``rows`` are positions in the holdout frame (rows with a known target). Scores are class
    probabilities (one column per entry of ``classes``) or numbers for a numeric target;
    ``tstr`` is None with ``tstr_reason`` when no model could be trained on the synthetic rows.
    """

    target: str
    task: str
    classes: tuple[str, ...]
    rows: np.ndarray
    y_true: np.ndarray
    trtr: np.ndarray
    baseline: np.ndarray
    tstr: np.ndarray | None
    tstr_reason: str | None = None
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def scoring(self) -> str:
        return "roc_auc" if self.task == "classification" else "r2"

    def score(self, y_true: np.ndarray, predicted: np.ndarray) -> float:
        """ROC AUC (macro one-vs-rest for several classes) or R²; NaN when undefined on these rows."""
        if self.task == "regression":
            return float(r2_score(y_true, predicted)) if len(y_true) >= 2 and np.var(y_true) > 0 else math.nan
        return _auc(np.asarray(y_true), np.asarray(predicted), self.classes)


def run_utility(train: pd.DataFrame, holdout: pd.DataFrame, synthetic: pd.DataFrame, enc: Encoding, target: str,
                *, seed: int = 0) -> UtilityRun | str:
    """Fit TRTR, TSTR and baseline models for ``target``; return the run, or why none is possible."""
    kind = enc.kinds[target]
    if kind is ColumnKind.DATETIME:
        raise EvaluationError(f"target {target!r} is a date column; choose a categorical, boolean or numeric target")
    task = "classification" if kind in _CLASS_KINDS else "regression"
    features = [c for c in enc.columns if c != target]
    mask = enc.native_categorical(features)

    def xy(frame: pd.DataFrame, allowed: tuple[str, ...] | None = None) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
        if task == "classification":
            y = enc.labels(frame, target).to_numpy()
            keep = (y != MISSING) if allowed is None else np.isin(y, allowed)
        else:
            y = enc.values(frame, target)
            keep = ~np.isnan(y)
        return enc.numeric(frame.loc[keep], features), y[keep], np.flatnonzero(keep)

    X_tr, y_tr, _ = xy(train)
    classes = tuple(sorted(set(y_tr))) if task == "classification" else ()
    X_ho, y_ho, rows = xy(holdout, classes or None)
    if task == "classification" and len(classes) < 2:
        return f"the real train target {target!r} has a single class; AUC needs two"
    if len(y_ho) < 2 or (task == "classification" and len(set(y_ho)) < 2):
        return f"the holdout has fewer than two classes (or rows) of {target!r} to score on"

    trtr = _fit_predict(X_tr, y_tr, X_ho, task, classes, mask, seed)
    baseline = (np.tile([np.mean(y_tr == c) for c in classes], (len(y_ho), 1)) if task == "classification"
                else np.full(len(y_ho), float(np.mean(y_tr))))  # DummyClassifier(prior) / DummyRegressor(mean)
    tstr, reason, n_syn = None, None, 0
    if target not in synthetic:
        reason = f"the synthetic table lacks the target column {target!r}"
    else:
        X_sy, y_sy, _ = xy(synthetic, classes or None)
        n_syn = len(y_sy)
        if task == "classification" and len(set(y_sy)) < 2:
            reason = f"the synthetic target {target!r} has a single class ({', '.join(sorted(set(y_sy))) or 'none'})"
        elif len(y_sy) < 2:
            reason = f"the synthetic table has fewer than two rows with a known {target!r}"
        else:
            tstr = _fit_predict(X_sy, y_sy, X_ho, task, classes, mask, seed)
    return UtilityRun(target, task, classes, rows, y_ho, trtr, baseline, tstr, reason,
                      {"n_train": len(y_tr), "n_synthetic": n_syn, "n_holdout": len(y_ho)})


def utility_metrics(run: UtilityRun | None, *, reason: str = "", applicable: bool = True) -> list[Metric]:
    """The ``utility.*`` metrics of a run; all NaN with ``reason`` when ``run`` is None."""
    if run is None:
        return [Metric(name, math.nan, Goal.MAXIMIZE, applicable=applicable, description=_DESCRIPTIONS[name],
                       detail={"reason": reason}) for name in NAMES]
    tstr = run.score(run.y_true, run.tstr) if run.tstr is not None else math.nan
    trtr = run.score(run.y_true, run.trtr)
    base = run.score(run.y_true, run.baseline)
    low = 0.5 if run.task == "classification" else 0.0
    detail = {"target": run.target, "task": run.task, "scoring": run.scoring, **run.counts}

    def metric(name: str, value: float, why: str | None, min_value: float = low, **kw) -> Metric:
        extra = {"reason": why} if math.isnan(value) and why else {}
        return Metric(name, value, Goal.MAXIMIZE, min_value=min_value, max_value=1.0,
                      description=_DESCRIPTIONS[name], detail={**detail, **extra}, **kw)

    ratio = tstr / trtr if trtr > 0 else math.nan
    lift = (tstr - base) / (trtr - base) if trtr - base > 0 else math.nan
    no_gain = f"a model trained on real data does not beat the trivial baseline on {run.target!r}"
    return [
        metric("utility.tstr", tstr, run.tstr_reason, reference=_ref(trtr), reference_label="train on real"),
        metric("utility.trtr", trtr, "the real-data model could not be scored",
               reference=_ref(base), reference_label="trivial baseline"),
        metric("utility.baseline", base, "the baseline could not be scored"),
        metric("utility.tstr_trtr_ratio", ratio, run.tstr_reason or (no_gain if trtr <= 0 else None), min_value=0.0),
        metric("utility.lift_over_baseline", lift, run.tstr_reason or no_gain, min_value=0.0,
               reference=_ref(base), reference_label="trivial baseline"),
    ]


_DESCRIPTIONS = {
    "utility.tstr": "Train on synthetic, test on the real holdout: ROC AUC (classes) or R² (numbers).",
    "utility.trtr": "Train on the real train table, test on the same holdout: the ceiling for TSTR.",
    "utility.baseline": "A trivial model (class prior or mean) on the same holdout: AUC 0.5 or R² about 0.",
    "utility.tstr_trtr_ratio": "TSTR / TRTR.",
    "utility.lift_over_baseline": "(TSTR - baseline) / (TRTR - baseline): share of the real model's gain over "
                                  "a trivial baseline that the synthetic-trained model keeps.",
}


def _fit_predict(X: pd.DataFrame, y: np.ndarray, X_eval: pd.DataFrame, task: str, classes: tuple[str, ...],
                 mask: np.ndarray, seed: int) -> np.ndarray:
    # One OpenMP thread, as in fidelity.detection_auc: robust when the cores are shared.
    with threadpool_limits(1, user_api="openmp"):
        if task == "regression":
            model = HistGradientBoostingRegressor(categorical_features=mask, random_state=seed).fit(X, y)
            return model.predict(X_eval)
        model = HistGradientBoostingClassifier(categorical_features=mask, random_state=seed).fit(X, y)
        predicted = model.predict_proba(X_eval)
    proba = np.zeros((len(X_eval), len(classes)))
    # A class the training rows lack gets probability 0, so every run shares one column order.
    proba[:, [classes.index(c) for c in model.classes_]] = predicted
    return proba


def _auc(y_true: np.ndarray, proba: np.ndarray, classes: tuple[str, ...]) -> float:
    present = [i for i, c in enumerate(classes) if np.any(y_true == c)]
    if len(present) < 2:
        return math.nan
    p = proba[:, present]
    total = p.sum(axis=1, keepdims=True)
    p = np.where(total > 0, p / np.where(total > 0, total, 1.0), 1.0 / len(present))
    if len(present) == 2:
        return float(roc_auc_score(y_true == classes[present[1]], p[:, 1]))
    return float(roc_auc_score(y_true, p, multi_class="ovr", average="macro", labels=[classes[i] for i in present]))


def _ref(value: float) -> float | None:
    return None if math.isnan(value) else value
