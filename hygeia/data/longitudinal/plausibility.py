"""Clinical plausibility of a cohort: rules no real patient history breaks, counted per 1,000 patients.

Rules (see :data:`RULES`): events before birth or after death, contained events outside their
encounter's period, broken encounter links, an end before its start, more than one unit per
code, sex-specific codes on the other sex (``sex_specific.yaml``), ages over 120 years and vital
signs outside physiologic bounds (:data:`VITALS`). Small tolerances absorb date-only sources and
time zones: a real history read from dates may sit up to a day off its encounter or birth.

The rules judge single events against hard limits; they flag the impossible, not the unusual.
``total_per_1000`` is what a policy gates on; read it against the real source's own rate, since
real data are not spotless either (Eunomia holds one drug exposure dated six years before birth).

>>> report = check_plausibility(cohort)  # doctest: +SKIP
>>> report.counts["before_birth"], report.total_per_1000  # doctest: +SKIP
(0, 0.0)
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from hygeia.data.longitudinal.cohort import Cohort

#: Tolerances (days): dates without a time, time zones and same-day rounding.
BIRTH_TOLERANCE_DAYS = 1.0
DEATH_TOLERANCE_DAYS = 1.0
ENCOUNTER_TOLERANCE_DAYS = 1.0
MAX_AGE_YEARS = 120.0
#: Examples kept per rule (patient, event, what is wrong).
MAX_EXAMPLES = 5
SEX_SPECIFIC_FILE = Path(__file__).with_name("sex_specific.yaml")

RULES: dict[str, str] = {
    "before_birth": "event more than a day before birth (age_days < 0)",
    "after_death": "event more than a day after the patient's death",
    "outside_encounter": "contained event starts more than a day outside its encounter's period",
    "encounter_link_broken": "encounter_id names no encounter of the same patient",
    "end_before_start": "event (encounter, condition, medication...) ends before it starts",
    "unit_inconsistent": "event whose unit is not the majority unit of its system+code",
    "sex_specific": "code or display specific to one sex, recorded for a patient of the other sex",
    "implausible_age": f"event or death at an age over {MAX_AGE_YEARS:g} years",
    "vital_out_of_range": "vital sign outside physiologic bounds for its unit",
}


@dataclass(frozen=True)
class VitalRange:
    """Hard bounds of one vital sign, per canonical unit (the first unit is assumed when none is given)."""

    measure: str
    loinc: frozenset[str]
    names: frozenset[str]  # whole displays (normalised) that name the measure when the code is not LOINC
    bounds: dict[str, tuple[float, float]]


def _vital(measure: str, loinc: tuple[str, ...], names: tuple[str, ...], **bounds: tuple[float, float]) -> VitalRange:
    return VitalRange(measure, frozenset(loinc), frozenset(names), bounds)


#: Wide on purpose (records measured on living people); the unit keys are canonical (see :data:`UNITS`).
VITALS: tuple[VitalRange, ...] = (
    _vital("heart_rate", ("8867-4", "8889-8"), ("heart rate", "pulse", "pulse rate"), per_min=(20, 300)),
    _vital("respiratory_rate", ("9279-1",), ("respiratory rate", "respiration rate"), per_min=(2, 100)),
    _vital("systolic_bp", ("8480-6",), ("systolic blood pressure",), mmhg=(40, 300)),
    _vital("diastolic_bp", ("8462-4",), ("diastolic blood pressure",), mmhg=(10, 200)),
    _vital("temperature", ("8310-5", "8331-1", "8332-9", "8328-7"),
           ("temperature", "body temperature", "oral temperature"), celsius=(25, 45), fahrenheit=(77, 113)),
    _vital("bmi", ("39156-5",), ("body mass index", "bmi", "body mass index bmi ratio"), kg_m2=(5, 200)),
    _vital("weight", ("29463-7", "3141-9", "8335-2", "8339-4"), ("weight", "body weight", "birth weight"),
           kg=(0.2, 650), g=(200, 650_000), lb=(0.44, 1_430)),
    _vital("height", ("8302-2", "8306-3", "8308-9"), ("height", "body height"),
           cm=(20, 275), m=(0.2, 2.75), inch=(8, 108)),
    _vital("spo2", ("2708-6", "59408-5", "59417-6"), ("oxygen saturation", "blood oxygen saturation",
                                                       "oxygen saturation in arterial blood"), percent=(20, 100)),
)
UNITS: dict[str, str] = {
    "/min": "per_min", "1/min": "per_min", "beats/min": "per_min", "beats/minute": "per_min", "bpm": "per_min",
    "{beats}/min": "per_min", "breaths/min": "per_min", "{breaths}/min": "per_min", "/minute": "per_min",
    "mm[hg]": "mmhg", "mmhg": "mmhg", "mm hg": "mmhg",
    "cel": "celsius", "c": "celsius", "°c": "celsius", "degc": "celsius",
    "[degf]": "fahrenheit", "degf": "fahrenheit", "°f": "fahrenheit", "f": "fahrenheit",
    "kg/m2": "kg_m2", "kg/m^2": "kg_m2", "kg/m²": "kg_m2",
    "kg": "kg", "g": "g", "[lb_av]": "lb", "lb": "lb", "lbs": "lb",
    "cm": "cm", "m": "m", "[in_i]": "inch", "in": "inch",
    "%": "percent",
}


def code_key(events: pd.DataFrame) -> pd.Series:
    """``system|code`` per event: a code's identity across sources (shared with the cohort metrics)."""
    return events["system"].fillna("").astype(str) + "|" + events["code"].fillna("").astype(str)


