"""Utility of a synthetic cohort: does a model trained on synthetic histories predict what happens next to real patients?

The task, the same for every cohort: each patient's history is cut at the midpoint between their
first and last event day (patients with a single event day have no "later" and are left out).
Features come from the earlier part only: counts of the :data:`TOP_FEATURE_CODES` codes most
training patients have there (log1p), age at the cut, sex, number of earlier events and event
days. The label: does the target condition first appear after the cut? Patients who already
have it before the cut are left out, so the model predicts onset, not persistence.

The target is, by default, the condition code with the most balanced onset labels in the real
train cohort (the largest ``min(positives, negatives)``), so the task is neither trivial nor
starved of positives; when no condition has :data:`MIN_CLASS` of each, a code of any other kind
(a lab, a drug) is taken instead. Pass ``target`` (``system|code`` or a bare code) to fix it by policy.

A gradient-boosting classifier is trained on synthetic patients (TSTR) and on real train patients
(TRTR) and both are scored by ROC AUC on the real holdout; the trivial baseline is AUC 0.5.

>>> metrics = utility_metrics(train, holdout, synthetic, seed=0)  # doctest: +SKIP
>>> metrics[2].detail["target_display"]  # doctest: +SKIP
'Peptic ulcer'
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from threadpoolctl import threadpool_limits  # a scikit-learn dependency

from hygeia.data.longitudinal import Cohort
from hygeia.data.longitudinal.plausibility import code_key
from hygeia.evaluate.metric import Goal, Metric

NAMES: tuple[str, ...] = ("utility.next_event_tstr", "utility.next_event_trtr", "utility.next_event_ratio")
TOP_FEATURE_CODES = 100
#: Fewest positives and negatives each cohort needs for its model (or its AUC) to mean something.
MIN_CLASS = 10
TRIVIAL_AUC = 0.5


@dataclass(frozen=True)
class History:
    """One cohort cut at each patient's midpoint: earlier events with their code key, and the cut per patient."""

    before: pd.DataFrame  # patient_id, key, age_days
    after: pd.DataFrame  # patient_id, key (unique pairs)
    cut: pd.Series  # patient_id -> age_days of the cut
    sex: pd.Series


def split_history(cohort: Cohort) -> History:
    ev = cohort.events
    frame = pd.DataFrame({"patient_id": ev["patient_id"], "key": code_key(ev), "age_days": ev["age_days"],
                          "kind": ev["kind"]})
    frame = frame[frame["age_days"].notna()]
    days = np.floor(frame["age_days"])
    span = days.groupby(frame["patient_id"]).agg(["min", "max"])
    span = span[span["max"] > span["min"]]
    cut = (span["min"] + span["max"]) / 2.0
    frame = frame[frame["patient_id"].isin(cut.index)]
    early = days[frame.index] <= frame["patient_id"].map(cut)
    return History(before=frame[early], after=frame.loc[~early, ["patient_id", "key", "kind"]].drop_duplicates(),
                   cut=cut, sex=cohort.patients.set_index("patient_id")["sex"])


def choose_target(history: History) -> tuple[str | None, dict]:
    """The condition with the most balanced onset labels in ``history``; when no condition has
    :data:`MIN_CLASS` onsets and non-onsets, any non-encounter code (None when nothing qualifies)."""
    for kinds, choice in ((("condition",), "condition with the most balanced onsets in real train"),
                          (("condition", "observation", "medication", "procedure", "immunization", "allergy"),
                           "no condition qualified: code of any kind with the most balanced onsets in real train")):
        best, balance = _most_balanced(history, kinds)
        if best is not None and balance >= MIN_CLASS:
            return best, {"target_choice": choice}
    return None, {"reason": f"no code has {MIN_CLASS} or more onsets and non-onsets in the later half of the real "
                            "train histories"}


def _most_balanced(history: History, kinds: tuple[str, ...]) -> tuple[str | None, int]:
    had = set(zip(history.before["patient_id"], history.before["key"]))
    later = history.after[history.after["kind"].isin(kinds)]
    onset = later[[(p, k) not in had for p, k in zip(later["patient_id"], later["key"])]]
    positives = onset.drop_duplicates(["patient_id", "key"])["key"].value_counts()
    if positives.empty:
        return None, 0
    before_counts = history.before.drop_duplicates(["patient_id", "key"])["key"].value_counts()
    eligible = len(history.cut) - before_counts.reindex(positives.index, fill_value=0)
    balance = np.minimum(positives, eligible - positives)
    best = balance.idxmax()
    return best, int(balance[best])


def features(history: History, target: str, codes: list[str]) -> tuple[pd.DataFrame, np.ndarray]:
    """Feature rows (patients without the target before the cut) and their onset labels."""
    already = set(history.before.loc[history.before["key"] == target, "patient_id"])
    ids = pd.Index([p for p in history.cut.index if p not in already])
    early = history.before[history.before["patient_id"].isin(ids)]
    counts = np.zeros((len(ids), len(codes)))
    row, col = ids.get_indexer(early["patient_id"]), pd.Index(codes).get_indexer(early["key"])
    keep = col >= 0
    np.add.at(counts, (row[keep], col[keep]), 1.0)
    X = pd.DataFrame(np.log1p(counts), index=ids, columns=[f"code_{i}" for i in range(len(codes))])
    X["age_years"] = history.cut.reindex(ids).to_numpy() / 365.25
    sex = history.sex.reindex(ids)
    X["female"], X["male"] = (sex == "female").astype(float).to_numpy(), (sex == "male").astype(float).to_numpy()
    X["log_events"] = np.log1p(early.groupby("patient_id").size().reindex(ids, fill_value=0)).to_numpy()
    X["event_days"] = np.floor(early["age_days"]).groupby(early["patient_id"]).nunique().reindex(
        ids, fill_value=0).to_numpy()
    positive = set(history.after.loc[history.after["key"] == target, "patient_id"])
    return X, np.array([p in positive for p in ids], dtype=int)


