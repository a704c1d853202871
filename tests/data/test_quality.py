"""Data-quality checks on the real ACTG 175 table, clean and with realistic damage injected."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from hygeia.data.dataset import Dataset
from hygeia.data.quality import CHECKS, LEAKAGE_SCORE, Finding, check_quality, leakage_scores
from hygeia.data.readers import read_dataset
from hygeia.data.schema import SchemaOverrides
from hygeia.errors import DataError


def _by(findings: list[Finding], check: str) -> dict[str | None, Finding]:
    return {f.column: f for f in findings if f.check == check}


def _damaged(actg175: Dataset, frame: pd.DataFrame) -> Dataset:
    """The same table with edited values, re-inferred like a fresh file."""
    return Dataset.from_frame(frame, source="actg175-damaged")


@pytest.fixture(scope="module")
def findings(actg175) -> list[Finding]:
    return check_quality(actg175, target="cens")


@pytest.fixture(scope="module")
def scores(actg175) -> dict[str, float]:
    return leakage_scores(actg175, "cens")


def test_actg175_findings(findings):
    assert all(f.check in CHECKS and f.severity in ("info", "warning", "error") for f in findings)
    assert set(_by(findings, "constant")) == {"zprior"}
    assert _by(findings, "constant")["zprior"].severity == "warning"
    assert set(_by(findings, "possible_identifier")) == {"Unnamed: 0", "pidnum"}
    for check in ("duplicates", "impossible_values", "all_missing", "heavy_missingness", "few_rows", "mixed_types"):
        assert not _by(findings, check), check


def test_leakage_findings_follow_the_scores(actg175, findings, scores):
    assert set(scores) == set(actg175.schema.modelled) - {"cens"}
    assert all(0.0 <= s <= 1.0 for s in scores.values())
    assert set(_by(findings, "label_leakage")) == {c for c, s in scores.items() if s >= LEAKAGE_SCORE}
    # Follow-up time knows something about the event, the CD4 count at week 20 less, a coin-flip column nothing.
    assert scores["days"] > scores["cd420"] > scores["gender"]


def test_finding_to_dict(findings):
    d = findings[0].to_dict()
    assert set(d) == {"check", "severity", "column", "message", "count"}


def test_cause_of_death_leaks(actg175):
    frame = actg175.frame.copy()
    rng = np.random.default_rng(0)
    died = frame["cens"] == 1
    frame["cause_of_death"] = pd.Series(pd.NA, index=frame.index, dtype=object)
    frame.loc[died, "cause_of_death"] = rng.choice(["AIDS-defining illness", "Pneumocystis pneumonia", "lymphoma",
                                                    "wasting syndrome"], int(died.sum()))
    ds = _damaged(actg175, frame)
    found = _by(check_quality(ds, target="cens"), "label_leakage")
    assert set(found) == {"cause_of_death"}
    auc = float(re.search(r"ROC AUC ([0-9.]+)", found["cause_of_death"].message).group(1))
    assert auc >= 0.99  # missingness alone separates the dead from the censored


def test_categorical_copy_of_the_target_leaks_through_the_encoder(actg175):
    frame = actg175.frame[["age", "wtkg", "cd40", "cens"]].copy()
    rng = np.random.default_rng(3)
    # Eight discharge codes, four of which only the patients with an event have: a one-level split cannot do it.
    frame["disposition"] = np.where(frame["cens"] == 1, rng.choice(list("ABCD"), len(frame)),
                                    rng.choice(list("EFGH"), len(frame)))
    scores = leakage_scores(Dataset.from_frame(frame), "cens")
    assert scores["disposition"] >= 0.99 and scores["age"] < LEAKAGE_SCORE


def test_numeric_copy_of_the_target_leaks(actg175):
    frame = actg175.frame.copy()
    frame["days_to_death"] = frame["days"].where(frame["cens"] == 1)
    assert "days_to_death" in _by(check_quality(_damaged(actg175, frame), target="cens"), "label_leakage")


def test_unknown_target(actg175):
    with pytest.raises(DataError, match="did you mean 'cens'"):
        check_quality(actg175, target="cnes")
    with pytest.raises(DataError, match="never modelled"):
        check_quality(actg175, target="pidnum")


def test_injected_duplicates_are_counted(actg175):
    frame = actg175.frame
    # Re-entered rows get a new row number and patient id: still duplicates on what is modelled.
    extra = frame.iloc[[10, 20, 20, 300, 1500, 1501, 2000]].copy()
    extra["Unnamed: 0"] = np.arange(len(frame) + 1, len(frame) + 1 + len(extra))
    extra["pidnum"] = np.arange(1, len(extra) + 1) + 990_100
    ds = Dataset.from_frame(pd.concat([frame, extra], ignore_index=True), schema=actg175.schema)
    found = _by(check_quality(ds), "duplicates")[None]
    assert found.count == 7 and found.severity == "warning"


def test_impossible_age_and_weight(actg175):
    frame = actg175.frame.copy()
    frame.loc[3, "age"] = 250
    frame.loc[[5, 6], "wtkg"] = [-4.0, 0.0]
    frame.loc[7, "cd40"] = -12
    found = _by(check_quality(Dataset.from_frame(frame, schema=actg175.schema)), "impossible_values")
    assert set(found) == {"age", "wtkg", "cd40"}
    assert found["age"].count == 1 and "250" in found["age"].message
    assert found["wtkg"].count == 2 and "-4" in found["wtkg"].message
    assert found["cd40"].count == 1


def test_declared_bounds_from_schema_file(actg175):
    overrides = SchemaOverrides.model_validate({"columns": {"karnof": {"kind": "integer", "min": 80, "max": 100}}})
    ds = Dataset.from_frame(actg175.frame, overrides=overrides)
    found = _by(check_quality(ds), "impossible_values")["karnof"]
    assert found.severity == "error" and found.count == int((actg175.frame["karnof"] < 80).sum()) > 0
    assert "schema file" in found.message


def test_columns_in_other_units_are_not_flagged_wholesale(actg175):
    frame = actg175.frame[["age", "wtkg", "cens"]].copy()
    frame["height"] = np.random.default_rng(1).normal(1.72, 0.09, len(frame)).round(2)  # metres, not cm
    frame["age_months"] = frame["age"] * 12
    frame["weight_lb"] = frame["wtkg"] * 2.20462
    assert not _by(check_quality(Dataset.from_frame(frame)), "impossible_values")


def test_impossible_dates(actg175):
    frame = actg175.frame[["age", "days", "cens"]].copy()
    start = pd.Timestamp("1989-01-01") + pd.to_timedelta(frame["days"], unit="D")
    frame["enrolled"] = start.dt.strftime("%Y-%m-%d")
    frame.loc[[0, 1], "enrolled"] = ["2091-05-01", "1889-12-31"]
    found = _by(check_quality(Dataset.from_frame(frame)), "impossible_values")["enrolled"]
    assert found.count == 2 and "future" in found.message and "before 1900" in found.message


def test_all_missing_and_heavy_missingness(actg175):
    frame = actg175.frame.copy()
    frame["cd4_week_200"] = np.nan
    frame.loc[frame.index[: int(0.6 * len(frame))], "cd420"] = np.nan
    findings = check_quality(Dataset.from_frame(frame, source="x"))
    assert _by(findings, "all_missing")["cd4_week_200"].severity == "error"
    heavy = _by(findings, "heavy_missingness")
    assert set(heavy) == {"cd420"} and heavy["cd420"].count == int(0.6 * len(frame))
    assert findings[0].severity == "error"  # errors come first


def test_mixed_types_from_a_file(tmp_path, actg175):
    frame = actg175.frame[["pidnum", "age", "wtkg", "cd40", "karnof", "cens"]].copy()
    frame["cd40"] = frame["cd40"].astype(object)
    frame.loc[[4, 40, 400], "cd40"] = ["unknown", "unknown", "not done"]
    frame["karnof"] = frame["karnof"].astype(object)
    frame.loc[frame.index[::3], "karnof"] = "not assessed"  # a third of the values are words
    path = tmp_path / "mixed.csv"
    frame.to_csv(path, index=False)
    found = _by(check_quality(read_dataset(path)), "mixed_types")
    assert set(found) == {"cd40", "karnof"}
    assert found["cd40"].count == 3 and "'unknown'" in found["cd40"].message and "missing" in found["cd40"].message
    assert found["karnof"].count == len(frame.index[::3]) and found["karnof"].severity == "warning"


def test_mixed_types_with_a_given_schema(actg175):
    frame = actg175.frame.copy()
    frame["karnof"] = frame["karnof"].astype(str)
    frame.loc[5, "karnof"] = "n/d"
    found = _by(check_quality(Dataset.from_frame(frame, schema=actg175.schema)), "mixed_types")
    assert found["karnof"].count == 1


def test_few_rows(actg175):
    small = actg175.replace_frame(actg175.frame.head(30))
    found = _by(check_quality(small), "few_rows")[None]
    assert found.severity == "error" and found.count == 30
    assert not _by(check_quality(small, min_rows=20), "few_rows")


def test_words_in_a_date_column(actg175):
    frame = actg175.frame[["age", "days", "cens"]].copy()
    frame["enrolled"] = (pd.Timestamp("1989-01-01") + pd.to_timedelta(frame["days"], unit="D")).dt.strftime("%Y-%m-%d")
    frame.loc[[10, 11], "enrolled"] = "unknown"
    ds = Dataset.from_frame(frame)
    assert ds.schema["enrolled"].kind.value == "datetime"
    found = _by(check_quality(ds), "mixed_types")["enrolled"]
    assert found.count == 2 and "not dates" in found.message