@dataclass(frozen=True)
class Violation:
    rule: str
    patient_id: str
    event_id: str | None
    detail: str


@dataclass(frozen=True)
class PlausibilityReport:
    """Violations per rule (every rule listed, 0 included) with a few examples each."""

    n_patients: int
    n_events: int
    counts: dict[str, int]
    examples: tuple[Violation, ...] = ()

    @property
    def total(self) -> int:
        return int(sum(self.counts.values()))

    @property
    def per_1000(self) -> dict[str, float]:
        return {rule: self._rate(n) for rule, n in self.counts.items()}

    @property
    def total_per_1000(self) -> float:
        """All violations per 1,000 patients: the number a policy gates on (NaN for an empty cohort)."""
        return self._rate(self.total)

    def _rate(self, n: int) -> float:
        return 1000.0 * n / self.n_patients if self.n_patients else math.nan

    def to_dict(self) -> dict[str, Any]:
        return {"n_patients": self.n_patients, "n_events": self.n_events, "counts": dict(self.counts),
                "per_1000": self.per_1000, "total": self.total, "total_per_1000": self.total_per_1000,
                "rules": dict(RULES), "examples": [vars(v) for v in self.examples]}


def check_plausibility(cohort: Cohort) -> PlausibilityReport:
    """Count every rule's violations in ``cohort`` (vectorised; a 200,000-event cohort takes about a second)."""
    events, patients = cohort.events, cohort.patients.set_index("patient_id")
    found: dict[str, pd.DataFrame] = {}

    def flag(rule: str, rows: pd.DataFrame, detail: pd.Series | str) -> None:
        details = detail if isinstance(detail, pd.Series) else pd.Series(detail, index=rows.index, dtype=object)
        found[rule] = pd.concat([found.get(rule), pd.DataFrame({
            "patient_id": rows["patient_id"], "event_id": rows["event_id"], "detail": details.astype(str)})])

    age = events["age_days"]
    early = events[age < -BIRTH_TOLERANCE_DAYS]
    flag("before_birth", early, early["age_days"].map(lambda d: f"{-d:.0f} days before birth"))

    past_death = age - events["patient_id"].map(patients["deceased_age_days"])
    late = events[past_death > DEATH_TOLERANCE_DAYS]
    flag("after_death", late, past_death[late.index].map(lambda d: f"{d:.0f} days after death"))

    outside, broken = _encounter_checks(events)
    flag("outside_encounter", events.loc[outside.index], outside)
    flag("encounter_link_broken", events.loc[broken], "no such encounter for this patient")

    backwards = events[events["end_age_days"] < events["age_days"] - 1e-9]
    flag("end_before_start", backwards,
         (backwards["age_days"] - backwards["end_age_days"]).map(lambda d: f"ends {d:.1f} days before it starts"))

    odd, majority = _unit_outliers(events)
    flag("unit_inconsistent", events.loc[odd], events.loc[odd, "unit"].astype(str) + " (majority: " + majority + ")")

    wrong = _sex_mismatch(events, patients["sex"])
    flag("sex_specific", events.loc[wrong.index], wrong)

    limit = MAX_AGE_YEARS * 365.25
    old = events[age > limit]
    flag("implausible_age", old, old["age_days"].map(lambda d: f"event at age {d / 365.25:.0f} years"))
    dead_old = patients[patients["deceased_age_days"] > limit].reset_index().assign(event_id=None)
    flag("implausible_age", dead_old, dead_old["deceased_age_days"].map(lambda d: f"died at {d / 365.25:.0f} years"))

    vitals = _vital_outliers(events)
    flag("vital_out_of_range", events.loc[vitals.index], vitals)

    counts = {rule: len(found.get(rule, ())) for rule in RULES}
    examples = tuple(Violation(rule, str(r.patient_id), None if r.event_id is None else str(r.event_id), r.detail)
                     for rule in RULES for r in found[rule].head(MAX_EXAMPLES).itertuples())
    return PlausibilityReport(cohort.n_patients, cohort.n_events, counts, examples)


