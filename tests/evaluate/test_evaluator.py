"""`evaluate_synthetic` end to end on ACTG 175: every named metric, sane values, clear errors."""

from __future__ import annotations

import math

import pytest

from hygeia.errors import EvaluationError, HygeiaError
from hygeia.evaluate import Scorecard, evaluate_synthetic
from hygeia.evaluate.catalog import TABLE_METRIC_NAMES
from hygeia.evaluate.evaluator import MIN_HOLDOUT_ROWS

SENSITIVE = ["gender", "race", "age"]


@pytest.fixture(scope="module")
def card(real) -> Scorecard:
    return evaluate_synthetic(real.fit, real.holdout, real.fresh, real.schema, target="cens", sensitive=SENSITIVE)


def test_every_catalogued_metric_in_order(card):
    assert [m.name for m in card] == list(TABLE_METRIC_NAMES)


def test_fresh_real_rows_pass_for_the_right_reasons(card):
    assert all(m.computed and m.applicable for m in card), [m.name for m in card if not m.computed]
    assert card.value("fidelity.overall") > 0.9
    assert card.value("fidelity.detection_auc") < 0.6
    assert card.value("utility.lift_over_baseline") > 0.85
    assert card.value("privacy.exact_copy_rate") == 0.0
    assert abs(card.value("privacy.mia_auc") - 0.5) < 0.06
    assert card.value("fairness.min_representation_ratio") > 0.85


def test_scorecard_round_trips_through_json(card, tmp_path):
    card.save(tmp_path / "card.json")
    again = Scorecard.load(tmp_path / "card.json")
    assert [m.name for m in again] == [m.name for m in card]
    assert again.value("fidelity.dependence") == pytest.approx(card.value("fidelity.dependence"))
    assert again.get("fairness.worst_group_fidelity_gap").detail["groups"] == \
        card.get("fairness.worst_group_fidelity_gap").detail["groups"]


def test_without_holdout_holdout_metrics_are_nan_with_reason(real):
    card = evaluate_synthetic(real.fit, None, real.fresh, real.schema, target="cens")
    for name in ("utility.tstr", "utility.lift_over_baseline", "privacy.dcr_share_closer_to_train",
                 "privacy.mia_auc"):
        metric = card.get(name)
        assert math.isnan(metric.value) and metric.applicable and "no holdout" in metric.detail["reason"]
    assert card.get("fidelity.overall").computed and card.get("fidelity.overall").reference is None
    assert not card.get("fairness.min_representation_ratio").applicable  # no sensitive attributes given


def test_too_small_holdout_is_treated_as_none(real):
    card = evaluate_synthetic(real.fit, real.holdout.head(MIN_HOLDOUT_ROWS - 1), real.fresh, real.schema)
    metric = card.get("privacy.mia_auc")
    assert math.isnan(metric.value) and f"only {MIN_HOLDOUT_ROWS - 1} rows" in metric.detail["reason"]
    utility = card.get("utility.tstr")
    assert not utility.applicable and utility.detail["reason"] == "no target column given"


def test_column_missing_from_synthetic_fails_fidelity_only(real):
    card = evaluate_synthetic(real.fit, None, real.fresh.drop(columns=["cd420"]), real.schema)
    shapes = card.get("fidelity.column_shapes")
    assert shapes.detail["missing_columns"] == ["cd420"] and shapes.detail["columns"]["cd420"] == 0.0
    assert shapes.value < 0.97


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"target": "cnes"}, "unknown target column 'cnes' (did you mean 'cens'?)"),
    ({"sensitive": ["gender", "rase"]}, "unknown sensitive column 'rase' (did you mean 'race'?)"),
])
def test_unknown_columns_are_named_with_a_suggestion(real, kwargs, message):
    with pytest.raises(EvaluationError) as err:
        evaluate_synthetic(real.fit, real.holdout, real.fresh, real.schema, **kwargs)
    assert str(err.value) == message and isinstance(err.value, HygeiaError)


@pytest.mark.parametrize(("make", "message"), [
    (lambda r: (r.fresh.add_suffix("_x"), r.holdout), "the synthetic table shares no column with the real one"),
    (lambda r: (r.fresh.head(0), r.holdout), "the synthetic table has no rows"),
    (lambda r: (r.fresh, r.holdout.drop(columns=["age"])), "the holdout lacks column 'age'"),
])
def test_unusable_tables_are_one_line_errors(real, make, message):
    synthetic, holdout = make(real)
    with pytest.raises(EvaluationError) as err:
        evaluate_synthetic(real.fit, holdout, synthetic, real.schema, target="cens")
    assert str(err.value).startswith(message) and "\n" not in str(err.value)
