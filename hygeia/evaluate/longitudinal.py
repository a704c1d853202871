"""Score a synthetic cohort of patient histories: temporal fidelity, utility, privacy, subgroups, plausibility.

Every fidelity score compares the synthetic cohort with the real train cohort and carries, as
``reference``, the same score of real holdout patients (a sample of the synthetic cohort's size):
real patients the generator never saw are the ceiling, because finite real samples never score 1.

Fidelity, each in [0, 1] with 1 = identical (KS = Kolmogorov-Smirnov statistic, TV = total
variation distance; a component the synthetic cohort lacks entirely scores 0):

- ``events_per_patient``: mean of 1 - KS of events per patient, in total and per event kind.
- ``time_gaps``: mean of 1 - KS of the days between a patient's consecutive distinct event days
  (every source has these, OMOP included), between consecutive encounters, and of contained events'
  offsets from their encounter's start (the last two when the real cohort has them). KS ignores
  monotone transforms, so the score is the same on log-days, the scale the figures use.
- ``code_frequency``: 1 - TV between the event shares of every system+code.
- ``cooccurrence``: 1 - mean |phi_real - phi_synthetic| over pairs of the :data:`TOP_CODES` codes most
  patients have, phi being the correlation of two codes' presence across patients.
- ``lab_values``: mean 1 - KS of the values of the :data:`TOP_LABS` most frequent numeric
  observation codes (LOINC in FHIR and OMOP sources); NaN when the real cohort has no values.
- ``age_at_first_diagnosis``: mean 1 - KS of the age at first onset of the :data:`TOP_CONDITIONS`
  conditions most patients have.
- ``temporal_overall``: mean of the above that could be computed.

Utility (:mod:`hygeia.evaluate.longitudinal_utility`), privacy (:mod:`hygeia.evaluate.longitudinal_privacy`),
fairness (here: representation and code-frequency fidelity by sex and age band) and
``plausibility.violations_per_1000`` (:func:`hygeia.data.longitudinal.plausibility.check_plausibility`,
with the real train cohort's own rate as reference) complete the scorecard. With ``baseline`` (a
simple model's cohort) every metric's value for the baseline goes into ``detail["baseline"]``.

>>> card = evaluate_cohort(train, holdout, synthetic, seed=0, baseline=simple_cohort)  # doctest: +SKIP
>>> m = card.get("fidelity.temporal_overall")  # doctest: +SKIP
>>> round(m.value, 3), round(m.reference, 3), round(m.detail["baseline"], 3)  # doctest: +SKIP
(0.96, 0.949, 0.84)

(Eunomia: unseen real patients as "synthetic", independent events as the baseline.)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy.stats import ks_2samp

from hygeia.data.longitudinal import Cohort
from hygeia.data.longitudinal.plausibility import check_plausibility, code_key
from hygeia.evaluate import longitudinal_privacy, longitudinal_utility
from hygeia.evaluate.fairness import MIN_GROUP_ROWS
from hygeia.evaluate.metric import Goal, Metric, Scorecard

TOP_CODES = 30
TOP_LABS = 10
TOP_CONDITIONS = 10
#: Fewest real values (patients, gaps, lab results) a distribution needs before it is compared.
MIN_VALUES = 20
AGE_BANDS: tuple[tuple[str, float], ...] = (("0-17", 18.0), ("18-44", 45.0), ("45-64", 65.0), ("65+", math.inf))
_REAL_HOLDOUT = "real holdout"
#: Fewest training patients a sex or age band needs before its synthetic share is judged.
MIN_REPRESENTED = 10

FIDELITY_NAMES: tuple[str, ...] = (
    "fidelity.events_per_patient", "fidelity.time_gaps", "fidelity.code_frequency", "fidelity.cooccurrence",
    "fidelity.lab_values", "fidelity.age_at_first_diagnosis", "fidelity.temporal_overall")
FAIRNESS_NAMES: tuple[str, ...] = ("fairness.min_representation_ratio", "fairness.worst_group_fidelity_gap")
PLAUSIBILITY_NAME = "plausibility.violations_per_1000"


#: Every metric :func:`evaluate_cohort` produces, in scorecard order.
COHORT_METRIC_NAMES: tuple[str, ...] = (FIDELITY_NAMES + longitudinal_utility.NAMES + longitudinal_privacy.NAMES
                                        + FAIRNESS_NAMES + (PLAUSIBILITY_NAME,))


def evaluate_cohort(train: Cohort, holdout: Cohort, synthetic: Cohort, *, seed: int = 0,
                    baseline: Cohort | None = None, target: str | None = None) -> Scorecard:
    """Every ``COHORT_METRIC_NAMES`` metric of ``synthetic`` against ``train``, read against ``holdout``.

    ``target`` (``system|code`` or a bare code) fixes the condition the utility task predicts;
    by default the task picks one (see :mod:`hygeia.evaluate.longitudinal_utility`).
    """
    memo = Summaries()
    card = _evaluate(train, holdout, synthetic, seed=seed, target=target, memo=memo)
    if baseline is None:
        return card
    other = _evaluate(train, holdout, baseline, seed=seed, target=target, memo=memo)
    return Scorecard(tuple(_with_baseline(m, other.get(m.name)) for m in card))


def _evaluate(train: Cohort, holdout: Cohort, synthetic: Cohort, *, seed: int, target: str | None,
              memo: Summaries) -> Scorecard:
    reference = reference_sample(holdout, synthetic, seed)
    metrics = fidelity_metrics(train, holdout, synthetic, seed=seed, reference=reference, memo=memo)
    metrics += longitudinal_utility.utility_metrics(train, holdout, synthetic, seed=seed, target=target)
    metrics += longitudinal_privacy.privacy_metrics(train, holdout, reference, synthetic, seed=seed)
    metrics += fairness_metrics(train, holdout, synthetic, seed=seed, memo=memo)
    metrics.append(plausibility_metric(train, synthetic))
    return Scorecard(tuple(metrics))


def _with_baseline(metric: Metric, base: Metric) -> Metric:
    return replace(metric, detail={**metric.detail, "baseline": base.value})


# -- summaries shared by the metrics and the figures -----------------------------------------------------------

@dataclass(frozen=True)
class CohortSummary:
    """What the fidelity metrics and the figures compare, computed once per cohort.

    ``counts``: events per patient (column ``total`` and one per kind, every patient a row);
    ``day_gaps`` / ``encounter_gaps`` / ``offsets``: days; ``codes``: events per code key;
    ``presence``: unique (patient_id, key) pairs; ``values``: (key, value) of numeric observations;
    ``onsets``: (patient_id, key, age_years) of each condition's first onset; ``age_end``: age in
    years at the last event (NaN without events); ``sex`` per patient.
    """

    n_patients: int
    counts: pd.DataFrame
    day_gaps: np.ndarray
    encounter_gaps: np.ndarray
    offsets: np.ndarray
    codes: pd.Series
    presence: pd.DataFrame
    values: pd.DataFrame
    onsets: pd.DataFrame
    age_end: pd.Series
    sex: pd.Series
    displays: dict[str, str]


def summarize(cohort: Cohort) -> CohortSummary:
    """The :class:`CohortSummary` of one cohort (about half a second for 150,000 events)."""
    ev = cohort.events
    ids = cohort.patients["patient_id"]
    key = code_key(ev)
    counts = ev.groupby(["patient_id", "kind"]).size().unstack(fill_value=0).reindex(ids, fill_value=0)
    counts.columns.name = None
    counts.insert(0, "total", counts.sum(axis=1))
    days = pd.DataFrame({"p": ev["patient_id"], "d": np.floor(ev["age_days"])}).dropna().drop_duplicates()
    enc = ev[ev["kind"] == "encounter"]
    starts = dict(zip(enc["event_id"], enc["age_days"]))
    linked = ev[ev["encounter_id"].notna() & (ev["kind"] != "encounter")]
    offsets = (linked["age_days"] - linked["encounter_id"].map(starts)).dropna().to_numpy()
    numeric = ev["kind"].eq("observation") & ev["value"].notna()
    cond = ev["kind"].eq("condition")
    onsets = (pd.DataFrame({"patient_id": ev.loc[cond, "patient_id"], "key": key[cond],
                            "age_years": ev.loc[cond, "age_days"] / 365.25})
              .groupby(["patient_id", "key"], as_index=False)["age_years"].min())
    displays = pd.Series(ev["display"].to_numpy(), index=key.to_numpy())
    displays = displays[displays.notna() & ~displays.index.duplicated()]
    return CohortSummary(
        n_patients=cohort.n_patients, counts=counts, day_gaps=_consecutive(days["p"], days["d"]),
        encounter_gaps=_consecutive(enc["patient_id"], enc["age_days"]), offsets=offsets,
        codes=key.value_counts(), presence=pd.DataFrame({"patient_id": ev["patient_id"], "key": key}).drop_duplicates(),
        values=pd.DataFrame({"key": key[numeric], "value": ev.loc[numeric, "value"]}), onsets=onsets,
        age_end=(ev.groupby("patient_id")["age_days"].max() / 365.25).reindex(ids).set_axis(ids.to_numpy()),
        sex=cohort.patients.set_index("patient_id")["sex"], displays=displays.to_dict())


class Summaries:
    """Summaries computed once per cohort object (an evaluation reuses train's and holdout's for the baseline)."""

    def __init__(self) -> None:
        self._done: dict[int, tuple[Cohort, CohortSummary]] = {}

    def __call__(self, cohort: Cohort) -> CohortSummary:
        hit = self._done.get(id(cohort))
        if hit is None or hit[0] is not cohort:  # the cohort is kept, so its id cannot be reused meanwhile
            hit = self._done[id(cohort)] = (cohort, summarize(cohort))
        return hit[1]


def _consecutive(patient: pd.Series, time: pd.Series) -> np.ndarray:
    """Positive differences between each patient's consecutive times."""
    frame = pd.DataFrame({"p": patient.to_numpy(), "t": time.to_numpy()}).dropna().sort_values(["p", "t"])
    gaps = frame.groupby("p")["t"].diff().dropna().to_numpy()
    return gaps[gaps > 0]


