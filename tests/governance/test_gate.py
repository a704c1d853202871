"""The gate on real data (ACTG 175): passes a faithful copula sample, and FAILS a table that copies
training rows (privacy), one whose columns were shuffled independently (fidelity), and ones that drop or
distort a subgroup (fairness)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from hygeia.data.dataset import Dataset
from hygeia.evaluate import evaluate_synthetic
from hygeia.evaluate.metric import Goal, Metric, Scorecard
from hygeia.generators import make_generator
from hygeia.governance.artifact import Artifact
from hygeia.governance.gate import Gate, Verdict
from hygeia.governance.policy import load_policy, parse_policy

SENSITIVE = ["gender", "race", "age"]


def _artifact(**kw) -> Artifact:
    return Artifact(id="tab-test", kind="synthetic_table", provenance={"generator": "gaussian_copula"}, **kw)


def _verdict(split: tuple[Dataset, Dataset], synthetic: pd.DataFrame) -> Verdict:
    train, holdout = split
    scorecard = evaluate_synthetic(train.frame, holdout.frame, synthetic, train.schema, target="cens",
                                   sensitive=SENSITIVE, seed=0)
    return Gate(load_policy("demo")).check(_artifact(), scorecard)


@pytest.fixture(scope="module")
def copula_sample(actg175_split) -> pd.DataFrame:
    train, _ = actg175_split
    return make_generator("gaussian_copula").fit(train).sample(len(train.frame), seed=1)


def _shuffle_columns(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({c: frame[c].to_numpy()[rng.permutation(len(frame))] for c in frame.columns})


def test_gate_passes_a_faithful_copula_sample(actg175_split, copula_sample) -> None:
    verdict = _verdict(actg175_split, copula_sample)
    assert verdict.passed, verdict.reasons
    assert verdict.gated >= 10


def test_gate_fails_a_copy_of_the_training_rows(actg175_split) -> None:
    train, _ = actg175_split
    verdict = _verdict(actg175_split, train.frame.sample(frac=1.0, random_state=3).reset_index(drop=True))
    assert not verdict.passed
    failed = {r.split(" ")[0] for r in verdict.reasons}
    assert {"privacy.exact_copy_rate", "privacy.mia_auc", "privacy.dcr_share_closer_to_train"} <= failed


def test_gate_fails_independently_shuffled_columns(actg175_split) -> None:
    train, _ = actg175_split
    verdict = _verdict(actg175_split, _shuffle_columns(train.frame, seed=5))
    assert not verdict.passed
    assert any(r.startswith(("fidelity.dependence", "fidelity.detection_auc")) for r in verdict.reasons)
    # Shuffling keeps every marginal: the failure must come from the dependence checks, not the shapes.
    assert verdict.scorecard.get("fidelity.column_shapes").value > 0.95


def test_gate_fails_when_a_subgroup_is_dropped(actg175_split, copula_sample) -> None:
    without_women = copula_sample[copula_sample["gender"] == 1].reset_index(drop=True)  # ACTG 175: gender 0 = female
    verdict = _verdict(actg175_split, without_women)
    assert not verdict.passed
    assert any(r.startswith("fairness.min_representation_ratio") for r in verdict.reasons)


def test_gate_fails_when_a_subgroup_is_distorted(actg175_split, copula_sample) -> None:
    distorted = copula_sample.copy()
    minority = distorted["race"] == 1
    distorted.loc[minority] = _shuffle_columns(distorted.loc[minority], seed=9).to_numpy()
    distorted.loc[minority, "cens"] = np.random.default_rng(2).integers(0, 2, minority.sum())
    verdict = _verdict(actg175_split, distorted)
    assert not verdict.passed
    assert any(r.startswith("fairness.") for r in verdict.reasons)
    base = _verdict(actg175_split, copula_sample).scorecard.value("fairness.worst_group_fidelity_gap")
    assert verdict.scorecard.value("fairness.worst_group_fidelity_gap") > base


def _metric(name: str, value: float, goal: Goal = Goal.MAXIMIZE, applicable: bool = True, **detail) -> Metric:
    return Metric(name=name, value=value, goal=goal, applicable=applicable, detail=detail)


def test_uncomputable_gated_metric_fails_closed() -> None:
    policy = parse_policy("require: [privacy]\nthresholds: {privacy.mia_auc: 0.6}")
    card = Scorecard((_metric("privacy.mia_auc", math.nan, Goal.MINIMIZE, reason="holdout too small"),))
    verdict = Gate(policy).check(_artifact(), card)
    assert not verdict.passed and "holdout too small" in verdict.reasons[0]


def test_required_family_that_was_not_measured_fails() -> None:
    policy = parse_policy("require: [utility]\nthresholds: {utility.tstr_trtr_ratio: 0.8}")
    card = Scorecard((_metric("utility.tstr_trtr_ratio", math.nan, applicable=False, reason="no target column given"),))
    assert not Gate(policy).check(_artifact(), card).passed
    relaxed = parse_policy("require: []\nthresholds: {utility.tstr_trtr_ratio: 0.8}")
    assert Gate(relaxed).check(_artifact(), card).passed


def test_blocking_quality_finding_fails_the_gate() -> None:
    finding = {"check": "duplicates", "severity": "warning", "column": None, "message": "12 duplicate rows"}
    policy = parse_policy("require: []\nblocking_checks: [duplicates]")
    verdict = Gate(policy).check(_artifact(findings=[finding]), Scorecard())
    assert not verdict.passed and "12 duplicate rows" in verdict.reasons[0]


def test_policy_requiring_dp_refuses_a_non_private_generator() -> None:
    policy = parse_policy("require: []\nmax_epsilon: 3")
    assert not Gate(policy).check(_artifact(), Scorecard()).passed
    assert Gate(policy).check(_artifact(privacy_spent={"epsilon": 1.0, "delta": 1e-5}), Scorecard()).passed
    assert not Gate(policy).check(_artifact(privacy_spent={"epsilon": 8.0, "delta": 1e-5}), Scorecard()).passed


def test_gate_fails_the_independent_marginals_baseline(actg175_split) -> None:
    train, _ = actg175_split
    baseline = make_generator("independent_marginals").fit(train).sample(len(train.frame), seed=1)
    verdict = _verdict(actg175_split, baseline)
    assert not verdict.passed
    assert any(r.startswith("fidelity.dependence") for r in verdict.reasons)
