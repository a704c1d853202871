"""The `SequenceGenerator` contract: learn patient histories from a `Cohort`, sample new ones.

Like the table contract (:mod:`hygeia.generators.base`): ``__init__`` only stores parameters,
``fit`` learns into attributes ending in ``_`` and returns ``self``, ``sample`` draws patients
``S00001``, ``S00002``... (same seed, same cohort), and ``save``/``load`` keep the fitted state.
Every family shares the tokenizer (:mod:`.tokens`, so models compare like for like) and the
static model below; a family only learns and samples token streams:

>>> class MyModel(SequenceGenerator):                                   # doctest: +SKIP
...     name = "my_model"
...     def _fit_streams(self, encoded, rng): ...                       # learn from Encoded streams
...     def _sample_streams(self, static, rng) -> list[np.ndarray]: ... # one stream per static row

>>> gen = make_sequence_generator("markov").fit(cohort)  # doctest: +SKIP
>>> gen.sample(100, seed=7).n_patients                     # doctest: +SKIP
100
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar, Self

import numpy as np

from hygeia.data.longitudinal.cohort import Cohort
from hygeia.errors import GeneratorError
from hygeia.generators.base import Estimator, build_registered
from hygeia.generators.sequence.tokens import STATIC_FIELDS, Encoded, Tokenizer

SEQUENCE_REGISTRY: dict[str, type[SequenceGenerator]] = {}
#: Fewer patients with events than this and there is nothing to learn a history from.
MIN_PATIENTS = 2
#: Streams longer than this are never sampled, whatever the longest real one.
MAX_LENGTH_CAP = 20_000


class StaticModel:
    """Static attributes as a small chain of frequency tables: P(sex, age band), P(birth bin | band),
    P(race), P(ethnicity | race). Factorised on purpose: a full joint table would replay each real
    patient's rare combination of attributes."""

    #: (child field, parent field or None); the sex x band pair is one joint table.
    CHAIN = (("birth", "band"), ("race", None), ("ethnicity", "race"))

    def fit(self, static: np.ndarray, sizes: tuple[int, ...]) -> StaticModel:
        self.sizes = sizes
        col = {name: i for i, name in enumerate(STATIC_FIELDS)}
        self.joint = np.bincount(static[:, 0] * sizes[1] + static[:, 1], minlength=sizes[0] * sizes[1]).astype(float)
        self.tables: list[tuple[int, int | None, np.ndarray]] = []
        for child, parent in self.CHAIN:
            c, p = col[child], (col[parent] if parent else None)
            parents = static[:, p] if p is not None else np.zeros(len(static), dtype=np.int64)
            counts = np.zeros((sizes[p] if p is not None else 1, sizes[c]))
            np.add.at(counts, (parents, static[:, c]), 1)
            counts[counts.sum(axis=1) == 0] = np.bincount(static[:, c], minlength=sizes[c])  # unseen parent
            self.tables.append((c, p, counts / counts.sum(axis=1, keepdims=True)))
        return self

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        out = np.zeros((n, len(STATIC_FIELDS)), dtype=np.int64)
        pair = rng.choice(len(self.joint), size=n, p=self.joint / self.joint.sum())
        out[:, 0], out[:, 1] = np.divmod(pair, self.sizes[1])
        for c, p, table in self.tables:
            parents = out[:, p] if p is not None else np.zeros(n, dtype=np.int64)
            cum = table.cumsum(axis=1)[parents]
            out[:, c] = np.minimum((cum < rng.random((n, 1))).sum(axis=1), table.shape[1] - 1)
        return out