def top_codes(summary: CohortSummary, n: int) -> list[str]:
    """The ``n`` codes most patients have."""
    return summary.presence["key"].value_counts().head(n).index.tolist()


def top_value_codes(summary: CohortSummary, n: int = TOP_LABS) -> list[str]:
    """The ``n`` numeric observation codes with the most values (at least :data:`MIN_VALUES` each)."""
    sizes = summary.values["key"].value_counts()
    return sizes[sizes >= MIN_VALUES].head(n).index.tolist()


def top_conditions(summary: CohortSummary, n: int = TOP_CONDITIONS) -> list[str]:
    """The ``n`` conditions most patients have (at least :data:`MIN_VALUES` patients each)."""
    sizes = summary.onsets["key"].value_counts()
    return sizes[sizes >= MIN_VALUES].head(n).index.tolist()


# -- fidelity ----------------------------------------------------------------------------------------------------

def _ks_score(real: np.ndarray, other: np.ndarray) -> float:
    """1 - KS statistic; 0 when ``other`` is empty (the generator lost the distribution)."""
    real, other = np.asarray(real, dtype=float), np.asarray(other, dtype=float)
    if other.size == 0:
        return 0.0
    return 1.0 - float(ks_2samp(real, other).statistic)


def _tv_score(real: pd.Series, other: pd.Series) -> float:
    """1 - total variation distance between two count vectors over their union of labels."""
    if real.sum() == 0 or other.sum() == 0:
        return 0.0
    p, q = real / real.sum(), other / other.sum()
    return 1.0 - 0.5 * float(p.sub(q, fill_value=0.0).abs().sum())