def _encounter_checks(events: pd.DataFrame) -> tuple[pd.Series, pd.Index]:
    """Contained events outside their encounter (detail by row) and rows whose link resolves to nothing."""
    linked = events[events["encounter_id"].notna() & (events["kind"] != "encounter")]
    encounters = events.loc[events["kind"] == "encounter", ["event_id", "patient_id", "age_days", "end_age_days"]]
    merged = linked[["patient_id", "encounter_id", "age_days"]].reset_index().merge(
        encounters.rename(columns={"event_id": "encounter_id", "age_days": "start", "end_age_days": "end"}),
        on=["patient_id", "encounter_id"], how="left").set_index("index")
    broken = merged.index[merged["start"].isna()]
    merged = merged[merged["start"].notna()]
    end = merged["end"].fillna(merged["start"])  # an encounter without an end is a point in time
    before = merged["start"] - merged["age_days"]
    after = merged["age_days"] - end
    bad = (before > ENCOUNTER_TOLERANCE_DAYS) | (after > ENCOUNTER_TOLERANCE_DAYS)
    detail = np.where(before[bad] > 0, before[bad].map(lambda d: f"{d:.1f} days before its encounter"),
                      after[bad].map(lambda d: f"{d:.1f} days after its encounter ends"))
    return pd.Series(detail, index=merged.index[bad], dtype=object), broken


def _unit_outliers(events: pd.DataFrame) -> tuple[pd.Index, pd.Series]:
    """Rows whose unit differs from their code's majority unit (rows without a unit are not judged)."""
    withunit = events.loc[events["unit"].notna(), ["system", "code", "unit"]]
    if withunit.empty:
        return withunit.index, pd.Series(dtype=object)
    key = code_key(withunit)
    counts = pd.DataFrame({"key": key, "unit": withunit["unit"]}).value_counts()
    top = counts.reset_index().drop_duplicates("key").set_index("key")["unit"]  # value_counts sorts descending
    majority = key.map(top)
    odd = withunit.index[withunit["unit"] != majority]
    return odd, majority[odd]


