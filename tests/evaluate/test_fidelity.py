"""Fidelity metrics on ACTG 175: a fresh real sample scores like the real ceiling, broken data does not."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hygeia.evaluate.fidelity import DEPENDENCE_THRESHOLD, column_shapes, fidelity_metrics, pair_scores


def by_name(metrics):
    return {m.name: m for m in metrics}


@pytest.fixture(scope="module")
def fresh(real):
    return by_name(fidelity_metrics(real.fit, real.holdout, real.fresh, real.enc, seed=0))


@pytest.fixture(scope="module")
def shuffled(real, shuffle):
    return by_name(fidelity_metrics(real.fit, real.holdout, shuffle(real.fit), real.enc, seed=0))


def test_fresh_real_sample_scores_close_to_its_ceiling(fresh):
    for name in ("fidelity.column_shapes", "fidelity.pair_trends", "fidelity.dependence", "fidelity.overall"):
        metric = fresh[name]
        assert metric.reference_label == "real holdout"
        assert metric.value > 0.9 and abs(metric.value - metric.reference) < 0.03, name
    assert fresh["fidelity.detection_auc"].value < 0.6
    assert 0.5 <= fresh["fidelity.detection_auc"].reference < 0.6


def test_shuffled_columns_keep_shapes_but_lose_dependence(fresh, shuffled):
    assert shuffled["fidelity.column_shapes"].value > 0.99  # the same values, only re-paired
    assert shuffled["fidelity.dependence"].value < fresh["fidelity.dependence"].value - 0.1
    assert shuffled["fidelity.dependence"].value < shuffled["fidelity.dependence"].reference - 0.1
    # The plain pair mean barely moves: why fidelity.dependence exists.
    assert shuffled["fidelity.pair_trends"].value > fresh["fidelity.dependence"].value - 0.1 > \
        shuffled["fidelity.dependence"].value
    assert shuffled["fidelity.detection_auc"].value > 0.9


def test_dependent_pairs_follow_the_documented_rule(real, fresh):
    pairs = fresh["fidelity.dependence"].detail["pairs"]
    assert pairs and all(p["association"] >= DEPENDENCE_THRESHOLD for p in pairs)
    named = {(p["a"], p["b"]) for p in pairs}
    assert ("treat", "arms") in named and ("cd80", "cd820") in named  # arms fixes treat; CD8 at 0 and 20 weeks
    assert ("hemo", "karnof") not in named


def test_detail_carries_per_column_scores_and_heatmap(real, fresh):
    shapes = fresh["fidelity.column_shapes"].detail["columns"]
    assert set(shapes) == set(real.enc.columns)
    corr = fresh["fidelity.pair_trends"].detail["correlation_difference"]
    n = len(corr["columns"])
    assert n == len(real.enc.columns) and len(corr["matrix"]) == n and all(len(row) == n for row in corr["matrix"])
    assert corr["matrix"][0][0] == 0.0
    # zprior is constant in ACTG 175: its correlations are undefined, shown as None rather than 0.
    z = corr["columns"].index("zprior")
    assert corr["matrix"][z][0] is None


def test_missing_column_scores_zero_and_is_named(real):
    synthetic = real.fresh.drop(columns=["wtkg"])
    metrics = by_name(fidelity_metrics(real.fit, None, synthetic, real.enc, holdout_reason="no holdout given"))
    shapes = metrics["fidelity.column_shapes"]
    assert shapes.detail["columns"]["wtkg"] == 0.0
    assert shapes.detail["missing_columns"] == ["wtkg"]
    assert metrics["fidelity.missingness"].detail["columns"]["wtkg"]["score"] == 0.0
    full = np.mean([v for c, v in shapes.detail["columns"].items() if c != "wtkg"])
    assert shapes.value == pytest.approx(full * (len(real.enc.columns) - 1) / len(real.enc.columns))
    # Without a holdout there is no ceiling, and the metrics say why instead of inventing one.
    for metric in metrics.values():
        assert metric.computed
        assert metric.reference is None and metric.detail["reference_reason"] == "no holdout given"


def test_missingness_sees_extra_holes(real, fresh):
    holed = real.fresh.copy()
    holed.loc[holed.sample(frac=0.5, random_state=0).index, ["wtkg", "karnof"]] = np.nan
    base = fresh["fidelity.missingness"].value
    worse = by_name(fidelity_metrics(real.fit, None, holed, real.enc))["fidelity.missingness"].value
    assert base > 0.99
    assert worse == pytest.approx(base - 2 * 0.5 / len(real.enc.columns), abs=0.01)


def test_categorical_shift_lowers_its_column_score(real):
    shifted = real.fresh.copy()
    shifted["karnof"] = 100  # every patient at full Karnofsky score
    scores = column_shapes(real.fit, shifted, real.enc)
    honest = column_shapes(real.fit, real.fresh, real.enc)
    share_100 = (real.fit["karnof"] == 100).mean()
    assert scores["karnof"] == pytest.approx(share_100, abs=1e-9)  # 1 - TV of a point mass
    assert honest["karnof"] > 0.95


def test_other_representations_of_the_same_values_score_the_same(real):
    """A generator may return floats for integers or True/False for 0/1 flags: same data, same score."""
    recoded = real.fresh.astype(float)
    for col in ("gender", "race", "hemo"):
        recoded[col] = recoded[col].astype(bool)
    same = pair_scores(real.fit, real.fresh, real.enc)["similarity"]
    other = pair_scores(real.fit, recoded, real.enc)["similarity"]
    assert np.allclose(same, other)
    assert column_shapes(real.fit, recoded, real.enc) == pytest.approx(column_shapes(real.fit, real.fresh, real.enc))


def test_invented_category_counts_as_difference(real):
    odd = real.fresh.copy()
    odd["strat"] = odd["strat"].astype(object)
    odd.loc[: len(odd) // 2, "strat"] = "unknown"
    assert column_shapes(real.fit, odd, real.enc)["strat"] < 0.6
    assert not math.isnan(pair_scores(real.fit, odd, real.enc)["similarity"].mean())