class SequenceGenerator(Estimator, ABC):
    """Learns patient histories (a `Cohort`) and samples new patients.

    Parameters (shared by every family; a family adds its own before ``**tokens``):
        min_code_patients: codes (and coded values, races, ethnicities) seen in fewer patients are
            pooled into OTHER, a privacy measure (see :mod:`.tokens`).
        time_bins: quantile bins of gaps, encounter durations and event lengths.
        value_bins: quantile bins per numeric code.
        offset_bins: bins of an event's position inside its encounter (fractions of its length).
        max_length: most tokens sampled per patient; ``None`` = the longest real stream. A history
            cut there ends alive.
        random_state: seed of the fit.
    """

    #: Settings for a quick fit (tests, smoke runs): the contract is about behaviour, not quality.
    quick_params: ClassVar[dict[str, Any]] = {}

    def __init__(self, *, min_code_patients: int = 5, time_bins: int = 16, value_bins: int = 10,
                 offset_bins: int = 8, max_length: int | None = None, random_state: int = 0) -> None:
        self.min_code_patients = min_code_patients
        self.time_bins = time_bins
        self.value_bins = value_bins
        self.offset_bins = offset_bins
        self.max_length = max_length
        self.random_state = random_state

    # -- the family's part -----------------------------------------------------------------------
    @abstractmethod
    def _fit_streams(self, encoded: Encoded, rng: np.random.Generator) -> None:
        """Learn from the streams; ``self.tokenizer_`` and ``self.max_length_`` are set."""

    @abstractmethod
    def _sample_streams(self, static: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
        """One token stream per row of static ids, at most ``self.max_length_`` tokens each."""

    # -- the contract ----------------------------------------------------------------------------
    def fit(self, cohort: Cohort) -> Self:
        """Learn the cohort's histories; patients without events are not learnt."""
        if not isinstance(cohort, Cohort):
            raise GeneratorError(f"{self.name} learns from a Cohort (patients + events), got "
                                 f"{type(cohort).__name__}; read one with read_fhir or read_omop")
        self._check_params()
        self._forget()  # a refit starts clean
        if cohort.n_events == 0:
            raise GeneratorError(f"{cohort.source}: the cohort has no events; a sequence model needs histories")
        tokenizer = Tokenizer(self.min_code_patients, self.time_bins, self.value_bins, self.offset_bins).fit(cohort)
        encoded = tokenizer.encode(cohort)
        if len(encoded.streams) < MIN_PATIENTS:
            raise GeneratorError(f"{cohort.source}: {len(encoded.streams)} patient(s) with events; "
                                 f"at least {MIN_PATIENTS} are needed")
        longest = max(len(s) for s in encoded.streams)
        try:
            self.tokenizer_, self.max_length_ = tokenizer, min(self.max_length or longest, MAX_LENGTH_CAP)
            self.n_patients_ = len(encoded.streams)
            self._fit_streams(encoded, np.random.default_rng(self.random_state))
            self.static_ = StaticModel().fit(encoded.static, tokenizer.static_sizes)
        except BaseException:
            self._forget()  # a failed fit leaves the model unfitted, not half-fitted
            raise
        return self

    def _forget(self) -> None:
        for key in [k for k in vars(self) if k.endswith("_") and not k.startswith("_")]:
            delattr(self, key)

    def sample(self, n: int, seed: int | None = None) -> Cohort:
        """``n`` new patients; the same seed gives the same cohort."""
        self.check_fitted()
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise GeneratorError(f"number of patients to sample must be a whole number >= 1, got {n!r}")
        rng = np.random.default_rng(seed)
        static = self.static_.sample(int(n), rng)
        streams = self._sample_streams(static, rng)
        return self.tokenizer_.decode(static, streams, rng, source=f"{self.name} sample (seed {seed})")

    @property
    def training_summary(self) -> dict[str, Any]:
        """How training went, for the model card (families with a training loop fill it)."""
        return {}

    # -- validation ------------------------------------------------------------------------------
    def _check_params(self) -> None:
        for name, low in (("min_code_patients", 1), ("time_bins", 1), ("value_bins", 1), ("offset_bins", 1)):
            check_whole(name, getattr(self, name), low)
        if self.max_length is not None:
            check_whole("max_length", self.max_length, 2)
        check_whole("random_state", self.random_state, 0)


def check_whole(name: str, value: object, low: int) -> None:
    """A one-line GeneratorError unless ``value`` is an integer (not a bool) >= ``low``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise GeneratorError(f"{name} must be a whole number >= {low}, got {value!r}")


def check_number(name: str, value: object, low: float = 0.0) -> None:
    """A one-line GeneratorError unless ``value`` is a number > ``low``."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) or not value > low:
        raise GeneratorError(f"{name} must be a number > {low:g}, got {value!r}")


def register_sequence(cls: type[SequenceGenerator]) -> type[SequenceGenerator]:
    """Class decorator: make a sequence generator available by its ``name``."""
    SEQUENCE_REGISTRY[cls.name] = cls
    return cls


def make_sequence_generator(name: str, **params: Any) -> SequenceGenerator:
    """Build a registered sequence generator by name, with a helpful error for typos."""
    return build_registered(SEQUENCE_REGISTRY, name, params, "sequence generator")