def _phi(presence: pd.DataFrame, codes: list[str], n_patients: int) -> np.ndarray:
    """Correlation of code presence across patients (an undefined correlation, e.g. a code all or none
    have, counts as 0)."""
    rows = presence[presence["key"].isin(codes)]
    patient = pd.factorize(rows["patient_id"])[0]
    x = np.zeros((max(n_patients, 1), len(codes)))
    x[patient, pd.Index(codes).get_indexer(rows["key"])] = 1.0  # patients without any of the codes stay 0
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.corrcoef(x, rowvar=False)
    return np.nan_to_num(np.atleast_2d(corr), nan=0.0)


def fidelity_scores(train: CohortSummary, other: CohortSummary) -> dict[str, tuple[float, dict]]:
    """``{metric: (value, detail)}`` of every fidelity metric of ``other`` against ``train``."""
    out: dict[str, tuple[float, dict]] = {}
    per_kind = {col: _ks_score(train.counts[col], other.counts.get(col, pd.Series(0, index=other.counts.index)))
                for col in train.counts.columns}
    out["fidelity.events_per_patient"] = (float(np.mean(list(per_kind.values()))), {"components": per_kind})

    parts = {"between_event_days": (train.day_gaps, other.day_gaps),
             "between_encounters": (train.encounter_gaps, other.encounter_gaps),
             "within_encounter_offsets": (train.offsets, other.offsets)}
    gaps = {name: _ks_score(a, b) for name, (a, b) in parts.items() if len(a) >= MIN_VALUES}
    out["fidelity.time_gaps"] = (float(np.mean(list(gaps.values()))) if gaps else math.nan,
                                 {"components": gaps} if gaps else {"reason": "the real cohort has fewer than "
                                                                    f"{MIN_VALUES} gaps between event days"})

    out["fidelity.code_frequency"] = (_tv_score(train.codes, other.codes), {"n_codes_real": len(train.codes),
                                                                           "n_codes_other": len(other.codes)})

    codes = top_codes(train, TOP_CODES)
    if len(codes) >= 2:
        diff = np.abs(_phi(train.presence, codes, train.n_patients) - _phi(other.presence, codes, other.n_patients))
        # A frequent code the synthetic cohort never uses has no co-occurrence to compare: its pairs score 0.
        absent = ~np.isin(codes, other.presence["key"].unique())
        diff[absent, :] = diff[:, absent] = 1.0
        pairs = diff[np.triu_indices(len(codes), 1)]
        out["fidelity.cooccurrence"] = (max(0.0, 1.0 - float(pairs.mean())),
                                        {"codes": codes, "n_pairs": len(pairs),
                                         "codes_absent": [c for c, a in zip(codes, absent) if a]})
    else:
        out["fidelity.cooccurrence"] = (math.nan, {"reason": "the real cohort has fewer than two codes"})

    labs = top_value_codes(train)
    if labs:
        real_v, other_v = train.values.groupby("key")["value"], other.values.groupby("key")["value"]
        per_code = {k: _ks_score(real_v.get_group(k), other_v.get_group(k) if k in other_v.groups else [])
                    for k in labs}
        out["fidelity.lab_values"] = (float(np.mean(list(per_code.values()))), {"codes": per_code})
    else:
        out["fidelity.lab_values"] = (math.nan, {"reason": f"the real cohort has no observation code with "
                                                 f"{MIN_VALUES} or more numeric values"})

    conditions = top_conditions(train)
    if conditions:
        real_o, other_o = train.onsets.groupby("key")["age_years"], other.onsets.groupby("key")["age_years"]
        per_code = {k: _ks_score(real_o.get_group(k), other_o.get_group(k) if k in other_o.groups else [])
                    for k in conditions}
        out["fidelity.age_at_first_diagnosis"] = (float(np.mean(list(per_code.values()))), {"codes": per_code})
    else:
        out["fidelity.age_at_first_diagnosis"] = (math.nan, {"reason": f"no condition has {MIN_VALUES} or more "
                                                             "patients in the real cohort"})
    computed = {k: v for k, (v, _) in out.items() if not math.isnan(v)}
    out["fidelity.temporal_overall"] = (float(np.mean(list(computed.values()))) if computed else math.nan,
                                        {"components": list(computed)} if computed else {"reason": "nothing computed"})
    return out


