"""The contract every registered sequence generator honours, checked for all at once.

Each is fitted once (quick settings) on the real Synthea HIV cohort with deaths added to a
third of the patients (59 patients, about 300 events each: encounters with contained vitals,
labs with units, coded answers, immunizations).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from sequence_fixtures import assert_plausible, with_deaths

from hygeia.data.longitudinal import EVENT_COLUMNS, PATIENT_COLUMNS, Cohort
from hygeia.errors import GeneratorError
from hygeia.generators import REGISTRY, Generator, make_generator
from hygeia.generators.sequence import (
    SEQUENCE_REGISTRY,
    SequenceGenerator,
    make_sequence_generator,
)

NAMES = sorted(SEQUENCE_REGISTRY)


def quick(name: str) -> dict:
    return dict(SEQUENCE_REGISTRY[name].quick_params)


@pytest.fixture(scope="module", params=NAMES)
def fitted(request: pytest.FixtureRequest) -> SequenceGenerator:
    model = make_sequence_generator(request.param, **quick(request.param))
    assert model.fit(with_deaths()) is model
    return model


def test_registries_are_apart_and_complete(fitted: SequenceGenerator) -> None:
    assert {"markov", "sequence_gru"} <= set(SEQUENCE_REGISTRY)
    assert not set(SEQUENCE_REGISTRY) & set(REGISTRY)  # the table contract tests iterate REGISTRY
    assert SEQUENCE_REGISTRY[fitted.name] is type(fitted) and fitted.summary.strip()
    rebuilt = make_sequence_generator(fitted.name, **fitted.get_params())
    assert rebuilt.get_params() == fitted.get_params()


def test_sample_is_a_cohort_of_new_patients(fitted: SequenceGenerator) -> None:
    synthetic = fitted.sample(40, seed=0)
    assert isinstance(synthetic, Cohort) and synthetic.n_patients == 40
    assert list(synthetic.patients.columns) == list(PATIENT_COLUMNS)
    assert list(synthetic.events.columns) == list(EVENT_COLUMNS)
    assert synthetic.patients["patient_id"].tolist() == [f"S{i:05d}" for i in range(1, 41)]
    assert synthetic.n_events > 40 and set(synthetic.events["patient_id"]) <= set(synthetic.patients["patient_id"])
    assert set(synthetic.events["kind"]) >= {"encounter", "observation", "immunization"}
    assert_plausible(synthetic, reference=with_deaths())


def test_same_seed_same_cohort_other_seed_other_cohort(fitted: SequenceGenerator) -> None:
    first = fitted.sample(30, seed=5)
    again = fitted.sample(30, seed=5)
    pd.testing.assert_frame_equal(first.patients, again.patients)
    pd.testing.assert_frame_equal(first.events, again.events)
    other = fitted.sample(30, seed=6)
    assert not (first.events.shape == other.events.shape and first.events.equals(other.events))


def test_save_load_round_trip(fitted: SequenceGenerator, tmp_path: Path) -> None:
    path = tmp_path / "model.pkl"
    fitted.save(path)
    loaded = SequenceGenerator.load(path)
    assert type(loaded) is type(fitted) and isinstance(type(fitted).load(path), type(fitted))
    pd.testing.assert_frame_equal(loaded.sample(20, seed=3).events, fitted.sample(20, seed=3).events)
    with pytest.raises(GeneratorError, match="not"):
        Generator.load(path)  # a sequence model is no table generator


def test_a_saved_table_generator_is_refused(tmp_path: Path, actg175) -> None:
    path = tmp_path / "table.pkl"
    make_generator("independent_marginals").fit(actg175).save(path)
    with pytest.raises(GeneratorError, match="SequenceGenerator"):
        SequenceGenerator.load(path)
    with pytest.raises(GeneratorError, match="no saved generator"):
        SequenceGenerator.load(tmp_path / "missing.pkl")


@pytest.mark.parametrize("name", NAMES)
def test_sample_before_fit_raises(name: str) -> None:
    with pytest.raises(GeneratorError, match="not fitted"):
        make_sequence_generator(name).sample(10)


@pytest.mark.parametrize("n", [0, -5, 2.5, True])
def test_bad_patient_count_raises(fitted: SequenceGenerator, n: object) -> None:
    with pytest.raises(GeneratorError, match="patients to sample"):
        fitted.sample(n)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("bad", [{"min_code_patients": 0}, {"time_bins": "16"}, {"value_bins": 0},
                                 {"offset_bins": 2.5}, {"max_length": 1}, {"random_state": -1}])
def test_bad_shared_params_raise_at_fit(name: str, bad: dict) -> None:
    with pytest.raises(GeneratorError, match=next(iter(bad))):
        make_sequence_generator(name, **bad).fit(with_deaths())


@pytest.mark.parametrize("name", NAMES)
def test_unknown_param_and_wrong_input_raise(name: str, actg175) -> None:
    with pytest.raises(GeneratorError, match=name):
        make_sequence_generator(name, hiden_size=3)
    with pytest.raises(GeneratorError, match="Cohort"):
        make_sequence_generator(name).fit(actg175)


def test_unknown_name_suggests_the_closest() -> None:
    with pytest.raises(GeneratorError, match="did you mean 'markov'"):
        make_sequence_generator("markof")


def test_a_failed_fit_leaves_no_fitted_state(fitted: SequenceGenerator) -> None:
    cohort = with_deaths()
    one = cohort.subset(cohort.patients["patient_id"].iloc[:1])
    model = make_sequence_generator(fitted.name, **quick(fitted.name))
    with pytest.raises(GeneratorError, match="at least 2"):
        model.fit(one)
    with pytest.raises(GeneratorError, match="not fitted"):
        model.sample(5)


def test_deaths_are_learnt(fitted: SequenceGenerator) -> None:
    synthetic = fitted.sample(300, seed=1)
    dead = synthetic.patients["deceased_age_days"].notna().mean()
    assert 0.05 < dead < 0.7  # about a third of the training patients died
    assert_plausible(synthetic)


def test_static_attributes_come_from_training(fitted: SequenceGenerator) -> None:
    synthetic = fitted.sample(200, seed=2).patients
    real = with_deaths().patients
    assert set(synthetic["sex"]) <= set(real["sex"])
    assert set(synthetic["race"].dropna()) <= set(real["race"])
    assert synthetic["birth_year"].between(real["birth_year"].min(), real["birth_year"].max()).all()
    assert np.array_equal(synthetic["birth_year"], synthetic["birth_year"].round())
