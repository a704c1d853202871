"""Privacy risk of a synthetic cohort: do synthetic histories sit on, or copy, real training histories?

A history is a vector: the patient's set of codes weighted by inverse document frequency (rare
codes say more about who someone is) and scaled to unit length, plus age at the last event
(years / 100) and sex (one-hot x 0.5), compared by Euclidean distance. Identical histories are at
distance 0; two patients sharing no code are about 1.4 apart.

``privacy.dcr_share_closer_to_train``: the share of synthetic patients whose nearest real history
is a training one rather than a holdout one. Train and holdout usually differ in size, and the
nearest of ``n_T + n_H`` exchangeable histories lies in train with probability
``p0 = n_T / (n_T + n_H)``; the raw share is therefore re-weighted by ``p0`` (an odds correction,
ties counted as half), so that a generator that does not memorise scores 0.5 whatever the sizes,
and one that copies every training patient scores 1. Equal-size samples (the table metric's
convention) would cap a full copier at ``0.5 + 0.5 * n_H / n_T``; that number is kept in
``detail["equal_size_share"]``.

``privacy.exact_trajectory_copies``: the share of synthetic patients whose whole code sequence
(codes in time order, same-day codes sorted) equals some training patient's. Short histories
coincide by chance, so the real holdout's share is the reference, and the share among histories
of :data:`LONG_TRAJECTORY` or more events is in the detail.

``privacy.rare_code_leakage``: of the codes fewer than :data:`RARE_PATIENTS` training patients
have, the share that the synthetic cohort contains. Such codes can single a person out; the real
holdout's share (new patients who happen to have them) is the reference.

>>> metrics = privacy_metrics(train, holdout, holdout_sample, synthetic)  # doctest: +SKIP
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.neighbors import NearestNeighbors

from hygeia.data.longitudinal import Cohort
from hygeia.data.longitudinal.plausibility import code_key
from hygeia.evaluate.metric import Goal, Metric

NAMES: tuple[str, ...] = ("privacy.dcr_share_closer_to_train", "privacy.exact_trajectory_copies",
                          "privacy.rare_code_leakage")
#: Patients per sample in the distance computations.
PRIVACY_CAP = 3_000
RARE_PATIENTS = 5
LONG_TRAJECTORY = 10
AGE_SCALE_YEARS = 100.0
SEX_WEIGHT = 0.5
_TIE = 1e-9
_SEXES = ("female", "male")


def privacy_metrics(train: Cohort, holdout: Cohort, reference: Cohort, synthetic: Cohort, *,
                    seed: int = 0) -> list[Metric]:
    """The ``privacy.*`` metrics; ``reference`` is the holdout sample (synthetic-sized) for the copy and rare-code
    references, while the distance test uses the whole holdout."""
    if synthetic.n_patients == 0:
        return [_metric(name, math.nan, {"reason": "the synthetic cohort has no patients"}) for name in NAMES]
    if train.n_patients == 0 or holdout.n_patients == 0:
        return [_metric(name, math.nan, {"reason": "the real train or holdout cohort is empty"}) for name in NAMES]
    return [dcr_share(train, holdout, synthetic, seed=seed), trajectory_copies(train, reference, synthetic),
            rare_code_leakage(train, reference, synthetic)]


def _sample(cohort: Cohort, n: int, seed: int) -> Cohort:
    return cohort if n >= cohort.n_patients else cohort.subset(cohort.patients["patient_id"].sample(n, random_state=seed))


def history_vectors(cohorts: list[Cohort], idf_from: Cohort) -> list[sparse.csr_matrix]:
    """One row per patient of each cohort, in a shared code space (IDF from ``idf_from``)."""
    keys = [code_key(c.events) for c in cohorts]
    vocab = pd.Index(sorted(set().union(*[set(k) for k in keys])))
    ref_df = pd.DataFrame({"p": idf_from.events["patient_id"], "k": code_key(idf_from.events)}).drop_duplicates()
    df = ref_df["k"].value_counts().reindex(vocab, fill_value=0).to_numpy()
    idf = np.log((1 + idf_from.n_patients) / (1 + df)) + 1.0  # codes unseen in train weigh most
    out = []
    for cohort, key in zip(cohorts, keys):
        ids = pd.Index(cohort.patients["patient_id"])
        pairs = pd.DataFrame({"p": ids.get_indexer(cohort.events["patient_id"]), "k": vocab.get_indexer(key)})
        pairs = pairs.drop_duplicates()
        codes = sparse.csr_matrix((idf[pairs["k"]], (pairs["p"], pairs["k"])), shape=(len(ids), len(vocab)))
        norms = np.sqrt(np.asarray(codes.multiply(codes).sum(axis=1))).ravel()
        codes = sparse.diags(1.0 / np.where(norms > 0, norms, 1.0)) @ codes
        age = (cohort.events.groupby("patient_id")["age_days"].max() / 365.25).reindex(ids).fillna(0.0)
        sex = cohort.patients["sex"].fillna("unknown").to_numpy()
        extra = np.column_stack([age.to_numpy() / AGE_SCALE_YEARS]
                                + [(sex == s) * SEX_WEIGHT for s in _SEXES]
                                + [~np.isin(sex, _SEXES) * SEX_WEIGHT])
        out.append(sparse.hstack([codes, sparse.csr_matrix(extra)]).tocsr())
    return out


def _nearest(reference: sparse.csr_matrix, queries: sparse.csr_matrix) -> np.ndarray:
    index = NearestNeighbors(n_neighbors=1, metric="euclidean", algorithm="brute").fit(reference)
    return index.kneighbors(queries, return_distance=True)[0][:, 0]


def dcr_share(train: Cohort, holdout: Cohort, synthetic: Cohort, *, seed: int = 0) -> Metric:
    """Size-corrected share of synthetic patients closer to a training history than to a holdout one."""
    # A patient without events has no history to sit close to; such patients are left out.
    with_events = synthetic.patients["patient_id"].isin(synthetic.events["patient_id"])
    if not with_events.any():
        return _metric("privacy.dcr_share_closer_to_train", math.nan,
                       {"reason": "no synthetic patient has any event"})
    tr = _sample(train, PRIVACY_CAP, seed)
    ho = _sample(holdout, PRIVACY_CAP, seed)
    sy = synthetic if with_events.all() else synthetic.subset(synthetic.patients.loc[with_events, "patient_id"])
    sy = _sample(sy, PRIVACY_CAP, seed)
    v_tr, v_ho, v_sy = history_vectors([tr, ho, sy], idf_from=train)
    d_tr, d_ho = _nearest(v_tr, v_sy), _nearest(v_ho, v_sy)
    tie = np.abs(d_tr - d_ho) <= _TIE
    closer = (d_tr < d_ho) & ~tie
    p0 = tr.n_patients / (tr.n_patients + ho.n_patients)
    ties = float(tie.mean())
    if ties < 1.0:
        s = float(closer.sum()) / float((~tie).sum())
        corrected = _odds_corrected(s, p0)
        value = ties * 0.5 + (1.0 - ties) * corrected
    else:
        value = 0.5
    # The table convention, for comparison: an equal-size train sample (a copier scores 0.5 + 0.5 n_H / n_T).
    n_eq = min(tr.n_patients, ho.n_patients)
    d_eq = _nearest(v_tr[np.random.default_rng(seed).choice(tr.n_patients, n_eq, replace=False)], v_sy)
    eq_tie = np.abs(d_eq - d_ho) <= _TIE
    equal_size = float(np.mean(np.where(eq_tie, 0.5, (d_eq < d_ho).astype(float))))
    hold_to_train = _nearest(v_tr, v_ho)
    detail = {"n_train_sample": tr.n_patients, "n_holdout_sample": ho.n_patients, "n_synthetic_sample": sy.n_patients,
              "n_synthetic_without_events": int((~with_events).sum()),
              "raw_share": float(np.mean(closer + 0.5 * tie)), "expected_raw_share_if_independent": p0,
              "tie_share": ties, "equal_size_share": equal_size,
              "equal_size_copier_share": 0.5 + 0.5 * n_eq / tr.n_patients,
              "median_synthetic_to_train": float(np.median(d_tr)),
              "median_holdout_to_train": float(np.median(hold_to_train)),
              "share_synthetic_at_distance_0": float(np.mean(d_tr <= _TIE)),
              "share_holdout_at_distance_0": float(np.mean(hold_to_train <= _TIE))}
    return _metric("privacy.dcr_share_closer_to_train", value, detail)


def _odds_corrected(share: float, p0: float) -> float:
    """Map a raw share with null expectation ``p0`` to a 0.5-centred one (1 stays 1, 0 stays 0)."""
    up, down = share * (1.0 - p0), (1.0 - share) * p0
    return up / (up + down) if up + down > 0 else 0.5


def trajectories(cohort: Cohort) -> pd.Series:
    """Each patient's code sequence as one string: codes by day of age, same-day codes sorted."""
    ev = cohort.events
    frame = pd.DataFrame({"p": ev["patient_id"], "d": np.floor(ev["age_days"]), "k": code_key(ev)})
    frame = frame.sort_values(["p", "d", "k"], kind="stable")
    return frame.groupby("p", sort=False)["k"].agg("\x1f".join)