_FIDELITY_DESCRIPTIONS = {
    "fidelity.events_per_patient": "Mean of 1 - KS statistic of events per patient, in total and per event kind.",
    "fidelity.time_gaps": "Mean of 1 - KS of days between consecutive event days, between consecutive encounters "
                          "and of contained events' offsets from their encounter's start.",
    "fidelity.code_frequency": "1 - total variation distance between the event shares of every system+code.",
    "fidelity.cooccurrence": f"1 - mean absolute difference of the correlation (phi) of code presence across "
                             f"patients, over pairs of the {TOP_CODES} codes most patients have.",
    "fidelity.lab_values": f"Mean 1 - KS of the values of the {TOP_LABS} most frequent numeric observation codes.",
    "fidelity.age_at_first_diagnosis": f"Mean 1 - KS of the age at first onset of the {TOP_CONDITIONS} conditions "
                                       "most patients have.",
    "fidelity.temporal_overall": "Mean of the computed fidelity scores above.",
}


def reference_sample(holdout: Cohort, synthetic: Cohort, seed: int) -> Cohort:
    """Holdout patients, as many as the synthetic cohort has (the ceiling carries the same sampling noise)."""
    n = min(holdout.n_patients, max(synthetic.n_patients, 1))
    if n >= holdout.n_patients:
        return holdout
    ids = holdout.patients["patient_id"].sample(n, random_state=seed)
    return holdout.subset(ids)


