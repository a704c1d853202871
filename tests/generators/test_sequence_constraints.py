"""Constraints learnt from training histories (hygeia/generators/sequence/constraints.py): codes specific
to one sex by a binomial test, and the follow-up (years left to the source's last date) per birth bin."""

from __future__ import annotations

import numpy as np

from hygeia.data.longitudinal.cohort import SEXES
from hygeia.generators.sequence.constraints import SEX_ALPHA, FollowUp, sex_allowed
from hygeia.generators.sequence.tokens import T

F, M, UNKNOWN = SEXES.index("female"), SEXES.index("male"), SEXES.index("unknown")
# A vocabulary of 5 special tokens (END, GAP...) and 4 codes.
TYPES = np.array([T.PAD, T.BOS, T.END, T.GAP, T.LOOSE, T.EV, T.EV, T.EV, T.EV])
END, GAP, LOOSE = 2, 3, 4  # token ids (positions in TYPES)
ONLY_WOMEN_MANY, ONLY_WOMEN_FEW, BOTH, ONLY_MEN_MANY = 5, 6, 7, 8


def _cohort() -> tuple[np.ndarray, list[np.ndarray]]:
    sex = np.array([F] * 20 + [M] * 20 + [UNKNOWN] * 2)
    streams = []
    for i, s in enumerate(sex):
        codes = [BOTH]
        if s == F and i < 12:
            codes += [ONLY_WOMEN_MANY, ONLY_WOMEN_MANY]  # 12 women (twice each: patients count, not events)
        if s == F and i < 3:
            codes.append(ONLY_WOMEN_FEW)  # 3 women: 0.5 ** 3 could be chance
        if s == M and i < 30:
            codes.append(ONLY_MEN_MANY)  # 10 men
        streams.append(np.array([LOOSE, *codes, GAP, END]))
    return sex, streams


def test_codes_one_sex_never_has_are_masked_for_it_only_when_chance_is_unlikely() -> None:
    sex, streams = _cohort()
    allowed = sex_allowed(sex, streams, len(TYPES), TYPES)
    assert not allowed[M, ONLY_WOMEN_MANY] and allowed[F, ONLY_WOMEN_MANY]
    assert not allowed[F, ONLY_MEN_MANY] and allowed[M, ONLY_MEN_MANY]
    assert allowed[M, ONLY_WOMEN_FEW] and allowed[:, BOTH].all()
    assert allowed[:, TYPES < T.ENC].all()  # grammar tokens are never masked
    assert allowed[[SEXES.index("other"), UNKNOWN]].all()  # nor patients of other or unknown sex
    assert 0.5 ** 3 > SEX_ALPHA > 0.5 ** 10


def test_no_patient_of_a_sex_means_no_mask_for_it() -> None:
    sex, streams = _cohort()
    women = sex == F
    allowed = sex_allowed(sex[women], [s for s, w in zip(streams, women) if w], len(TYPES), TYPES)
    assert allowed.all()


def test_follow_up_is_drawn_inside_the_observed_range_and_per_birth_bin() -> None:
    rng = np.random.default_rng(0)
    birth = np.repeat([0, 1], 200)
    left = np.where(birth == 0, rng.uniform(0, 1, 400), rng.uniform(10, 20, 400))  # bin 1 left the data early
    follow = FollowUp().fit(left, birth, birth_bins=3)
    early, late = follow.sample(np.zeros(2000, int), rng), follow.sample(np.ones(2000, int), rng)
    assert left.min() <= early.min() and late.max() <= left.max()
    assert np.median(early) < 1 and 10 < np.median(late) < 20
    assert np.mean(early > 5) < 0.05  # the smoothing prior borrows a little from the other bin, no more
    unseen = follow.sample(np.full(2000, 2), rng)  # a birth bin without patients: the overall shares
    assert 0.3 < np.mean(unseen < 5) < 0.7
