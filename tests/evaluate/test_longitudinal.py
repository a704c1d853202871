"""Cohort evaluation on real Eunomia histories: a perfect generator scores like the ceiling, bad ones fail.

The Eunomia train cohort is cut in two: ``fit`` plays the patients a generator learned from and
``fresh`` the output of a perfect generator (real patients it never saw). Bad candidates are real
histories rearranged: copied, time-shuffled, one sex only, independent events (the baseline).
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from hygeia.data.longitudinal import Cohort
from hygeia.evaluate.longitudinal import (COHORT_METRIC_NAMES, FIDELITY_NAMES, evaluate_cohort, fairness_metrics,
                                          fidelity_metrics, plausibility_metric, reference_sample)
from hygeia.evaluate.longitudinal_privacy import dcr_share, privacy_metrics
from hygeia.evaluate.longitudinal_utility import utility_metrics
from hygeia.evaluate.metric import Goal

sys.path.insert(0, str(Path(__file__).parent))
import cohort_fixtures as cf


@pytest.fixture(scope="module")
def real() -> SimpleNamespace:
    train, holdout = cf.eunomia_split()
    fit, fresh = train.split(0.5, seed=1)
    return SimpleNamespace(train=train, holdout=holdout, fit=fit, fresh=cf.relabel(fresh))


@pytest.fixture(scope="module")
def card(real):
    """The perfect generator's scorecard, with the independent-events baseline beside it."""
    return evaluate_cohort(real.fit, real.holdout, real.fresh, seed=0,
                           baseline=cf.independent(real.fit, real.fresh.n_patients))


def test_scorecard_lists_every_declared_metric_with_its_meaning(card):
    assert [m.name for m in card] == list(COHORT_METRIC_NAMES)
    assert len(set(COHORT_METRIC_NAMES)) == len(COHORT_METRIC_NAMES)
    for m in card:
        assert m.description and isinstance(m.goal, Goal)
        assert m.family in {"fidelity", "utility", "privacy", "fairness", "plausibility"}
        if m.computed:
            # a subgroup's fidelity may beat its own noisy ceiling a little (the gap dips below 0), and a
            # synthetic-trained model may beat the real-trained one (the ratio passes 1)
            high = math.inf if m.name.endswith("_ratio") else m.max_value + 1e-9
            assert m.min_value - 0.05 <= m.value <= high, m.name
        else:
            assert m.detail["reason"], m.name
    lab = card.get("fidelity.lab_values")
    assert not lab.computed and "numeric values" in lab.detail["reason"]  # Eunomia has no measurement values


def test_unseen_real_patients_score_like_the_ceiling(card):
    for name in FIDELITY_NAMES:
        m = card.get(name)
        if m.computed:
            assert m.reference_label == "real holdout"
            assert m.value == pytest.approx(m.reference, abs=0.03), name
    assert 0.4 < card.value("privacy.dcr_share_closer_to_train") < 0.6
    copies = card.get("privacy.exact_trajectory_copies")
    assert copies.value == copies.reference == 0.0
    assert card.value("utility.next_event_trtr") > 0.6
    assert 0.85 < card.value("utility.next_event_ratio") < 1.2
    assert card.get("utility.next_event_tstr").detail["target_display"]
    assert card.value("fairness.min_representation_ratio") > 0.85
    assert card.value("fairness.worst_group_fidelity_gap") < 0.05


def test_baseline_sits_beside_every_metric_and_scores_worse(card):
    assert all("baseline" in m.detail for m in card)
    overall = card.get("fidelity.temporal_overall")
    assert overall.detail["baseline"] < overall.value - 0.05
    assert card.get("fidelity.time_gaps").detail["baseline"] < 0.7
    # Independent events: each patient's age at the last event is the pooled maximum, so children vanish.
    assert card.get("fairness.min_representation_ratio").detail["baseline"] < 0.5
    assert card.get("plausibility.violations_per_1000").detail["baseline"] > 50


def test_holdout_as_synthetic_scores_exactly_the_reference(real):
    for m in fidelity_metrics(real.train, real.holdout, real.holdout):
        assert (not m.computed) or m.value == pytest.approx(m.reference), m.name


def test_copier_is_caught_by_every_privacy_metric(real):
    copy = cf.relabel(real.train)
    dcr, copies, rare = privacy_metrics(real.train, real.holdout, reference_sample(real.holdout, copy, 0), copy)
    assert dcr.value > 0.99
    # Equal-size samples would cap a full copier well below 1 (the table convention).
    assert dcr.detail["equal_size_share"] == pytest.approx(dcr.detail["equal_size_copier_share"], abs=0.03)
    assert copies.value == 1.0 and copies.reference == 0.0
    assert rare.value == 1.0 and rare.reference < 0.8 and rare.detail["n_rare_codes"] > 10