def fidelity_metrics(train: Cohort, holdout: Cohort, synthetic: Cohort, *, seed: int = 0,
                     reference: Cohort | None = None, memo: Summaries | None = None) -> list[Metric]:
    """The ``fidelity.*`` metrics, each with the real holdout's score as reference.

    ``reference`` is the holdout sample to score (by default :func:`reference_sample`).
    """
    if synthetic.n_patients == 0:
        return [_metric(name, math.nan, {"reason": "the synthetic cohort has no patients"}) for name in FIDELITY_NAMES]
    memo = memo or Summaries()
    real = memo(train)
    ref_cohort = reference if reference is not None else reference_sample(holdout, synthetic, seed)
    syn = fidelity_scores(real, memo(synthetic))
    ref = fidelity_scores(real, memo(ref_cohort)) if ref_cohort.n_patients else {}
    out = []
    for name in FIDELITY_NAMES:
        value, detail = syn[name]
        reference = ref.get(name, (math.nan, {}))[0]
        out.append(_metric(name, value, {**detail, "reference_patients": ref_cohort.n_patients},
                           reference=None if math.isnan(reference) else reference))
    return out


def _metric(name: str, value: float, detail: dict, *, reference: float | None = None,
            goal: Goal = Goal.MAXIMIZE, description: str | None = None, **kw) -> Metric:
    if math.isnan(value) and "reason" not in detail:
        detail = {**detail, "reason": "not computable"}
    return Metric(name, value, goal, description=description or _FIDELITY_DESCRIPTIONS.get(name, ""),
                  reference=reference, reference_label=_REAL_HOLDOUT if reference is not None else "",
                  detail=detail, **kw)


# -- fairness ----------------------------------------------------------------------------------------------------

def age_band(age_years: pd.Series) -> pd.Series:
    """``0-17`` ... ``65+`` (``unknown`` without an event to date the patient)."""
    labels = pd.Series("unknown", index=age_years.index, dtype=object)
    lower = -math.inf
    for label, upper in AGE_BANDS:
        labels[(age_years >= lower) & (age_years < upper)] = label
        lower = upper
    return labels


def _groups(summary: CohortSummary) -> dict[str, pd.Series]:
    return {"sex": summary.sex.reindex(summary.age_end.index).fillna("unknown").astype(str),
            "age_band": age_band(summary.age_end)}