@lru_cache(maxsize=1)
def sex_specific_lists() -> dict[str, dict[str, Any]]:
    """``{sex: {"codes": {vocabulary: set}, "words": regex, "exclude": regex | None}}`` from the YAML file."""
    raw = yaml.safe_load(SEX_SPECIFIC_FILE.read_text(encoding="utf-8"))
    out = {}
    for sex, spec in raw.items():
        words = spec.get("words") or []
        exclude = spec.get("exclude") or []
        out[sex] = {"codes": {voc: {str(c) for c in codes} for voc, codes in (spec.get("codes") or {}).items()},
                    "words": re.compile(r"\b(?:" + "|".join(words) + ")", re.IGNORECASE) if words else None,
                    "exclude": re.compile(r"\b(?:" + "|".join(exclude) + ")", re.IGNORECASE) if exclude else None}
    return out


def _vocabulary(system: str | None) -> str:
    text = (system or "").lower()
    return next((v for v in ("snomed", "loinc", "rxnorm") if v in text), "")


def _sex_mismatch(events: pd.DataFrame, sex: pd.Series) -> pd.Series:
    """Detail per event whose code or display belongs to the other sex than its patient's."""
    lists = sex_specific_lists()
    cols = ["system", "code", "display"]
    # Judge each distinct (system, code, display) once, then spread the verdict to its events.
    group = events.groupby(cols, dropna=False, sort=False).ngroup().to_numpy()
    distinct = events.drop_duplicates(cols)  # first occurrences, in ngroup order
    owners = np.array([_owner(lists, system, code, display) for system, code, display
                       in zip(distinct["system"], distinct["code"], distinct["display"])], dtype=object)
    if not any(owners):
        return pd.Series(dtype=object)
    owner = pd.Series(owners[group], index=events.index)
    patient_sex = events["patient_id"].map(sex)
    known = patient_sex.isin(list(lists))  # "other" / "unknown" sex is never judged
    wrong = owner.notna() & known & (owner != patient_sex)
    return (owner[wrong] + "-specific " + events.loc[wrong, "display"].fillna(events.loc[wrong, "code"]).astype(str)
            + " for a " + patient_sex[wrong] + " patient")


def _owner(lists: dict[str, dict[str, Any]], system: str | None, code: str | None, display: str | None) -> str | None:
    """The sex a code or display is specific to, if any."""
    display = display or ""
    for owner, spec in lists.items():
        by_code = str(code) in spec["codes"].get(_vocabulary(system), ())
        by_word = bool(spec["words"] and spec["words"].search(display)) and not (
            spec["exclude"] and spec["exclude"].search(display))
        if by_code or by_word:
            return owner
    return None


def _normal_name(display: str | None) -> str:
    text = re.sub(r"\([^)]*\)|\[[^\]]*\]", " ", (display or "").lower())
    return " ".join(re.findall(r"[a-z0-9]+", text))


def _vital_outliers(events: pd.DataFrame) -> pd.Series:
    """Detail per numeric observation outside its vital sign's bounds (unknown units are not judged)."""
    valued = events[(events["kind"] == "observation") & events["value"].notna()]
    if valued.empty:
        return pd.Series(dtype=object)
    by_loinc = {code: v for v in VITALS for code in v.loinc}
    by_name = {name: v for v in VITALS for name in v.names}
    is_loinc = valued["system"].map(_vocabulary) == "loinc"
    names = valued["display"].map(_normal_name)
    maybe = (is_loinc & valued["code"].isin(list(by_loinc))) | names.isin(list(by_name))
    valued, is_loinc, names = valued[maybe], is_loinc[maybe], names[maybe]
    out = {}
    for idx, code, loinc, name, value, unit in zip(valued.index, valued["code"], is_loinc, names, valued["value"],
                                                   valued["unit"]):
        vital = by_loinc.get(code) if loinc else None
        if vital is None:
            vital = by_name.get(name)
            if vital is None or unit is None:  # a name alone is too weak a match without a unit to confirm it
                continue
        canon = next(iter(vital.bounds)) if unit is None else UNITS.get(str(unit).strip().lower())
        if canon not in vital.bounds:
            continue
        lo, hi = vital.bounds[canon]
        if not lo <= value <= hi:
            out[idx] = f"{vital.measure} {value:g} {unit or canon} outside [{lo:g}, {hi:g}]"
    return pd.Series(out, dtype=object)
