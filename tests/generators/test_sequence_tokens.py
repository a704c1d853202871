"""The event tokenizer on real cohorts: encode -> decode -> encode gives the same streams (codes,
order, encounter membership, value and time bins, deaths), rare codes are pooled and dropped,
the grammar mask keeps sampled streams decodable, and decoding honours its guarantees."""

from __future__ import annotations

import copy
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from sequence_fixtures import (
    assert_plausible,
    eunomia_cohort,
    synthea_cohort,
    with_deaths,
)

from hygeia.data.longitudinal import Cohort
from hygeia.generators.sequence.decode import _parse
from hygeia.generators.sequence.tokens import OTHER, Binner, T, Tokenizer


def _round_trip(cohort: Cohort, **params: int) -> tuple[Tokenizer, list, list, Cohort]:
    tok = Tokenizer(**params).fit(cohort)
    first = tok.encode(cohort)
    uncapped = copy.copy(tok)
    uncapped.end_year_ = 1e6  # a re-drawn birth year must not cut the history short here
    decoded = uncapped.decode(first.static, first.streams, np.random.default_rng(0))
    second = tok.encode(decoded)
    assert (first.static == second.static).all()  # sex, age band, birth bin, race, ethnicity
    return tok, first.streams, second.streams, decoded


@pytest.mark.parametrize("cohort", [synthea_cohort, with_deaths], ids=["synthea-hiv", "with-deaths"])
def test_synthea_round_trip_is_exact(cohort) -> None:
    tok, first, second, decoded = _round_trip(cohort(), min_code_patients=1)
    assert all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))
    types = np.concatenate(first)
    assert (tok.type_[types] == T.VAL).sum() > 1000 and (tok.type_[types] == T.OFF).sum() > 10
    assert_plausible(decoded)


def test_eunomia_round_trip_keeps_every_patients_codes() -> None:
    tok, first, second, _ = _round_trip(eunomia_cohort(), min_code_patients=1)
    codes = [Counter(s[tok.type_[s] == T.EV].tolist()) for s in first]
    again = [Counter(s[tok.type_[s] == T.EV].tolist()) for s in second]
    same = np.array([a == b for a, b in zip(codes, again, strict=True)])
    # Gaps drawn inside wide bins (the top one spans 5-27 years) can push the end of a long
    # history past 110 years, where it is cut: a few lose their last events, none gains any.
    assert same.mean() > 0.98
    assert all(not (b - a) for a, b in zip(codes, again, strict=True))
    # Two loose visits a day apart may decode to one time and merge; everything else is identical.
    assert np.mean([np.array_equal(a, b) for a, b in zip(first, second, strict=True)]) > 0.9


def test_values_keep_one_unit_and_the_observed_range() -> None:
    real = synthea_cohort()
    _, _, _, decoded = _round_trip(real)
    for frame in (real.events, decoded.events):
        frame["key"] = frame["system"] + "|" + frame["code"]
    valued = real.events.dropna(subset=["value"])
    units = valued.groupby("key")["unit"].agg(lambda s: s.fillna("").value_counts().index[0])
    ranges = valued.groupby("key")["value"].agg(["min", "max"])
    synthetic = decoded.events.dropna(subset=["value"])
    assert len(synthetic) > 1000
    assert (synthetic["unit"].fillna("") == synthetic["key"].map(units)).all()
    assert synthetic["value"].between(synthetic["key"].map(ranges["min"]), synthetic["key"].map(ranges["max"])).all()


def test_rare_codes_are_pooled_then_dropped() -> None:
    real = synthea_cohort()
    tok, first, _, decoded = _round_trip(real, min_code_patients=5)
    key = real.events["kind"] + "|" + real.events["system"] + "|" + real.events["code"]
    patients = real.events.groupby(key)["patient_id"].nunique()
    rare = set(patients.index[patients < 5])
    assert rare  # Synthea HIV has codes few patients share
    vocabulary = " ".join(tok.tokens_)
    assert not any(f"{code}" in vocabulary.split() for code in rare)
    pooled = [t for t in tok.tokens_ if t.startswith("EV:") and t.endswith("|" + OTHER)]
    assert pooled
    n_pooled = sum(int(np.isin(s, [tok.index_[t] for t in pooled]).sum()) for s in first)
    other_events = real.events[real.events["kind"] != "encounter"]
    decoded_other = decoded.events[decoded.events["kind"] != "encounter"]
    assert len(decoded_other) == len(other_events) - n_pooled
    decoded_key = decoded.events["kind"] + "|" + decoded.events["system"] + "|" + decoded.events["code"]
    assert not set(decoded_key) & rare
    # Encounters of a rare type (three emergency visits) stay, without their code and class.
    encounters = decoded.events[decoded.events["kind"] == "encounter"]
    assert len(encounters) == (real.events["kind"] == "encounter").sum()
    assert encounters["code"].isna().sum() == 3 and encounters["value_code"].isna().sum() == 3
    # Encounters of a rare type (three emergency visits) stay, without their code and class.
    encounters = decoded.events[decoded.events["kind"] == "encounter"]
    assert len(encounters) == (real.events["kind"] == "encounter").sum()
    assert encounters["code"].isna().sum() == 3 and encounters["value_code"].isna().sum() == 3


