"""A Markov chain over the shared event tokens: the baseline every sequence model must beat.

The next token is drawn from the tokens that followed the same context in the real streams. The
most specific context seen at least ``min_context`` times is used, backing off in this order
(``order=2``):

1. sex x age band, inside an encounter or not, the last two tokens;
2. inside an encounter or not, the last two tokens;
3. sex x age band, inside an encounter or not, the last token;
4. inside an encounter or not, the last token (always used when nothing more specific is known).

``order=1`` keeps levels 3 and 4. Fitting is counting (seconds on Eunomia); sampling advances
every patient at once, one token per step. A context needs ``min_context`` occurrences before it
is used, which also keeps the chain from replaying one patient's rare run of codes.

>>> gen = MarkovChain(order=2).fit(cohort)  # doctest: +SKIP
>>> gen.sample(1000, seed=0)                # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from hygeia.errors import GeneratorError
from hygeia.generators.sequence.base import (
    SequenceGenerator,
    check_whole,
    register_sequence,
)
from hygeia.generators.sequence.tokens import AGE_BANDS, Encoded, T

#: (use the sex x age-band group, use the token before the last) per back-off level, most specific first.
LEVELS = {2: ((True, True), (False, True), (True, False), (False, False)), 1: ((True, False), (False, False))}


@register_sequence
class MarkovChain(SequenceGenerator):
    """Markov chain over event tokens with back-off, conditioned on sex and age band at the first visit.

    Parameters:
        order: 1 or 2 tokens of history.
        min_context: occurrences a context needs before its own counts are used.
        min_code_patients, time_bins, ...: see :class:`~hygeia.generators.sequence.base.SequenceGenerator`.
    """

    name = "markov"
    summary = "Markov chain over event tokens (order 2 with back-off), conditioned on sex and age band"

    def __init__(self, order: int = 2, min_context: int = 5, **tokens: Any) -> None:
        super().__init__(**tokens)
        self.order = order
        self.min_context = min_context

    def _key(self, level: int, group: np.ndarray, in_enc: np.ndarray, p2: np.ndarray, p1: np.ndarray) -> np.ndarray:
        use_group, use_p2 = LEVELS[self.order][level]
        vocab = self.tokenizer_.vocab_size
        key = level * self.n_groups_ + (group if use_group else 0)
        key = (key * 2 + in_enc) * vocab + (p2 if use_p2 else 0)
        return key * vocab + p1

    def _fit_streams(self, encoded: Encoded, rng: np.random.Generator) -> None:
        tok = self.tokenizer_
        self.n_groups_ = 4 * (len(AGE_BANDS) - 1)
        group = encoded.static[:, 0] * (len(AGE_BANDS) - 1) + encoded.static[:, 1]
        lengths = np.array([len(s) for s in encoded.streams])
        seq = np.concatenate([np.concatenate([[T.BOS, T.BOS], s]) for s in encoded.streams]).astype(np.int64)
        types = tok.type_[seq]
        # Inside an encounter after each token: from ENC until the next LOOSE, GAP or the patient's start.
        flag = np.where(types == T.ENC, 1.0, np.where(np.isin(types, [T.LOOSE, T.GAP, T.BOS]), 0.0, np.nan))
        in_enc = pd.Series(flag).ffill().to_numpy(dtype=np.int64)
        target = np.flatnonzero(types != T.BOS)
        g = np.repeat(group, lengths)
        keys, nexts = [], []
        for level in range(len(LEVELS[self.order])):
            key = self._key(level, g, in_enc[target - 1], seq[target - 2], seq[target - 1])
            last = level == len(LEVELS[self.order]) - 1
            contexts, counts = np.unique(key, return_counts=True)
            used = contexts if last else contexts[counts >= self.min_context]
            rows = np.isin(key, used)
            keys.append(key[rows])
            nexts.append(seq[target][rows])
        key, nxt = np.concatenate(keys), np.concatenate(nexts)
        pairs, pair_counts = np.unique(np.stack([key, nxt]), axis=1, return_counts=True)
        self.contexts_, first = np.unique(pairs[0], return_index=True)
        totals = np.add.reduceat(pair_counts, first)
        row = np.repeat(np.arange(len(first)), np.diff(np.append(first, len(pair_counts))))
        cum = pd.Series(pair_counts).groupby(row).cumsum().to_numpy() / totals[row]
        # One flat, increasing array: context r's cumulative probabilities shifted by r.
        self.cumulative_ = cum + row
        self.next_ = pairs[1]

    def _sample_streams(self, static: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
        tok, n, limit = self.tokenizer_, len(static), self.max_length_
        group = static[:, 0] * (len(AGE_BANDS) - 1) + static[:, 1]
        out = np.zeros((n, limit), dtype=np.int64)
        length = np.full(n, limit)
        p2, p1 = np.full(n, int(T.BOS)), np.full(n, int(T.BOS))
        in_enc = np.zeros(n, dtype=np.int64)
        active = np.arange(n)
        for step in range(limit):
            row = np.full(len(active), -1)
            for level in range(len(LEVELS[self.order])):
                key = self._key(level, group[active], in_enc[active], p2[active], p1[active])
                at = np.minimum(np.searchsorted(self.contexts_, key), len(self.contexts_) - 1)
                hit = (self.contexts_[at] == key) & (row < 0)
                row[hit] = at[hit]
            pick = np.searchsorted(self.cumulative_, np.maximum(row, 0) + rng.random(len(active)), side="right")
            token = np.where(row >= 0, self.next_[np.minimum(pick, len(self.next_) - 1)], int(T.END))
            out[active, step] = token
            kind = tok.type_[token]
            in_enc[active] = np.where(kind == T.ENC, 1, np.where(np.isin(kind, [T.LOOSE, T.GAP]), 0, in_enc[active]))
            p2[active], p1[active] = p1[active], token
            done = (kind == T.END) | (kind == T.DEATH)
            length[active[done]] = step + 1
            active = active[~done]
            if not len(active):
                break
        return [out[i, :length[i]] for i in range(n)]

    def _check_params(self) -> None:
        super()._check_params()
        if self.order not in LEVELS or isinstance(self.order, bool):
            raise GeneratorError(f"order must be 1 or 2, got {self.order!r}")
        check_whole("min_context", self.min_context, 1)
