"""Plausibility rules: each one found on a real cohort broken on purpose, and real sources counted honestly.

Real sources are not spotless, and the tests say so: Eunomia holds one drug exposure dated
2,130 days before its patient's birth and 25 conditions/drugs linked to an inpatient visit that
ended months earlier; the Synthea HIV bundles date 118 weight and height observations months
after the encounter they name; the Synthea bulk sample has 2 medications 4-5 days after death and
3 dated a week after their encounter. Every other rule reads 0 on all three.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hygeia.data.longitudinal import Cohort
from hygeia.data.longitudinal.plausibility import RULES, check_plausibility, sex_specific_lists

sys.path.insert(0, str(Path(__file__).parents[2] / "evaluate"))
import cohort_fixtures as cf

_QUIET = ("encounter_link_broken", "end_before_start", "unit_inconsistent", "sex_specific", "implausible_age",
          "vital_out_of_range")


def test_eunomia_counts_its_own_two_flaws_and_nothing_else():
    report = check_plausibility(cf.eunomia_cohort())
    assert report.counts["before_birth"] == 1
    assert {(v.patient_id, v.event_id) for v in report.examples if v.rule == "before_birth"} == {("5002", "drug67534")}
    assert report.counts["outside_encounter"] == 25
    assert all(report.counts[rule] == 0 for rule in _QUIET + ("after_death",))
    assert report.total_per_1000 == pytest.approx(1000 * 26 / 2694)


@pytest.mark.parametrize("folder, flawed", [(str(cf.SYNTHEA_FHIR), {"outside_encounter": 118}),
                                            (str(cf.SYNTHEA_BULK), {"after_death": 2, "outside_encounter": 3})])
def test_synthea_sources(folder, flawed):
    report = check_plausibility(cf.synthea_cohort(folder))
    assert {rule: n for rule, n in report.counts.items() if n} == flawed


@pytest.fixture(scope="module")
def clean() -> Cohort:
    """Synthea HIV patients (encounters, contained vitals with units, both sexes) without the misdated
    weight and height observations, the source's only violations."""
    cohort = cf.synthea_cohort()
    keep = Cohort(cohort.patients, cohort.events[~cohort.events["display"].isin(["Weight", "Height"])])
    assert check_plausibility(keep).total == 0
    return keep


def _broken(cohort: Cohort, events: pd.DataFrame | None = None, patients: pd.DataFrame | None = None) -> Cohort:
    return Cohort(cohort.patients if patients is None else patients, cohort.events if events is None else events)


def _rows(cohort: Cohort, mask: pd.Series, n: int) -> pd.Index:
    index = cohort.events.index[mask.to_numpy()]
    assert len(index) >= n
    return index[:n]


def _only(report, rule: str, n: int) -> None:
    assert report.counts[rule] == n, report.counts
    assert report.total == n
    assert report.per_1000[rule] == pytest.approx(1000 * n / report.n_patients)
    assert {v.rule for v in report.examples} == {rule}


def test_before_birth(clean):
    events = clean.events.copy()
    rows = _rows(clean, events["kind"] == "immunization", 3)
    events.loc[rows, ["age_days", "encounter_id"]] = [-30.0, None]  # unlinked: only this rule can fire
    report = check_plausibility(_broken(clean, events))
    _only(report, "before_birth", 3)
    assert {v.event_id for v in report.examples} == set(events.loc[rows, "event_id"])


def test_after_death(clean):
    patients = clean.patients.copy()
    pid = patients["patient_id"].iloc[0]
    timeline = clean.timeline(pid)
    death = float(timeline["age_days"].median())
    patients.loc[patients["patient_id"] == pid, "deceased_age_days"] = death
    later = timeline[timeline["age_days"] > death + 1]
    # Contained events keep their encounter, so only the after-death rule can fire.
    _only(check_plausibility(_broken(clean, patients=patients)), "after_death", len(later))


def test_contained_event_outside_its_encounter(clean):
    events = clean.events.copy()
    rows = _rows(clean, (events["kind"] == "observation") & events["encounter_id"].notna(), 4)
    events.loc[rows, "age_days"] += 10.0
    _only(check_plausibility(_broken(clean, events)), "outside_encounter", 4)
    events.loc[rows, "age_days"] -= 9.5  # within the one-day tolerance of a same-day encounter
    assert check_plausibility(_broken(clean, events)).total == 0


def test_broken_encounter_link(clean):
    events = clean.events.copy()
    rows = _rows(clean, events["encounter_id"].notna(), 2)
    events.loc[rows, "encounter_id"] = "no-such-encounter"
    _only(check_plausibility(_broken(clean, events)), "encounter_link_broken", 2)


def test_encounter_ending_before_it_starts(clean):
    events = clean.events.copy()
    # The encounter's last one: its contained events still fall inside the (reversed) period's start.
    rows = _rows(clean, events["kind"] == "encounter", 1)
    events.loc[rows, "end_age_days"] = events.loc[rows, "age_days"] - 2.0
    _only(check_plausibility(_broken(clean, events)), "end_before_start", 1)