def trajectory_copies(train: Cohort, reference: Cohort, synthetic: Cohort) -> Metric:
    """Share of synthetic patients whose code sequence equals a training patient's (holdout share as reference)."""
    seen = set(trajectories(train))
    lengths_syn = synthetic.events.groupby("patient_id").size()
    lengths_ref = reference.events.groupby("patient_id").size()

    def rates(cohort: Cohort, lengths: pd.Series) -> tuple[float, float]:
        seq = trajectories(cohort)
        hit = seq.isin(seen)
        long = lengths.reindex(seq.index) >= LONG_TRAJECTORY
        # Patients without events have no trajectory to copy: they count in the denominator only.
        share = float(hit.sum()) / cohort.n_patients if cohort.n_patients else math.nan
        long_share = float(hit[long].mean()) if long.any() else math.nan
        return share, long_share

    value, long_value = rates(synthetic, lengths_syn)
    ref, long_ref = rates(reference, lengths_ref) if reference.n_patients else (math.nan, math.nan)
    detail = {"long_trajectory_events": LONG_TRAJECTORY, "long_copies": _none(long_value),
              "long_copies_reference": _none(long_ref), "n_synthetic": synthetic.n_patients,
              "n_reference": reference.n_patients}
    return _metric("privacy.exact_trajectory_copies", value, detail, reference=_none(ref))