def test_partial_copier_moves_the_size_corrected_share(real):
    # 40% copies of training patients, 60% unseen ones, judged with a holdout a third of train's size.
    n = int(0.4 * real.fresh.n_patients)
    copied = cf.relabel(real.fit.subset(real.fit.patients["patient_id"][:n]), "copy")
    unseen = real.fresh.subset(real.fresh.patients["patient_id"][n:])
    mixed = Cohort(pd.concat([copied.patients, unseen.patients]), pd.concat([copied.events, unseen.events]))
    small_holdout = real.holdout.subset(real.holdout.patients["patient_id"][:300])
    m = dcr_share(real.fit, small_holdout, mixed)
    assert m.value > 0.6 > m.detail["equal_size_share"]


def test_one_sex_fails_representation(real):
    ratio, gap = fairness_metrics(real.fit, real.holdout, cf.only_sex(real.fresh, "female"))
    assert ratio.value == 0.0 and ratio.detail["worst_group"] == "sex = male"
    assert gap.value > 0.8 and gap.detail["worst_group"] == "sex = male"


def test_one_group_only_is_still_judged(real):
    women = [cf.only_sex(c, "female") for c in (real.fit, real.holdout, real.fresh)]
    ratio, gap = fairness_metrics(*women)
    assert ratio.computed and gap.computed
    assert {g["group"] for g in ratio.detail["groups"] if g["attribute"] == "sex"} == {"female"}


def test_shuffled_times_lose_time_fidelity_and_utility(real):
    shuffled = cf.shuffle_times(real.fresh)
    good = {m.name: m for m in fidelity_metrics(real.fit, real.holdout, real.fresh)}
    bad = {m.name: m for m in fidelity_metrics(real.fit, real.holdout, shuffled)}
    assert bad["fidelity.time_gaps"].value < good["fidelity.time_gaps"].reference - 0.15
    assert bad["fidelity.age_at_first_diagnosis"].value < good["fidelity.age_at_first_diagnosis"].value - 0.1
    assert bad["fidelity.code_frequency"].value == pytest.approx(good["fidelity.code_frequency"].value)
    tstr, trtr, ratio = utility_metrics(real.fit, real.holdout, shuffled)
    assert tstr.value < trtr.value - 0.1 and ratio.value < 0.85
    plaus = plausibility_metric(real.fit, shuffled)
    assert plaus.value > 10 * plaus.reference


def test_lab_values_on_synthea_vitals():
    cohort = cf.synthea_cohort()
    train, holdout = cohort.split(0.3, seed=0)
    copy = {m.name: m for m in fidelity_metrics(train, holdout, cf.relabel(train))}
    assert copy["fidelity.lab_values"].value == 1.0 and copy["fidelity.lab_values"].reference < 1.0
    events = train.events.copy()
    numeric = events["value"].notna()
    events.loc[numeric, "value"] = np.random.default_rng(0).permutation(events.loc[numeric, "value"].to_numpy())
    mixed = {m.name: m for m in fidelity_metrics(train, holdout, Cohort(train.patients, events))}
    assert mixed["fidelity.lab_values"].value < copy["fidelity.lab_values"].reference - 0.3


def test_utility_target_can_be_fixed_and_must_exist(real):
    chosen = utility_metrics(real.fit, real.holdout, real.fresh)[1].detail["target"]
    fixed = utility_metrics(real.fit, real.holdout, real.fresh, target=chosen.split("|")[-1])
    assert fixed[1].detail["target"] == chosen and fixed[1].detail["target_choice"] == "given"
    missing = utility_metrics(real.fit, real.holdout, real.fresh, target="no-such-code")
    assert all(not m.computed and "no-such-code" in m.detail["reason"] for m in missing)


def test_degenerate_synthetic_cohorts_give_reasons_not_crashes(real):
    small_train, small_holdout = cf.synthea_cohort().split(0.3, seed=0)
    empty = small_train.subset([])
    card = evaluate_cohort(small_train, small_holdout, empty, baseline=empty)
    assert [m.name for m in card] == list(COHORT_METRIC_NAMES)
    assert all(not m.computed and m.detail["reason"] for m in card)
    no_events = Cohort(small_train.patients.head(10), small_train.events.iloc[:0])
    card = evaluate_cohort(small_train, small_holdout, no_events)
    assert card.value("fidelity.code_frequency") == 0.0 and card.value("fidelity.cooccurrence") == 0.0
    assert "no synthetic patient has any event" in card.get("privacy.dcr_share_closer_to_train").detail["reason"]
    # 18 holdout patients: too few to judge a group's fidelity, enough training patients to judge its share
    assert math.isnan(card.value("fairness.worst_group_fidelity_gap"))
    assert card.get("fairness.min_representation_ratio").computed
