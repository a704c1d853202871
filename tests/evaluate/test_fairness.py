"""Subgroup fairness on ACTG 175 (gender, race, age bands): dropped or distorted groups are caught."""

from __future__ import annotations

import math

import pytest

from hygeia.evaluate.fairness import MIN_GROUP_ROWS, N_BANDS, fairness_metrics, group_labels
from hygeia.evaluate.utility import run_utility

SENSITIVE = ("gender", "race", "age")


def evaluate(real, synthetic, holdout="default", target="cens"):
    holdout = real.holdout if isinstance(holdout, str) else holdout
    run = run_utility(real.fit, holdout, synthetic, real.enc, target, seed=0) if target else None
    return {m.name: m for m in fairness_metrics(real.fit, holdout, synthetic, real.enc, SENSITIVE, run=run)}


@pytest.fixture(scope="module")
def good(real):
    return evaluate(real, real.fresh)


def test_fresh_real_rows_are_fair(good):
    assert good["fairness.min_representation_ratio"].value > 0.85
    assert good["fairness.worst_group_fidelity_gap"].value < 0.04
    assert good["fairness.worst_group_utility_gap"].value < 0.05


def test_group_table_for_the_report(real, good):
    groups = good["fairness.min_representation_ratio"].detail["groups"]
    keys = {"attribute", "group", "n_train", "n_synthetic", "n_holdout", "share_real", "share_synthetic",
            "fidelity", "fidelity_ceiling", "tstr", "trtr"}
    assert all(set(g) == keys for g in groups)
    assert [g["group"] for g in groups if g["attribute"] == "gender"] == ["0", "1"]
    ages = [g for g in groups if g["attribute"] == "age"]
    assert len(ages) == N_BANDS and all("–" in g["group"] for g in ages)
    assert sum(g["n_train"] for g in ages) == len(real.fit)
    assert all(g["tstr"] is not None and g["trtr"] is not None for g in groups)
    assert good["fairness.worst_group_fidelity_gap"].detail["groups"] == groups


def test_dropped_group_is_caught(real, good):
    dropped = evaluate(real, real.fresh[real.fresh["gender"] != 0])
    ratio = dropped["fairness.min_representation_ratio"]
    assert ratio.value == 0.0 and ratio.detail["worst_group"] == "gender = 0"
    gap = dropped["fairness.worst_group_fidelity_gap"]
    assert gap.value > 0.8 and gap.detail["worst_group"] == "gender = 0"
    row = next(g for g in gap.detail["groups"] if g["attribute"] == "gender" and g["group"] == "0")
    assert row["n_synthetic"] == 0 and row["fidelity"] == 0.0 and row["tstr"] is not None


def test_distorted_group_is_caught(real, good, shuffle):
    fresh = real.fresh
    distorted = shuffle(fresh, rows=fresh["race"] == 1, keep=("race",))
    bad = evaluate(real, distorted)
    gap = bad["fairness.worst_group_fidelity_gap"]
    assert gap.detail["worst_group"] == "race = 1"
    assert gap.value > good["fairness.worst_group_fidelity_gap"].value + 0.025
    assert bad["fairness.min_representation_ratio"].value == good["fairness.min_representation_ratio"].value


def test_small_groups_are_listed_but_not_judged(real):
    hold = real.holdout
    holdout = hold[(hold["race"] == 0) | hold.index.isin(hold.index[hold["race"] == 1][: MIN_GROUP_ROWS - 10])]
    # Drop race == 1 from the synthetic rows too: too few holdout rows to judge, so no failure.
    m = evaluate(real, real.fresh[real.fresh["race"] == 0], holdout=holdout, target=None)
    ratio = m["fairness.min_representation_ratio"]
    assert "race = 1" in ratio.detail["skipped_small_groups"] and "note" in ratio.detail
    assert any(g["group"] == "1" and g["attribute"] == "race" for g in ratio.detail["groups"])
    assert ratio.value > 0.5


def test_without_target_or_sensitive_not_applicable(real):
    m = evaluate(real, real.fresh, target=None)
    util = m["fairness.worst_group_utility_gap"]
    assert math.isnan(util.value) and not util.applicable and util.detail["reason"] == "no target column given"
    none = fairness_metrics(real.fit, real.holdout, real.fresh, real.enc, ())
    assert all(math.isnan(x.value) and not x.applicable for x in none)


def test_without_holdout_gap_is_nan_but_representation_is_measured(real):
    m = evaluate(real, real.fresh, holdout=None, target=None)
    assert math.isnan(m["fairness.worst_group_fidelity_gap"].value)
    assert m["fairness.worst_group_fidelity_gap"].detail["reason"] == "no holdout given"
    assert m["fairness.min_representation_ratio"].value > 0.85


def test_age_bands_come_from_real_quantiles(real):
    bands = group_labels(real.fit, real.enc, "age")(real.fit)
    shares = bands.value_counts(normalize=True)
    assert len(shares) == N_BANDS and shares.min() > 0.15
    assert group_labels(real.fit, real.enc, "race")(real.fit).nunique() == 2
