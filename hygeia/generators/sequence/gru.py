"""A GRU language model over the shared event tokens, conditioned on the static attributes.

The network reads one token at a time (``<bos>`` first) and predicts the next with a softmax
over the vocabulary. Each static attribute (sex, age band at the first visit, birth-year bin,
race, ethnicity) has a small embedding; together they set the initial hidden state, enter every
step's input and add a bias to every output (the short path that keeps sex-specific codes with
the right sex: 99% in women for Eunomia's female-only codes, 81% without it). A "clock" enters
every step too: the age reached and the years left to the source's last date, estimated from the
GAP tokens so far; without it histories stopped years before the data extract (median last
event in 2010 instead of 2017 on Eunomia). Two more inputs ride with the clock: the years left to
the patient's own end of follow-up (known in training; drawn per birth-year bin when sampling, see
:class:`~hygeia.generators.sequence.constraints.FollowUp`), and how many times the last code read
has occurred (a series of 60 doses needs a count that truncated back-propagation cannot teach).

Training: cross-entropy per token with Adam, through :class:`~hygeia.generators.training.Trainer`
(progress bar, time budget ``max_time``, early stopping after ``patience`` epochs without a
better loss on 10% of patients held out). Long histories: a stream is cut after
``max_train_tokens`` tokens (what follows is not learnt; the longest Synthea HIV stream has
1,183 tokens, Eunomia's 605) and trained by truncated back-propagation through time: windows of
``bptt`` tokens, the hidden state carried from one window to the next but not its gradient, one
optimiser step per window. Batches hold patients of similar length (few pads), in a new order
each epoch, and a small cohort gets smaller batches (at least :data:`MIN_BATCHES` per epoch).

Sampling: all patients advance together, one token per step, at ``temperature`` (1 = the
learnt distribution), with the tokens the grammar forbids masked out (:meth:`Tokenizer.mask`),
and those learnt from the training data as impossible: codes specific to the other sex
(:func:`~hygeia.generators.sequence.constraints.sex_allowed`), and the end of a history before
its drawn end of follow-up (within :data:`END_TOLERANCE_YEARS`), up to the longest real stream.
``torch.manual_seed`` and numpy's generator make a fit and a
sample with the same seeds (and thread count) repeatable.

>>> gen = SequenceGRU(hidden_size=128, max_time=120, threads=2).fit(cohort)  # doctest: +SKIP
>>> gen.sample(1000, seed=0)                                                  # doctest: +SKIP
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch
from torch import nn

from hygeia.errors import GeneratorError
from hygeia.generators.sequence.base import (
    SequenceGenerator,
    check_number,
    check_whole,
    register_sequence,
)
from hygeia.generators.sequence.constraints import FollowUp, sex_allowed
from hygeia.generators.sequence.tokens import (
    DAYS_PER_YEAR,
    Binner,
    Encoded,
    GrammarState,
    T,
)
from hygeia.generators.training import StopReason, Trainer, torch_threads

#: Width of each static attribute's embedding.
STATIC_DIM = 16
#: Fewer held-out patients than this and no validation split is made (early stopping would be noise).
MIN_VALIDATION_PATIENTS = 10
#: Batches per epoch at least (smaller batches for small cohorts: 41 Synthea patients in one batch
#: gave 30 optimiser steps in 30 epochs, and code frequencies 0.26 away from the real ones in TV).
MIN_BATCHES = 8
#: Patients sampled at once (memory stays flat for large samples).
SAMPLE_CHUNK = 4096
IGNORE = -100
#: Inputs of the clock: age, years left to the source's last date (twice), years left to the patient's own
#: end of follow-up (twice), and how many times the last code read has occurred so far (twice; see :meth:`_clock`).
CLOCK_FEATURES = 7
#: A history may end (END, or the GAP DEATH that closes it) once it is this close to its drawn end of
#: follow-up, in years: a last gap is a step, it rarely lands on the date exactly.
END_TOLERANCE_YEARS = 1.0


@dataclass
class _Streams:
    """What training reads per patient: the streams (cut at ``max_train_tokens``), static ids, the clock's
    age at the end of each (whole) history, and per input token the count of the last code read."""

    streams: list[np.ndarray]
    static: np.ndarray
    end: np.ndarray
    repeats: list[np.ndarray]


class _Net(nn.Module):
    def __init__(self, vocab: int, static_sizes: tuple[int, ...], embedding: int, hidden: int, layers: int,
                 dropout: float) -> None:
        super().__init__()
        self.layers, self.hidden = layers, hidden
        self.tokens = nn.Embedding(vocab, embedding, padding_idx=int(T.PAD))
        self.static = nn.ModuleList(nn.Embedding(size, STATIC_DIM) for size in static_sizes)
        self.start = nn.Linear(STATIC_DIM * len(static_sizes), layers * hidden)
        self.steady = nn.Linear(STATIC_DIM * len(static_sizes), embedding)
        self.bias = nn.Linear(STATIC_DIM * len(static_sizes), vocab)
        self.gru = nn.GRU(embedding, hidden, layers, batch_first=True, dropout=dropout if layers > 1 else 0.0)
        self.clock = nn.Linear(CLOCK_FEATURES, embedding)
        self.head = nn.Linear(hidden, vocab)

    def initial(self, static: torch.Tensor) -> torch.Tensor:
        z = torch.cat([emb(static[:, i]) for i, emb in enumerate(self.static)], dim=1)
        return torch.tanh(self.start(z)).view(-1, self.layers, self.hidden).transpose(0, 1).contiguous()

    def constant(self, static: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The static attributes' input at every step and their bias on every output. The initial state
        alone is forgotten over a long history (and, with truncated back-propagation, only the first
        window would teach it); the output bias is the short path from sex to sex-specific codes."""
        z = torch.cat([emb(static[:, i]) for i, emb in enumerate(self.static)], dim=1)
        return self.steady(z)[:, None, :], self.bias(z)[:, None, :]

    def forward(self, tokens: torch.Tensor, clock: torch.Tensor, constant: tuple[torch.Tensor, torch.Tensor],
                h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        steady, bias = constant
        out, h = self.gru(self.tokens(tokens) + self.clock(clock) + steady, h)
        return self.head(out) + bias, h


@register_sequence
class SequenceGRU(SequenceGenerator):
    """GRU over event tokens, conditioned on the static attributes and a clock.

    Parameters:
        hidden_size, layers, embedding_size, dropout: the network (dropout between GRU layers only).
        epochs, batch_size (patients), learning_rate: Adam training.
        max_time: training budget in seconds (checked after every batch); ``None`` = none.
        patience: epochs without a better validation loss before stopping; 0 = never.
        bptt: tokens per truncated back-propagation window.
        max_train_tokens: tokens of each history learnt (the rest is cut).
        temperature: sampling temperature (1 = as learnt; lower = more typical histories).
        validation_fraction: share of patients held out for early stopping.
        threads: ``torch.set_num_threads`` while fitting and sampling; ``None`` = torch's default. One by
            default: the matrices are small (2 threads were only 1.5x faster on an idle 2-core machine,
            4.5 s vs 6.9 s an epoch on Eunomia) and, when other processes share the cores, 2 threads
            ran 4-15x slower than one (OpenMP threads wait on each other).
        min_code_patients, time_bins, ...: see :class:`~hygeia.generators.sequence.base.SequenceGenerator`.
    """

    name = "sequence_gru"
    summary = "GRU language model over event tokens, conditioned on sex, age band, birth cohort, race"
    quick_params: ClassVar[dict[str, Any]] = {"epochs": 2, "max_time": 30.0, "hidden_size": 64, "threads": 1}

    def __init__(self, hidden_size: int = 128, layers: int = 1, embedding_size: int = 64, dropout: float = 0.0,
                 epochs: int = 30, batch_size: int = 128, learning_rate: float = 3e-3, max_time: float | None = 150.0,
                 patience: int = 3, bptt: int = 128, max_train_tokens: int = 2048, temperature: float = 1.0,
                 validation_fraction: float = 0.1, threads: int | None = 1, **tokens: Any) -> None:
        super().__init__(**tokens)
        self.hidden_size = hidden_size
        self.layers = layers
        self.embedding_size = embedding_size
        self.dropout = dropout
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.max_time = max_time
        self.patience = patience
        self.bptt = bptt
        self.max_train_tokens = max_train_tokens
        self.temperature = temperature
        self.validation_fraction = validation_fraction
        self.threads = threads

    # -- training --------------------------------------------------------------------------------
    def _fit_streams(self, encoded: Encoded, rng: np.random.Generator) -> None:
        tok = self.tokenizer_
        streams = [s[: self.max_train_tokens] for s in encoded.streams]
        n_val = round(len(streams) * self.validation_fraction)
        n_val = n_val if n_val >= MIN_VALIDATION_PATIENTS else 0
        order = rng.permutation(len(streams))
        train, held = order[n_val:], order[:n_val]
        self._set_clock()
        self.sex_allowed_ = sex_allowed(encoded.static[:, 0], encoded.streams, tok.vocab_size, tok.type_)
        end = self.start_age_[encoded.static[:, 1]] + np.array([self.step_[s].sum() for s in encoded.streams])
        # The follow-up in calendar years, not on the clock: a clock reading carries the clock's error
        # (the gaps' bins are wide) and sampling adds its own. Eunomia's real follow-up is tight (95%
        # end within 3.3 years of the extract) but its clock readings spread from -1.6 to 6.5 years.
        left = tok.end_year_ - encoded.end_year if encoded.end_year is not None else self._left(end, encoded.static[:, 2])
        self.follow_up_ = FollowUp().fit(left, encoded.static[:, 2], tok.static_sizes[2])
        data = _Streams(streams, encoded.static, end, self._repeats(streams))
        with _cpu(self.threads), torch.random.fork_rng():
            torch.manual_seed(self.random_state)
            net = _Net(tok.vocab_size, tok.static_sizes, self.embedding_size, self.hidden_size, self.layers,
                       self.dropout)
            optimizer = torch.optim.Adam(net.parameters(), lr=self.learning_rate)
            trainer = Trainer(self.epochs, self.patience if n_val else 0, self.max_time, self.name)
            # A small cohort still gets MIN_BATCHES optimiser steps (times windows) per epoch.
            self.batch_size_ = max(1, min(self.batch_size, len(train) // MIN_BATCHES))
            batches = _batches(train, streams, self.batch_size_)
            for _ in trainer:
                net.train()
                total = count = 0.0
                for b in rng.permutation(len(batches)):
                    loss, tokens = self._run(net, batches[b], data, optimizer)
                    total, count = total + loss, count + tokens
                    if self.max_time is not None and trainer.seconds >= self.max_time:
                        break  # the budget binds inside an epoch too
                trainer.report(total / max(count, 1), self._validation(net, held, data), net)
            self.stopped_ = trainer.restore_best(net)
        self.module_ = net.eval()

    def _run(self, net: _Net, rows: np.ndarray, data: _Streams,
             optimizer: torch.optim.Optimizer | None) -> tuple[float, int]:
        """One batch of patients, window by window; returns the summed loss and the tokens scored."""
        streams, static = data.streams, data.static
        rows = rows[np.argsort([-len(streams[r]) for r in rows], kind="stable")]  # longest first
        lengths = np.array([len(streams[r]) for r in rows])
        x = np.zeros((len(rows), lengths[0]), dtype=np.int64)
        y = np.full((len(rows), lengths[0]), IGNORE, dtype=np.int64)
        repeats = np.zeros((len(rows), lengths[0]))
        for i, r in enumerate(rows):
            x[i, 0], x[i, 1:lengths[i]], y[i, :lengths[i]] = T.BOS, streams[r][:-1], streams[r]
            repeats[i, :lengths[i]] = data.repeats[r]
        x_t, y_t = torch.from_numpy(x), torch.from_numpy(y)
        age = self.start_age_[static[rows, 1]][:, None] + np.cumsum(self.step_[x], axis=1)
        clock = torch.from_numpy(self._clock(age, static[rows, 2][:, None], data.end[rows][:, None], repeats))
        static_t = torch.from_numpy(static[rows])
        h = net.initial(static_t)
        total, count = 0.0, 0
        for start in range(0, lengths[0], self.bptt):
            k = int((lengths > start).sum())  # rows still running: a prefix, longest first
            window = slice(start, start + self.bptt)
            logits, h = net(x_t[:k, window], clock[:k, window], net.constant(static_t[:k]), h[:, :k])
            target = y_t[:k, start:start + self.bptt]
            loss = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1),
                                               ignore_index=IGNORE, reduction="sum")
            n = int((target != IGNORE).sum())
            if optimizer is not None:
                optimizer.zero_grad(set_to_none=True)
                (loss / n).backward()
                nn.utils.clip_grad_norm_(net.parameters(), 1.0)
                optimizer.step()
            h = h.detach()
            total, count = total + float(loss.detach()), count + n
        return total, count

    def _set_clock(self) -> None:
        """Years each token moves the clock (a GAP bin's expected decoded gap), the expected age at the
        first visit per age band and birth year per bin: the network's sense of time.

        Expected values, not medians: the clock must follow the time decoding will give the sampled
        history, which draws each gap inside its bin (:meth:`Binner.draw`); a sum of many gaps
        approaches the sum of their means. Bin medians put the clock of the median real Eunomia history
        a year behind, and of the 5th percentile 9 years behind (the bins of long gaps are skewed).
        """
        tok = self.tokenizer_
        self.step_ = np.zeros(tok.vocab_size)
        gaps = tok.type_ == T.GAP
        self.step_[gaps] = _expected(tok.gap_)[tok.bin_[gaps]] / DAYS_PER_YEAR
        self.start_age_ = _expected(tok.first_) / DAYS_PER_YEAR
        self.birth_year_ = _expected(tok.birth_)

    def _left(self, age: np.ndarray, birth: np.ndarray) -> np.ndarray:
        """Years left to the source's last date at ``age`` (clock years), for birth-year bins ``birth``."""
        return self.tokenizer_.end_year_ - self.birth_year_[birth] - age

    def _clock(self, age: np.ndarray, birth: np.ndarray, end: np.ndarray, repeats: np.ndarray) -> np.ndarray:
        """Inputs telling the network the age reached, the years left to the source's last date and to
        the patient's own end of follow-up (``end``, clock years: known in training, drawn when sampling,
        see :class:`FollowUp`), so histories end when the real ones do; and how many times the last code
        read has occurred (``repeats``), so a long series (Eunomia's 60 doses of immunotherapy, 3-4
        tokens each) knows how far it is: counting on its own, through windows of truncated
        back-propagation, the GRU drew such series from 1 to 150 doses."""
        left, own = self._left(age, birth), end - age
        # tanh(x / 2) is steep in the last years, where histories end; log1p tells 1 from 3 doses, the
        # linear count 59 from 60.
        features = (age / 100, left / 100, np.tanh(left / 2), own / 100, np.tanh(own / 2), np.log1p(repeats) / 4,
                    np.minimum(repeats, 200) / 100)
        return np.stack(np.broadcast_arrays(*features), axis=-1).astype(np.float32)

    def _repeats(self, streams: list[np.ndarray]) -> list[np.ndarray]:
        """Per input position (``<bos>`` then the stream but its last token), how many times the last
        code read (ENC or EV, this token or the latest before it) has occurred so far, itself included;
        0 before the first code. Carried through GAP and LOOSE: that is where the next dose is decided."""
        inputs = [np.concatenate([[int(T.BOS)], s[:-1]]) for s in streams]
        lengths = [len(s) for s in inputs]
        flat = np.concatenate(inputs)
        patient = np.repeat(np.arange(len(inputs), dtype=np.int64), lengths)
        key = patient * self.tokenizer_.vocab_size + flat
        counts = pd.Series(pd.Series(key).groupby(key).cumcount().to_numpy() + 1.0)
        counts[self.tokenizer_.type_[flat] < T.ENC] = np.nan
        counts = counts.groupby(patient).ffill().fillna(0.0).to_numpy()
        return np.split(counts, np.cumsum(lengths)[:-1])

    @torch.no_grad()
    def _validation(self, net: _Net, held: np.ndarray, data: _Streams) -> float | None:
        if not len(held):
            return None
        net.eval()
        total = count = 0.0
        for rows in _batches(held, data.streams, self.batch_size_):
            loss, n = self._run(net, rows, data, None)
            total, count = total + loss, count + n
        return total / max(count, 1)

    # -- sampling --------------------------------------------------------------------------------
    @torch.no_grad()
    def _sample_streams(self, static: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
        gen = torch.Generator().manual_seed(int(rng.integers(2**62)))
        # Each patient's end of follow-up (clock years), drawn like a static attribute.
        end = self.tokenizer_.end_year_ - self.birth_year_[static[:, 2]] - self.follow_up_.sample(static[:, 2], rng)
        self.module_.eval()
        with _cpu(self.threads):
            return [s for start in range(0, len(static), SAMPLE_CHUNK)
                    for s in self._sample_chunk(static[start:start + SAMPLE_CHUNK], end[start:start + SAMPLE_CHUNK],
                                                gen)]

    def _sample_chunk(self, static: np.ndarray, end: np.ndarray, gen: torch.Generator) -> list[np.ndarray]:
        tok, net, n, limit = self.tokenizer_, self.module_, len(static), self.max_length_
        h, constant = net.initial(torch.from_numpy(static)), net.constant(torch.from_numpy(static))
        age, birth, sex = self.start_age_[static[:, 1]], static[:, 2], static[:, 0]
        terminal = np.isin(tok.type_, [T.END, T.DEATH])
        seen = np.zeros((n, tok.vocab_size), dtype=np.int16)  # occurrences of each token so far
        repeats = np.zeros(n)  # occurrences of the last code drawn (see _repeats)
        state = tok.start(n)
        token = torch.full((n,), int(T.BOS), dtype=torch.long)
        out = np.zeros((n, limit), dtype=np.int64)
        length = np.full(n, limit)
        active = np.arange(n)
        for step in range(limit):
            clock = torch.from_numpy(self._clock(age, birth, end, repeats))[:, None]
            logits, h = net(token[:, None], clock, constant, h)
            logits = logits[:, 0] / self.temperature
            allowed = tok.mask(state) & self.sex_allowed_[sex]
            # No end before the drawn end of follow-up (the last token, or the cap, still stops a history).
            early = end - age > END_TOLERANCE_YEARS
            allowed[np.ix_(early, terminal)] = False
            allowed[~allowed.any(axis=1), T.END] = True  # never a dead end
            logits = logits.masked_fill(~torch.from_numpy(allowed), float("-inf"))
            # Inverse-CDF draw (five times faster than torch.multinomial here); u in (0, total] never
            # lands on a masked token, whose probability is 0.
            cum = torch.softmax(logits, dim=1).cumsum(dim=1)
            u = (1 - torch.rand(len(cum), 1, generator=gen)) * cum[:, -1:]
            token = (cum < u).sum(dim=1).clamp_(max=cum.shape[1] - 1)
            picked = token.numpy()
            out[active, step] = picked
            tok.advance(state, picked)
            age = age + self.step_[picked]
            seen[np.arange(len(picked)), picked] += 1
            repeats = np.where(tok.type_[picked] >= T.ENC, seen[np.arange(len(picked)), picked], repeats)
            length[active[state.done]] = step + 1
            keep = ~state.done
            if not keep.any():
                break
            if keep.all():
                continue
            rows = torch.from_numpy(keep)
            active, token, h = active[keep], token[rows], h[:, rows]
            constant = (constant[0][rows], constant[1][rows])
            age, birth, sex, end = age[keep], birth[keep], sex[keep], end[keep]
            seen, repeats = seen[keep], repeats[keep]
            state = GrammarState(*(getattr(state, f)[keep] for f in GrammarState.__dataclass_fields__))
        return [out[i, :length[i]] for i in range(n)]

    @property
    def training_summary(self) -> dict[str, Any]:
        stopped: StopReason | None = getattr(self, "stopped_", None)
        return {} if stopped is None else vars(stopped)

    # -- validation ------------------------------------------------------------------------------
    def _check_params(self) -> None:
        super()._check_params()
        for name, low in (("hidden_size", 1), ("layers", 1), ("embedding_size", 1), ("epochs", 1),
                          ("batch_size", 1), ("patience", 0), ("bptt", 1), ("max_train_tokens", 2)):
            check_whole(name, getattr(self, name), low)
        check_number("learning_rate", self.learning_rate)
        check_number("temperature", self.temperature)
        if self.max_time is not None:
            check_number("max_time", self.max_time)
        if not (isinstance(self.dropout, (int, float)) and not isinstance(self.dropout, bool) and 0 <= self.dropout < 1):
            raise GeneratorError(f"dropout must be in [0, 1), got {self.dropout!r}")
        vf = self.validation_fraction
        if not (isinstance(vf, (int, float)) and not isinstance(vf, bool) and 0 <= vf < 0.5):
            raise GeneratorError(f"validation_fraction must be in [0, 0.5), got {vf!r}")
        if self.threads is not None:
            check_whole("threads", self.threads, 1)


@contextmanager
def _cpu(threads: int | None) -> Iterator[None]:
    """Thread limit, and torch's own GRU kernels instead of oneDNN's: oneDNN builds a kernel for every
    new (batch, window) shape, about 0.7 s each, which made the first epoch on Eunomia take 90 s
    instead of 7; the native kernels were also twice as fast at a fixed shape (2 threads)."""
    with torch_threads(threads), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="TF32 acceleration")
        with torch.backends.mkldnn.flags(enabled=False):
            yield


def _expected(binner: Binner) -> np.ndarray:
    """Per bin, the mean of :meth:`Binner.draw` (linear between its eleven quantiles; uniform over an empty bin)."""
    grids = binner.grids
    mean = ((grids[:, :-1] + grids[:, 1:]) / 2).mean(axis=1)
    return np.where(np.isnan(mean), (binner.edges[:-1] + binner.edges[1:]) / 2, mean)


def _batches(rows: np.ndarray, streams: list[np.ndarray], size: int) -> list[np.ndarray]:
    """Patients sorted by length and cut into batches, so a batch holds similar lengths."""
    ordered = rows[np.argsort([len(streams[r]) for r in rows], kind="stable")]
    return [ordered[i:i + size] for i in range(0, len(ordered), size)]
