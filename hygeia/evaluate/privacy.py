"""Privacy risk: do synthetic rows sit closer to the training rows than unseen real rows do?

Distances are Gower-like (see :meth:`Encoding.gower`). Train and holdout enter as samples of
the **same size** (at most :data:`PRIVACY_CAP`): with a train set twice the holdout's size a
non-memorising generator would look "closer to train" merely because train has more rows.
The price: a synthetic copy of a train row left out of the train sample looks like a fresh
row, so a generator that copies every row scores ``0.5 + 0.5 * n_sample / n_train`` on
``dcr_share_closer_to_train``, not 1 (``detail["copier_share"]``). ``exact_copy_rate`` (against
all train rows) and ``mia_auc`` (are train rows closer to the synthetic ones than holdout rows?)
catch such copying in full.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.neighbors import NearestNeighbors

from hygeia.evaluate.encoding import Encoding
from hygeia.evaluate.metric import Goal, Metric

#: Rows per sample (train, holdout, synthetic) in the distance computations.
PRIVACY_CAP = 3_000
_BINS = 30
_TIE = 1e-12


def privacy_metrics(train: pd.DataFrame, holdout: pd.DataFrame | None, synthetic: pd.DataFrame, enc: Encoding,
                    *, seed: int = 0, holdout_reason: str = "no holdout given") -> list[Metric]:
    """The ``privacy.*`` metrics; NaN with ``holdout_reason`` when there is no usable holdout."""
    if holdout is None:
        return [_nan(name, holdout_reason) for name in _SPECS]
    cols = [c for c in enc.columns if c in synthetic]
    common = {"columns_compared": len(cols)}
    if len(cols) < len(enc.columns):
        common["missing_columns"] = [c for c in enc.columns if c not in synthetic]

    train_keys = set(enc.row_keys(train, cols).tolist())
    copies = float(np.isin(enc.row_keys(synthetic, cols), list(train_keys)).mean())
    natural = float(np.isin(enc.row_keys(holdout, cols), list(train_keys)).mean())

    n = min(len(train), len(holdout), PRIVACY_CAP)
    sub = enc.subset(cols)
    tr = sub.gower(train.sample(n, random_state=seed))
    ho = sub.gower(holdout.sample(n, random_state=seed))
    sy = sub.gower(synthetic.sample(min(len(synthetic), PRIVACY_CAP), random_state=seed))
    syn_to_train, syn_to_hold, hold_to_train = _nearest(tr, sy), _nearest(ho, sy), _nearest(tr, ho)
    closer = np.where(np.abs(syn_to_train - syn_to_hold) <= _TIE, 0.5, (syn_to_train < syn_to_hold).astype(float))
    sizes = {"n_train_sample": n, "n_holdout_sample": n, "n_synthetic_sample": len(sy), **common}

    median_hold = float(np.median(hold_to_train))
    ratio = float(np.median(syn_to_train)) / median_hold if median_hold > 0 else math.nan

    # Membership inference: members (train) should not sit closer to the synthetic rows than non-members.
    attack = -np.r_[_nearest(sy, tr), _nearest(sy, ho)]
    mia = float(roc_auc_score(np.r_[np.ones(n), np.zeros(n)], attack))

    edges = np.histogram_bin_edges(np.r_[syn_to_train, hold_to_train], bins=_BINS)
    histogram = {"edges": edges.tolist(),
                 "synthetic_to_train": np.histogram(syn_to_train, edges)[0].tolist(),
                 "holdout_to_train": np.histogram(hold_to_train, edges)[0].tolist()}
    return [
        _metric("privacy.exact_copy_rate", copies, {**common, "n_synthetic": len(synthetic)},
                reference=natural),
        _metric("privacy.dcr_share_closer_to_train", float(closer.mean()),
                {**sizes, "histogram": histogram, "copier_share": 0.5 + 0.5 * n / len(train)}),
        _metric("privacy.dcr_ratio", ratio, {**sizes, "median_synthetic_to_train": float(np.median(syn_to_train)),
                                             "median_holdout_to_train": median_hold},
                reason="the median holdout row has an exact twin in train, so the ratio is undefined"),
        _metric("privacy.mia_auc", mia, sizes),
    ]


_SPECS: dict[str, tuple[Goal, float, str]] = {
    "privacy.exact_copy_rate": (Goal.MINIMIZE, 0.0, "Share of synthetic rows identical on every compared column "
                                "to some real train row."),
    "privacy.dcr_share_closer_to_train": (Goal.MINIMIZE, 0.5, "Share of synthetic rows whose closest record in an "
                                          "equal-size train sample is closer than their closest holdout record "
                                          "(ties count half); 0.5 is ideal."),
    "privacy.dcr_ratio": (Goal.MAXIMIZE, 0.0, "Median distance from synthetic rows to the closest train record "
                          "divided by the same median for real holdout rows; well below 1 means synthetic rows "
                          "hug training rows."),
    "privacy.mia_auc": (Goal.MINIMIZE, 0.5, "ROC AUC of a membership-inference attack scoring each real record by "
                        "its closeness to the synthetic rows (train = members, holdout = non-members); 0.5 is ideal."),
}


def _nearest(reference: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """Distance from each query row to its closest reference row (Manhattan = Gower on these rows)."""
    index = NearestNeighbors(n_neighbors=1, metric="manhattan").fit(reference)
    return index.kneighbors(queries, return_distance=True)[0][:, 0]


def _metric(name: str, value: float, detail: dict, *, reference: float | None = None, reason: str = "") -> Metric:
    goal, low, description = _SPECS[name]
    if math.isnan(value):
        detail = {**detail, "reason": reason}
    return Metric(name, value, goal, min_value=low, max_value=1.0, description=description,
                  reference=reference, reference_label="real holdout" if reference is not None else "",
                  detail=detail)


def _nan(name: str, reason: str) -> Metric:
    goal, low, description = _SPECS[name]
    return Metric(name, math.nan, goal, min_value=low, max_value=1.0, description=description,
                  detail={"reason": reason})