def rare_code_leakage(train: Cohort, reference: Cohort, synthetic: Cohort) -> Metric:
    """Share of codes held by fewer than ``RARE_PATIENTS`` training patients that the synthetic cohort contains."""
    per_code = pd.DataFrame({"p": train.events["patient_id"], "k": code_key(train.events)}).drop_duplicates()["k"]
    counts = per_code.value_counts()
    rare = set(counts.index[counts < RARE_PATIENTS])
    if not rare:
        return _metric("privacy.rare_code_leakage", math.nan,
                       {"reason": f"no code is held by fewer than {RARE_PATIENTS} training patients",
                        "rare_patients": RARE_PATIENTS})
    leaked = sorted(rare & set(code_key(synthetic.events)))
    ref = len(rare & set(code_key(reference.events))) / len(rare) if reference.n_patients else math.nan
    detail = {"rare_patients": RARE_PATIENTS, "n_rare_codes": len(rare), "n_leaked": len(leaked),
              "leaked_examples": leaked[:10]}
    return _metric("privacy.rare_code_leakage", len(leaked) / len(rare), detail, reference=_none(ref))


def _none(value: float) -> float | None:
    return None if value is None or math.isnan(value) else value


_SPECS: dict[str, tuple[float, str]] = {
    "privacy.dcr_share_closer_to_train": (0.5, "Share of synthetic patients whose nearest real history (IDF-weighted "
                                          "code set, age, sex) is in train rather than the holdout, corrected for "
                                          "their sizes; 0.5 is ideal, 1 means every synthetic patient sits on a "
                                          "training patient."),
    "privacy.exact_trajectory_copies": (0.0, "Share of synthetic patients whose whole code sequence (in time order) "
                                        "equals a training patient's."),
    "privacy.rare_code_leakage": (0.0, f"Share of the codes held by fewer than {RARE_PATIENTS} training patients "
                                  "that appear in the synthetic cohort."),
}


def _metric(name: str, value: float, detail: dict, *, reference: float | None = None) -> Metric:
    low, description = _SPECS[name]
    if math.isnan(value) and "reason" not in detail:
        detail = {**detail, "reason": "not computable"}
    return Metric(name, value, Goal.MINIMIZE, min_value=low, max_value=1.0, description=description,
                  reference=reference, reference_label="real holdout" if reference is not None else "",
                  detail=detail)