def test_mixed_units_count_the_minority(clean):
    events = clean.events.copy()
    rows = _rows(clean, events["display"].eq("PULSE") & events["unit"].notna(), 2)
    events.loc[rows, "unit"] = "/s"
    report = check_plausibility(_broken(clean, events))
    _only(report, "unit_inconsistent", 2)
    assert "majority: beats/minute" in report.examples[0].detail


def _add_events(cohort: Cohort, rows: list[dict]) -> Cohort:
    base = {c: None for c in cohort.events.columns}
    extra = pd.DataFrame([{**base, "end_age_days": np.nan, "value": np.nan, **r} for r in rows])
    return _broken(cohort, pd.concat([cohort.events, extra], ignore_index=True))


def test_sex_specific_codes_by_code_and_by_display(clean):
    sexes = clean.patients.set_index("patient_id")["sex"]
    male, female = sexes[sexes == "male"].index[0], sexes[sexes == "female"].index[0]
    snomed = "http://snomed.info/sct"
    added = [
        # by code (display unhelpful), by display (unknown code), and the other sex's list
        {"patient_id": male, "event_id": "x1", "kind": "condition", "system": snomed, "code": "72892002",
         "display": "finding", "age_days": 9000.0},
        {"patient_id": male, "event_id": "x2", "kind": "procedure", "system": "urn:local", "code": "1",
         "display": "Screening for cervical cancer", "age_days": 9000.0},
        {"patient_id": female, "event_id": "x3", "kind": "condition", "system": snomed, "code": "0",
         "display": "Hyperplasia of prostate", "age_days": 9000.0},
        # right sex, and displays that only look sex-specific: never flagged
        {"patient_id": female, "event_id": "ok1", "kind": "condition", "system": snomed, "code": "72892002",
         "display": "Normal pregnancy", "age_days": 9000.0},
        {"patient_id": male, "event_id": "ok2", "kind": "condition", "system": snomed, "code": "2",
         "display": "Sprain of cervical spine ligament", "age_days": 9000.0},
        {"patient_id": male, "event_id": "ok3", "kind": "condition", "system": snomed, "code": "3",
         "display": "Fetal alcohol syndrome", "age_days": 9000.0},
    ]
    report = check_plausibility(_add_events(clean, added))
    _only(report, "sex_specific", 3)
    assert {v.event_id for v in report.examples} == {"x1", "x2", "x3"}


def test_sex_specific_list_loads():
    lists = sex_specific_lists()
    assert set(lists) == {"female", "male"}
    assert "72892002" in lists["female"]["codes"]["snomed"] and "2857-1" in lists["male"]["codes"]["loinc"]


def test_implausible_ages(clean):
    events = clean.events.copy()
    rows = _rows(clean, events["kind"] == "immunization", 2)
    events.loc[rows, ["age_days", "encounter_id"]] = [130 * 365.25, None]
    patients = clean.patients.copy()
    patients.loc[patients.index[-1], "deceased_age_days"] = 200 * 365.25  # dies after all events: no other rule
    report = check_plausibility(_broken(clean, events, patients))
    _only(report, "implausible_age", 3)


def test_vitals_out_of_range_by_loinc_and_by_name(clean):
    pid = clean.patients["patient_id"].iloc[0]
    loinc = "http://loinc.org"
    obs = {"patient_id": pid, "kind": "observation", "age_days": 9000.0}
    added = [
        {**obs, "event_id": "v1", "system": loinc, "code": "8867-4", "display": "Heart rate", "value": 400.0,
         "unit": "/min"},
        {**obs, "event_id": "v2", "system": loinc, "code": "8310-5", "display": "Body temperature", "value": 120.0,
         "unit": "[degF]"},
        {**obs, "event_id": "v3", "system": "urn:local", "code": "9", "display": "Body Weight", "value": 900.0,
         "unit": "kg"},
        {**obs, "event_id": "v4", "system": loinc, "code": "59408-5", "display": "SpO2", "value": 104.0, "unit": "%"},
        # in range once the unit is read, or a unit the table does not know: not flagged
        {**obs, "event_id": "ok1", "system": loinc, "code": "8310-5", "display": "Body temperature", "value": 98.6,
         "unit": "[degF]"},
        {**obs, "event_id": "ok2", "system": loinc, "code": "8302-2", "display": "Body height", "value": 1.75,
         "unit": "m"},
        {**obs, "event_id": "ok3", "system": "urn:local", "code": "9", "display": "Body Weight", "value": 900.0,
         "unit": "stone"},
    ]
    report = check_plausibility(_add_events(clean, added))
    assert report.counts["vital_out_of_range"] == 4
    assert {v.event_id for v in report.examples if v.rule == "vital_out_of_range"} == {"v1", "v2", "v3", "v4"}
    # The odd "stone" unit is the unit rule's business, not the vital rule's.
    assert report.counts["unit_inconsistent"] == 1


def test_empty_cohort_has_no_rate():
    cohort = cf.synthea_cohort()
    report = check_plausibility(cohort.subset([]))
    assert report.total == 0 and math.isnan(report.total_per_1000)
    data = report.to_dict()
    assert set(data["counts"]) == set(RULES) and {"per_1000", "total", "total_per_1000", "examples"} <= set(data)
