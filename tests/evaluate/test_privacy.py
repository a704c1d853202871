"""Privacy on ACTG 175: copied training rows are caught; fresh real rows look like unseen patients."""

from __future__ import annotations

import math

import pytest

from hygeia.evaluate.encoding import Encoding
from hygeia.evaluate.privacy import privacy_metrics


def by_name(metrics):
    return {m.name: m for m in metrics}


def test_fresh_real_rows_are_as_far_from_train_as_unseen_rows(real):
    m = by_name(privacy_metrics(real.fit, real.holdout, real.fresh, real.enc, seed=0))
    assert m["privacy.exact_copy_rate"].value == 0.0
    assert m["privacy.exact_copy_rate"].reference == 0.0 and m["privacy.exact_copy_rate"].reference_label
    assert abs(m["privacy.dcr_share_closer_to_train"].value - 0.5) < 0.06
    assert 0.85 < m["privacy.dcr_ratio"].value < 1.15
    assert abs(m["privacy.mia_auc"].value - 0.5) < 0.06


def test_unequal_train_and_holdout_sizes_do_not_bias_the_share(real):
    """Train 1,100 rows vs holdout 642: compared in full, fresh rows look 0.62 "closer to train"."""
    train, fresh = real.train.iloc[:1100], real.train.iloc[1100:]
    m = by_name(privacy_metrics(train, real.holdout, fresh, Encoding.fit(train, real.schema), seed=0))
    share = m["privacy.dcr_share_closer_to_train"]
    assert share.detail["n_train_sample"] == share.detail["n_holdout_sample"] == len(real.holdout)
    assert abs(share.value - 0.5) < 0.06


def test_copied_training_rows_are_caught(real):
    train = real.train
    m = by_name(privacy_metrics(train, real.holdout, train.sample(frac=1.0, random_state=3), real.enc, seed=0))
    assert m["privacy.exact_copy_rate"].value == 1.0
    assert m["privacy.mia_auc"].value > 0.95
    assert m["privacy.dcr_ratio"].value < 0.6
    # Equal-size samples: a copy of a train row outside the train sample looks fresh, so a pure
    # copier scores 0.5 + 0.5 * n_sample / n_train here (documented in the metric's detail).
    share = m["privacy.dcr_share_closer_to_train"]
    assert share.value > 0.65
    assert share.value == pytest.approx(share.detail["copier_share"], abs=0.05)


def test_copies_score_one_when_train_and_holdout_are_equal_size(real):
    train = real.train.iloc[: len(real.holdout)]
    enc = Encoding.fit(train, real.schema)
    m = by_name(privacy_metrics(train, real.holdout, train, enc, seed=0))
    assert m["privacy.dcr_share_closer_to_train"].value > 0.98
    assert m["privacy.dcr_ratio"].value == 0.0


def test_near_copies_are_closer_to_train(real):
    """Copies with one column re-drawn are not exact copies, yet sit next to their source rows."""
    near = real.fit.copy()
    near["wtkg"] = near["wtkg"].sample(frac=1.0, random_state=0).to_numpy()
    m = by_name(privacy_metrics(real.fit, real.holdout, near, real.enc, seed=0))
    assert m["privacy.exact_copy_rate"].value < 0.01
    assert m["privacy.dcr_share_closer_to_train"].value > 0.8
    assert m["privacy.mia_auc"].value > 0.8


def test_histogram_for_the_report(real):
    hist = by_name(privacy_metrics(real.fit, real.holdout, real.fresh, real.enc))[
        "privacy.dcr_share_closer_to_train"].detail["histogram"]
    edges = hist["edges"]
    assert edges == sorted(edges) and len(hist["synthetic_to_train"]) == len(edges) - 1
    assert sum(hist["holdout_to_train"]) == min(len(real.fit), len(real.holdout))
    assert sum(hist["synthetic_to_train"]) == len(real.fresh)


def test_no_holdout_gives_nan_with_reason_never_zero(real):
    metrics = privacy_metrics(real.fit, None, real.fresh, real.enc, holdout_reason="no holdout given")
    assert len(metrics) == 4
    assert all(math.isnan(m.value) and m.applicable and m.detail["reason"] == "no holdout given" for m in metrics)