def test_deaths_end_the_stream_and_follow_the_last_event() -> None:
    cohort = with_deaths()
    tok = Tokenizer().fit(cohort)
    encoded = tok.encode(cohort)
    dead = cohort.patients.set_index("patient_id")["deceased_age_days"].reindex(encoded.patient_ids).notna()
    assert dead.sum() > 5
    for stream, died in zip(encoded.streams, dead, strict=True):
        assert tok.type_[stream[-1]] == (T.DEATH if died else T.END)
        assert not died or tok.type_[stream[-2]] == T.GAP
    decoded = tok.decode(encoded.static, encoded.streams, np.random.default_rng(1))
    assert decoded.patients["deceased_age_days"].notna().sum() == dead.sum()
    assert_plausible(decoded, reference=cohort)
    last = decoded.events.groupby("patient_id")[["age_days", "end_age_days"]].max().max(axis=1)
    death = decoded.patients.set_index("patient_id")["deceased_age_days"].dropna()
    assert (death >= last.reindex(death.index)).all()


@pytest.fixture(scope="module")
def eunomia_decoded() -> tuple[Tokenizer, Cohort]:
    cohort = eunomia_cohort()
    tok = Tokenizer().fit(cohort)
    encoded = tok.encode(cohort)
    return tok, tok.decode(encoded.static, encoded.streams, np.random.default_rng(0))


def test_lengths_per_kind_and_fixed_lengths(eunomia_decoded: tuple[Tokenizer, Cohort]) -> None:
    tok, decoded = eunomia_decoded
    assert tok.implied_ == {"immunization": 0.0}  # OMOP immunizations end the day they start: no tokens
    assert {"condition", "medication"} <= set(tok.lengths_)
    ev = decoded.events
    imm = ev[ev["kind"] == "immunization"]
    assert (imm["end_age_days"] == imm["age_days"]).all()
    real_share = eunomia_cohort().events.groupby("kind")["end_age_days"].apply(lambda s: s.notna().mean())
    share = ev.groupby("kind")["end_age_days"].apply(lambda s: s.notna().mean())
    assert abs(share["condition"] - real_share["condition"]) < 0.02  # abatement kept where the source has it
    assert share["procedure"] == real_share["procedure"] == 0


def test_decoding_caps_ages_at_the_sources_last_date(eunomia_decoded: tuple[Tokenizer, Cohort]) -> None:
    _, decoded = eunomia_decoded
    assert_plausible(decoded, reference=eunomia_cohort())
    assert decoded.n_events > 0.9 * eunomia_cohort().n_events


def test_patients_without_events_are_not_encoded() -> None:
    cohort = synthea_cohort()
    lonely = cohort.patients.iloc[:1].assign(patient_id="no-events")
    tok = Tokenizer().fit(Cohort(pd.concat([cohort.patients, lonely]), cohort.events))
    assert "no-events" not in tok.encode(Cohort(pd.concat([cohort.patients, lonely]), cohort.events)).patient_ids


def test_masked_random_streams_decode_without_a_skipped_token() -> None:
    tok = Tokenizer().fit(synthea_cohort())
    rng = np.random.default_rng(0)
    n, steps = 200, 300
    state, out = tok.start(n), np.zeros((n, steps), dtype=np.int64)
    for step in range(steps):
        allowed = tok.mask(state)
        pick = np.array([rng.choice(np.flatnonzero(row)) for row in allowed])
        out[:, step] = np.where(state.done, T.PAD, pick)
        tok.advance(state, pick)
    streams = [row[row != T.PAD] for row in out]
    _, _, events, _ = _parse(tok, streams)
    assert len(events["tok"]) == sum(int((tok.type_[s] == T.EV).sum()) for s in streams) > 0
    static = tok.encode(synthea_cohort()).static[rng.integers(0, 59, n)]
    assert_plausible(tok.decode(static, streams, rng))


def test_binner_gives_point_masses_their_own_bin_and_draws_inside_bins() -> None:
    rng = np.random.default_rng(0)
    durations = np.array([0.01042] * 100 + [0.04167] * 3 + [1.0] * 30)  # Synthea: 15 min, 1 h, 1 day
    binner = Binner.fit(durations, 16)
    assert binner.n_bins == 3
    assert set(binner.draw(binner.transform(durations), rng)) == {0.01042, 0.04167, 1.0}
    mixed = np.concatenate([np.ones(700), rng.uniform(1, 5, 300)])
    binner = Binner.fit(mixed, 16)
    assert (binner.draw(np.zeros(50, dtype=int), rng) == 1.0).all()
    values = rng.lognormal(3, 1, 2000)
    binner = Binner.fit(values, 10)
    bins = binner.transform(values)
    drawn = binner.draw(bins, rng)
    assert (binner.transform(drawn) == bins).all() and values.min() <= drawn.min() and drawn.max() <= values.max()
    days = Binner.fit(np.arange(100.0), 8)
    assert (days.draw(np.arange(8), rng) % 1 == 0).all()  # whole days stay whole
