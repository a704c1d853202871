"""Which column names the physiologic plausibility table applies to, and which it must leave alone."""

from __future__ import annotations

import pytest

from hygeia.data.plausibility import plausible_range


@pytest.mark.parametrize("name, measure", [
    ("age", "age"), ("age_years", "age"), ("AgeAtDiagnosis", "age"), ("wtkg", "weight"), ("weight", "weight"),
    ("wt_kg", "weight"), ("height_cm", "height"), ("heart_rate", "heart rate"), ("hr", "heart rate"),
    ("pulse", "heart rate"), ("sbp", "systolic blood pressure"), ("diastolic_bp", "diastolic blood pressure"),
    ("temp_c", "body temperature"), ("SpO2", "oxygen saturation"), ("bmi", "BMI"), ("cd40", "a count"),
    ("cd4_count", "a count"), ("wbc", "a count"),
])
def test_names_that_match(name, measure):
    rule = plausible_range(name)
    assert rule is not None and rule.measure == measure


@pytest.mark.parametrize("name", [
    "stage", "age_months", "agegrp", "age_group", "weight_lb", "birthweight_g", "dose_mg_per_kg", "time_hr",
    "hr_change", "temp_f", "bmi_z", "sbp_change", "pulse_pressure", "days", "karnof", "preanti", "pidnum", "wt",
])
def test_names_left_alone(name):
    assert plausible_range(name) is None


def test_bounds():
    age = plausible_range("age")
    assert (age.low, age.high) == (0, 120)
    assert plausible_range("cd420").high is None and plausible_range("cd420").low == 0
