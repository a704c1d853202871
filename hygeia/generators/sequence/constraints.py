"""Constraints a sequence model learns from its training histories and imposes while sampling.

Both are read from the training data alone (no list of codes, no knowledge of the source), so
they carry over to hospital data the models were never tuned on:

- :func:`sex_allowed`: a code that the training patients of one sex never have, although enough
  patients have it that chance alone would hardly have kept it from that sex (a binomial tail
  below :data:`SEX_ALPHA`), is not drawn for that sex. A neural model only lowers such a code's
  probability; over thousands of sampled steps a low probability still lands (7-9 contraceptive
  codes on men per 1,000 Eunomia patients before this mask).
- :class:`FollowUp`: when a history ends, as years left to the source's last date (the data
  extract) at the last visit, drawn per birth-year bin from the training patients. A model that
  decides the end one token at a time ends too early too often (a small per-token chance of END,
  summed over hundreds of tokens): a quarter of Synthea GRU histories stopped before 2011 when
  every real one runs to 2020-2021, which dropped the labs of later years and the patients'
  ages at the last event. Conditioning on the drawn end (and allowing END only once it is
  reached) makes the follow-up match the real one by construction, as the birth year does.

>>> allowed = sex_allowed(encoded.static[:, 0], encoded.streams, tok.vocab_size, tok.type_)  # doctest: +SKIP
>>> allowed[SEXES.index("male"), tok.index_["EV:drug|RxNorm|749785"]]                        # doctest: +SKIP
False
"""

from __future__ import annotations

import numpy as np

from hygeia.data.longitudinal.cohort import SEXES
from hygeia.generators.sequence.tokens import Binner, T

#: Chance (binomial tail) below which a code absent from one sex is taken as specific to the other,
#: the usual 5%: with equal shares, 5 patients all of one sex (0.5 ** 5 = 0.03) are enough. Lenient on
#: purpose: a wrong mask costs one sex a code that few patients have (about 6% of the codes 5 patients
#: have, were none sex-specific); a missing one, an implausible record (Eunomia's Mirena, 5 women and
#: no man, and tubal ligation, 8 women, were each drawn for a man at 0.01 and 0.001).
SEX_ALPHA = 0.05
#: Quantile bins of the years left to the source's last date when a history ends.
FOLLOW_UP_BINS = 8
#: Pseudo-patients spread by the overall follow-up shares added to each birth bin's counts (a small
#: birth bin must not replay its few patients' follow-up exactly).
FOLLOW_UP_PRIOR = 2.0


def sex_allowed(sex: np.ndarray, streams: list[np.ndarray], vocab: int, types: np.ndarray,
                alpha: float = SEX_ALPHA) -> np.ndarray:
    """``(len(SEXES), vocab)``: False where a code token is specific to the other sex in the training data.

    Only female and male rows are ever masked, and only code tokens (ENC, EV); a code is specific
    to one sex when no patient of the other has it and ``(1 - share_other) ** n < alpha``, ``n``
    being the patients who have it and ``share_other`` the other sex's share of all patients.
    """
    allowed = np.ones((len(SEXES), vocab), dtype=bool)
    lengths = np.array([len(s) for s in streams])
    if not len(lengths) or not lengths.sum():
        return allowed
    patient = np.repeat(np.arange(len(streams)), lengths)
    pairs = np.unique(patient.astype(np.int64) * vocab + np.concatenate(streams))  # (patient, token) once
    who, token = np.divmod(pairs, vocab)
    counts = np.zeros((len(SEXES), vocab))
    np.add.at(counts, (sex[who], token), 1)
    n = counts.sum(axis=0)
    is_code = types >= T.ENC
    for name in ("female", "male"):
        k = SEXES.index(name)
        share = float(np.mean(sex == k))
        if share == 0:
            continue  # no patient of this sex: nothing to compare with
        by_chance = (1.0 - share) ** n
        allowed[k] = ~(is_code & (counts[k] == 0) & (n > 0) & (by_chance < alpha))
    return allowed


class FollowUp:
    """Years left to the source's last date at a history's end, per birth-year bin (factorised, smoothed)."""

    def fit(self, left: np.ndarray, birth: np.ndarray, birth_bins: int) -> FollowUp:
        self.binner = Binner.fit(left, FOLLOW_UP_BINS)
        which = self.binner.transform(left)
        counts = np.zeros((birth_bins, self.binner.n_bins))
        np.add.at(counts, (birth, which), 1)
        overall = counts.sum(axis=0) / counts.sum()
        counts += FOLLOW_UP_PRIOR * overall
        self.table = counts / counts.sum(axis=1, keepdims=True)
        return self

    def sample(self, birth: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Years left at the end, one per patient of the given birth bins."""
        cum = self.table.cumsum(axis=1)[birth]
        which = np.minimum((cum < rng.random((len(birth), 1))).sum(axis=1), self.table.shape[1] - 1)
        return self.binner.draw(which, rng)
