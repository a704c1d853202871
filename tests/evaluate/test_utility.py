"""Utility on ACTG 175: real-like rows predict the outcome as well as real rows; a shuffled target does not."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hygeia.evaluate.utility import NAMES, UtilityRun, run_utility, utility_metrics


def scores(real, synthetic, target="cens"):
    run = run_utility(real.fit, real.holdout, synthetic, real.enc, target, seed=0)
    assert isinstance(run, UtilityRun)
    return run, {m.name: m for m in utility_metrics(run)}


def test_real_like_rows_reach_the_real_ceiling(real):
    run, m = scores(real, real.fresh)
    assert run.task == "classification" and run.classes == ("0", "1")
    assert m["utility.trtr"].value > 0.85  # days and CD4 predict the event well
    assert abs(m["utility.tstr"].value - m["utility.trtr"].value) < 0.05
    assert m["utility.tstr"].reference == m["utility.trtr"].value
    assert m["utility.tstr"].reference_label == "train on real"
    assert m["utility.baseline"].value == pytest.approx(0.5)
    assert m["utility.tstr_trtr_ratio"].value > 0.95
    assert m["utility.lift_over_baseline"].value > 0.85


def test_shuffled_target_predicts_nothing(real):
    broken = real.fresh.copy()
    broken["cens"] = np.random.default_rng(0).permutation(broken["cens"].to_numpy())
    _, m = scores(real, broken)
    assert abs(m["utility.tstr"].value - 0.5) < 0.1
    assert m["utility.tstr_trtr_ratio"].value < 0.65
    assert m["utility.lift_over_baseline"].value < 0.25


def test_single_class_synthetic_target_is_nan_with_reason(real):
    one_class = real.fresh[real.fresh["cens"] == 0]
    _, m = scores(real, one_class)
    assert math.isnan(m["utility.tstr"].value)
    assert "single class" in m["utility.tstr"].detail["reason"]
    assert not math.isnan(m["utility.trtr"].value)  # the real model is still scored
    assert math.isnan(m["utility.lift_over_baseline"].value)
    assert m["utility.lift_over_baseline"].detail["reason"] == m["utility.tstr"].detail["reason"]


def test_numeric_target_uses_r2_against_a_mean_baseline(real):
    run, m = scores(real, real.fresh, target="cd420")
    assert run.task == "regression" and run.scoring == "r2"
    assert abs(m["utility.baseline"].value) < 0.02  # the train mean explains nothing
    assert m["utility.trtr"].value > 0.3  # CD4 at week 20 follows baseline CD4
    assert abs(m["utility.tstr"].value - m["utility.trtr"].value) < 0.1
    noisy = real.fresh.copy()
    noisy["cd420"] = np.random.default_rng(0).permutation(noisy["cd420"].to_numpy())
    _, bad = scores(real, noisy, target="cd420")
    assert bad["utility.tstr"].value < 0.05
    assert bad["utility.lift_over_baseline"].value < 0.1


def test_multiclass_target_uses_macro_auc(real):
    run, m = scores(real, real.fresh, target="arms")
    assert len(run.classes) == 4 and run.trtr.shape == (len(run.y_true), 4)
    assert 0.5 < m["utility.trtr"].value <= 1.0
    assert abs(m["utility.tstr"].value - m["utility.trtr"].value) < 0.05


def test_not_applicable_without_target():
    metrics = utility_metrics(None, reason="no target column given", applicable=False)
    assert [m.name for m in metrics] == list(NAMES)
    assert all(math.isnan(m.value) and not m.applicable and m.detail["reason"] == "no target column given"
               for m in metrics)


def test_target_missing_from_synthetic(real):
    _, m = scores(real, real.fresh.drop(columns=["cens"]))
    assert math.isnan(m["utility.tstr"].value)
    assert "lacks the target column" in m["utility.tstr"].detail["reason"]