def _resolve(target: str, history: History) -> str | None:
    if "|" in target:
        return target
    keys = pd.concat([history.before["key"], history.after["key"]])
    match = keys[keys.str.split("|").str[-1] == target]
    return match.iloc[0] if len(match) else None


def utility_metrics(train: Cohort, holdout: Cohort, synthetic: Cohort, *, seed: int = 0,
                    target: str | None = None) -> list[Metric]:
    """TSTR and TRTR ROC AUC of the next-event task on the real holdout, and their ratio."""
    if synthetic.n_patients == 0:
        return _all_nan("the synthetic cohort has no patients")
    h_tr, h_ho, h_sy = split_history(train), split_history(holdout), split_history(synthetic)
    if target is None:
        key, info = choose_target(h_tr)
        if key is None:
            return _all_nan(info["reason"])
    else:
        key, info = _resolve(target, h_tr), {"target_choice": "given"}
        if key is None:
            return _all_nan(f"the target code {target!r} does not occur in the real train cohort")
    codes = h_tr.before.drop_duplicates(["patient_id", "key"])["key"].value_counts()
    codes = [c for c in codes.index if c != key][:TOP_FEATURE_CODES]
    X_tr, y_tr = features(h_tr, key, codes)
    X_ho, y_ho = features(h_ho, key, codes)
    X_sy, y_sy = features(h_sy, key, codes)
    display = train.events.loc[code_key(train.events) == key, "display"].dropna()
    detail = {"target": key, "target_display": display.iloc[0] if len(display) else None, **info,
              "cut": "midpoint between first and last event day", "n_feature_codes": len(codes),
              "positives": {"train": int(y_tr.sum()), "holdout": int(y_ho.sum()), "synthetic": int(y_sy.sum())},
              "patients": {"train": len(y_tr), "holdout": len(y_ho), "synthetic": len(y_sy)},
              "trivial_auc": TRIVIAL_AUC}

    def short(y: np.ndarray, where: str) -> str | None:
        pos, neg = int(y.sum()), int(len(y) - y.sum())
        if min(pos, neg) < MIN_CLASS:
            return f"the {where} cohort has {pos} onsets and {neg} non-onsets of the target; {MIN_CLASS} of each needed"
        return None

    why_real = short(y_tr, "real train") or short(y_ho, "real holdout")
    if why_real:
        return _all_nan(why_real, detail)
    trtr = _auc(X_tr, y_tr, X_ho, y_ho, seed)
    why_syn = short(y_sy, "synthetic")
    tstr = math.nan if why_syn else _auc(X_sy, y_sy, X_ho, y_ho, seed)
    ratio = tstr / trtr if trtr > TRIVIAL_AUC and not math.isnan(tstr) else math.nan
    ratio_why = why_syn or (f"the real-trained model does not beat the trivial AUC {TRIVIAL_AUC}"
                            if trtr <= TRIVIAL_AUC else None)
    return [
        _metric("utility.next_event_tstr", tstr, detail, why_syn, reference=trtr, reference_label="train on real"),
        _metric("utility.next_event_trtr", trtr, detail, None, reference=TRIVIAL_AUC,
                reference_label="trivial baseline"),
        _metric("utility.next_event_ratio", ratio, detail, ratio_why),
    ]


def _auc(X: pd.DataFrame, y: np.ndarray, X_eval: pd.DataFrame, y_eval: np.ndarray, seed: int) -> float:
    # One OpenMP thread, as in the table metrics: robust when the cores are shared.
    with threadpool_limits(1, user_api="openmp"):
        model = HistGradientBoostingClassifier(random_state=seed).fit(X, y)
        return float(roc_auc_score(y_eval, model.predict_proba(X_eval)[:, 1]))


_SPECS: dict[str, tuple[float, str]] = {
    "utility.next_event_tstr": (TRIVIAL_AUC, "Train on synthetic, test on the real holdout: ROC AUC of predicting a "
                                "condition's onset in the later half of a history from the earlier half."),
    "utility.next_event_trtr": (TRIVIAL_AUC, "The same model trained on real train patients: the ceiling for TSTR "
                                "(a trivial model scores 0.5)."),
    "utility.next_event_ratio": (0.0, "TSTR / TRTR of the next-event task (1 = as useful as real data)."),
}


def _metric(name: str, value: float, detail: dict, why: str | None, **kw) -> Metric:
    low, description = _SPECS[name]
    if math.isnan(value):
        detail = {**detail, "reason": why or "not computable"}
    return Metric(name, value, Goal.MAXIMIZE, min_value=low, max_value=1.0, description=description,
                  detail=detail, **kw)


def _all_nan(reason: str, detail: dict | None = None) -> list[Metric]:
    return [_metric(name, math.nan, dict(detail or {}), reason) for name in NAMES]