def fairness_metrics(train: Cohort, holdout: Cohort, synthetic: Cohort, *, seed: int = 0,
                     memo: Summaries | None = None) -> list[Metric]:
    """Representation and code-frequency fidelity per sex and per age band (age at the last event).

    A group's fidelity is read against its own ceiling (its holdout patients against its train
    patients), the synthetic group sampled to the holdout group's size; groups with fewer than
    ``MIN_GROUP_ROWS`` holdout patients are listed but not judged.
    """
    if synthetic.n_patients == 0:
        return [_fair(name, math.nan, {"reason": "the synthetic cohort has no patients"}) for name in FAIRNESS_NAMES]
    memo = memo or Summaries()
    tr, ho, sy = memo(train), memo(holdout), memo(synthetic)
    g_tr, g_ho, g_sy = _groups(tr), _groups(ho), _groups(sy)
    rng = np.random.default_rng(seed)
    rows = []
    for attribute in g_tr:
        for group in sorted(g_tr[attribute].unique()):
            ids_tr = g_tr[attribute].index[g_tr[attribute] == group]
            ids_ho = g_ho[attribute].index[g_ho[attribute] == group]
            ids_sy = g_sy[attribute].index[g_sy[attribute] == group]
            row = {"attribute": attribute, "group": str(group), "n_train": len(ids_tr), "n_holdout": len(ids_ho),
                   "n_synthetic": len(ids_sy), "share_real": len(ids_tr) / tr.n_patients,
                   "share_synthetic": len(ids_sy) / sy.n_patients, "fidelity": None, "fidelity_ceiling": None,
                   "judged": len(ids_ho) >= MIN_GROUP_ROWS}
            if row["judged"]:
                real = _group_codes(tr, ids_tr)
                row["fidelity_ceiling"] = _tv_score(real, _group_codes(ho, ids_ho))
                if len(ids_sy):
                    pick = rng.choice(ids_sy, size=min(len(ids_sy), len(ids_ho)), replace=False)
                    row["fidelity"] = _tv_score(real, _group_codes(sy, pd.Index(pick)))
                else:
                    row["fidelity"] = 0.0  # the generator dropped the group
            rows.append(row)
    judged = [r for r in rows if r["judged"]]
    # A share needs fewer patients than a code distribution: representation is judged on train counts.
    present = [r for r in rows if r["n_train"] >= MIN_REPRESENTED and r["group"] != "unknown"]
    common = {"groups": rows, "min_group_rows": MIN_GROUP_ROWS,
              "skipped_small_groups": [f"{r['attribute']} = {r['group']}" for r in rows if not r["judged"]]}
    if present:
        ratio = min(present, key=lambda r: r["share_synthetic"] / r["share_real"])
        representation = _fair("fairness.min_representation_ratio", ratio["share_synthetic"] / ratio["share_real"],
                               {**common, "worst_group": f"{ratio['attribute']} = {ratio['group']}",
                                "min_train_patients": MIN_REPRESENTED})
    else:
        representation = _fair("fairness.min_representation_ratio", math.nan, {
            **common, "reason": f"no group has {MIN_REPRESENTED} or more training patients"})
    if not judged:
        reason = f"no group has {MIN_GROUP_ROWS} or more holdout patients"
        return [representation, _fair("fairness.worst_group_fidelity_gap", math.nan, {**common, "reason": reason})]
    gap = max(judged, key=lambda r: r["fidelity_ceiling"] - r["fidelity"])
    return [representation,
            _fair("fairness.worst_group_fidelity_gap", gap["fidelity_ceiling"] - gap["fidelity"],
                  {**common, "worst_group": f"{gap['attribute']} = {gap['group']}"})]


def _group_codes(summary: CohortSummary, ids: pd.Index) -> pd.Series:
    rows = summary.presence  # codes per patient, counted once per patient: a group's code mix
    return rows.loc[rows["patient_id"].isin(ids), "key"].value_counts()


_FAIR_SPECS: dict[str, tuple[Goal, float, str]] = {
    "fairness.min_representation_ratio": (Goal.MAXIMIZE, 1.0, "Smallest ratio, over sex and age-band groups, of a "
                                          "group's share of synthetic patients to its share of real train patients."),
    "fairness.worst_group_fidelity_gap": (Goal.MINIMIZE, 1.0, "Largest gap, over sex and age-band groups, between "
                                          "the group's code-frequency fidelity ceiling (its holdout patients vs its "
                                          "train patients) and its synthetic patients' (1 - TV of the share of "
                                          "patients with each code); a dropped group scores 0."),
}


def _fair(name: str, value: float, detail: dict) -> Metric:
    goal, high, description = _FAIR_SPECS[name]
    return _metric(name, value, detail, goal=goal, description=description, min_value=0.0, max_value=high)


# -- plausibility ------------------------------------------------------------------------------------------------

def plausibility_metric(train: Cohort, synthetic: Cohort) -> Metric:
    """Violations of the plausibility rules per 1,000 synthetic patients; the real train cohort's rate as reference."""
    description = ("Violations of the clinical plausibility rules (events before birth or after death, outside "
                   "their encounter, mixed units, sex-specific codes, impossible ages and vital signs) per 1,000 "
                   "patients.")
    real = check_plausibility(train)
    reference = None if math.isnan(real.total_per_1000) else real.total_per_1000
    if synthetic.n_patients == 0:
        value, detail = math.nan, {"reason": "the synthetic cohort has no patients"}
    else:
        report = check_plausibility(synthetic)
        value, detail = report.total_per_1000, {**report.to_dict(), "reference_counts": real.counts}
    return Metric(PLAUSIBILITY_NAME, value, Goal.MINIMIZE, min_value=0.0, max_value=math.inf,
                  description=description, reference=reference,
                  reference_label="real train" if reference is not None else "", detail=detail)

