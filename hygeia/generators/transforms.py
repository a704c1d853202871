"""Reversible per-column encoders shared by the tabular generators.

Every modelled column maps to a *uniform score* in [0, 1] and back, so a model only has to
learn how the scores move together:

* numeric, integer and datetime columns: empirical CDF (mid-ranks) forward, interpolated
  empirical quantile function backward. Skewed columns, point masses (many zeros) and bounds
  survive, and no value leaves the observed [min, max]; integers are rounded, datetimes travel
  as int64 nanoseconds and keep their training resolution (dates stay dates, whole seconds
  stay whole seconds).
* categorical and boolean columns: frequency intervals. Each category owns a slice of [0, 1]
  as wide as its frequency; forward draws uniformly inside the slice, backward reads the slice
  back. Number-like categories (0/1, codes 1..4) are ordered by value so ordinal information
  shows up in correlations. Beyond the ``max_categories`` most frequent, categories share one
  pooled slice (rare categories are kept, only their ordering information is given up).
* missingness: every column with a missing value gets a 0/1 indicator feature, encoded like a
  boolean, so a model learns *when* a value is missing jointly with everything else; the
  decoded table has NaN exactly where the indicator says.

A model works on the score matrix and hands back any matrix of the same width:

>>> enc = TableEncoder().fit(dataset.modelled_frame(), dataset.schema)  # doctest: +SKIP
>>> u = enc.to_uniform(dataset.modelled_frame(), np.random.default_rng(0))  # doctest: +SKIP
>>> enc.from_uniform(np.random.default_rng(1).uniform(size=(100, u.shape[1])))  # doctest: +SKIP

``to_uniform`` leaves NaN where a value is missing (the indicator carries that fact); a model
that needs a complete matrix fills those cells itself, e.g. with independent uniforms.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, Self

import numpy as np
import pandas as pd
from scipy.stats import norm

from hygeia.data.dataset import Dataset
from hygeia.data.schema import ColumnKind, Schema
from hygeia.errors import GeneratorError

#: Quantile knots kept per numeric column; above this many rows the knots are Hazen quantiles.
MAX_KNOTS = 10_000
#: Scores are kept this far from 0 and 1 before the normal quantile function (avoids +-inf).
EPS = 1e-9

_PerColumn = Callable[["ColumnEncoder", pd.Series], tuple[np.ndarray, ...]]


class ColumnEncoder(ABC):
    """Maps one column's *observed* values to uniform scores and back."""

    @abstractmethod
    def fit(self, values: pd.Series) -> Self:
        """Learn from the non-missing values of one column."""

    @abstractmethod
    def intervals(self, values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        """The slice ``[lo, hi]`` of [0, 1] each non-missing value occupies (its tie block or category)."""

    @abstractmethod
    def to_uniform(self, values: pd.Series, rng: np.random.Generator) -> np.ndarray:
        """One score in [0, 1] per non-missing value (``rng`` places it inside a category's slice)."""

    @abstractmethod
    def from_uniform(self, u: np.ndarray) -> np.ndarray:
        """Values for scores ``u`` (any shape-(n,) array in [0, 1])."""


class QuantileEncoder(ColumnEncoder):
    """Empirical CDF forward (mid-ranks), interpolated empirical quantile function backward.

    >>> enc = QuantileEncoder(integer=True).fit(pd.Series([0, 0, 0, 5, 9]))
    >>> enc.to_uniform(pd.Series([0, 9]), None).round(2).tolist()
    [0.3, 0.9]
    >>> enc.from_uniform(np.array([0.0, 0.5, 1.0])).tolist()
    [0.0, 0.0, 9.0]
    """

    def __init__(self, integer: bool = False, max_knots: int = MAX_KNOTS) -> None:
        self.integer = integer
        self.max_knots = max_knots

    def fit(self, values: pd.Series) -> Self:
        x = np.sort(np.asarray(values, dtype=float))
        n = len(x)
        if n <= self.max_knots:
            self.knots_ = x
            self.probs_ = (np.arange(n) + 0.5) / n
        else:  # Hazen plotting positions keep min and max as the end knots.
            self.probs_ = np.linspace(0.5 / n, 1 - 0.5 / n, self.max_knots)
            self.knots_ = np.quantile(x, self.probs_, method="hazen")
        return self

    def intervals(self, values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        x = np.asarray(values, dtype=float)
        k = len(self.knots_)
        return np.searchsorted(self.knots_, x, side="left") / k, np.searchsorted(self.knots_, x, side="right") / k

    def to_uniform(self, values: pd.Series, rng: np.random.Generator | None) -> np.ndarray:
        # Mid-rank: ties share the centre of their block, so a point mass maps back onto itself.
        lo, hi = self.intervals(values)
        k = len(self.knots_)
        return np.clip((lo + hi) / 2, 0.5 / k, 1 - 0.5 / k)

    def from_uniform(self, u: np.ndarray) -> np.ndarray:
        x = np.interp(u, self.probs_, self.knots_)
        return np.rint(x) if self.integer else x


class DatetimeEncoder(QuantileEncoder):
    """A :class:`QuantileEncoder` on int64 nanoseconds (UTC for tz-aware columns).

    Output keeps the training resolution: a column of dates (all midnights) comes back as
    dates, one of whole seconds as whole seconds.
    """

    def __init__(self, max_knots: int = MAX_KNOTS) -> None:
        super().__init__(integer=True, max_knots=max_knots)

    def fit(self, values: pd.Series) -> Self:
        values = pd.Series(values)
        self.tz_ = getattr(values.dt, "tz", None)
        ns = self._ns(values)
        # Offsets from the minimum shrink float64 rounding; from_uniform clips to [min, max] anyway.
        self.origin_, self.last_ = int(ns.min()), int(ns.max())
        # Whole days only make sense on wall-clock (naive) times; finer units hold in UTC too.
        self.step_ = next((step for unit, step in _TIME_STEPS.items()
                           if (unit != "D" or self.tz_ is None) and not np.any(ns % step)), 1)
        return super().fit(pd.Series(ns - self.origin_))

    def intervals(self, values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        return super().intervals(pd.Series(self._ns(pd.Series(values)) - self.origin_))

    def from_uniform(self, u: np.ndarray) -> np.ndarray:
        offset = np.rint(super().from_uniform(u) / self.step_) * self.step_  # min and max are multiples
        ns = np.clip(offset.astype(np.int64) + self.origin_, self.origin_, self.last_)
        out = pd.Series(pd.to_datetime(ns, unit="ns"))
        if self.tz_ is not None:
            out = out.dt.tz_localize("UTC").dt.tz_convert(self.tz_)
        return out.to_numpy() if self.tz_ is None else out.array

    def _ns(self, values: pd.Series) -> np.ndarray:
        if self.tz_ is not None:
            values = values.dt.tz_convert("UTC").dt.tz_localize(None)
        return values.astype("datetime64[ns]").astype(np.int64).to_numpy()


_TIME_STEPS = {"D": 86_400 * 10**9, "h": 3_600 * 10**9, "min": 60 * 10**9, "s": 10**9, "ms": 10**6, "us": 10**3}


class FrequencyEncoder(ColumnEncoder):
    """Each category owns a slice of [0, 1] as wide as its frequency.

    Number-like categories are ordered by value, others by falling frequency. Categories
    beyond the ``max_categories`` most frequent share one pooled slice at the end: forward
    draws anywhere in it, backward splits it by the pooled categories' frequencies.

    >>> enc = FrequencyEncoder().fit(pd.Series([1, 0, 0, 0]))
    >>> enc.values_, enc.edges_.tolist()
    ([0, 1], [0.0, 0.75, 1.0])
    >>> enc.from_uniform(np.array([0.1, 0.8])).tolist()
    [0, 1]
    """

    def __init__(self, max_categories: int = 100) -> None:
        self.max_categories = max_categories

    def fit(self, values: pd.Series) -> Self:
        counts = pd.Series(values).value_counts(sort=False)
        # Sort by (-count, text) so ties are broken the same way on every run.
        order = sorted(range(len(counts)), key=lambda i: (-counts.iloc[i], str(counts.index[i])))
        kept, pooled = order[: self.max_categories], order[self.max_categories :]
        if _number_like(counts.index[kept]):
            kept = sorted(kept, key=lambda i: float(pd.to_numeric(counts.index[i])))
        ordered = kept + pooled
        freqs = counts.to_numpy()[ordered] / counts.sum()
        self.values_: list[Any] = [_plain(counts.index[i]) for i in ordered]
        self.edges_ = np.concatenate([[0.0], np.cumsum(freqs)])
        self.edges_[-1] = 1.0
        self.n_kept_ = len(kept)
        self.index_ = {v: i for i, v in enumerate(self.values_)}
        return self

    def intervals(self, values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        idx = pd.Series(values).map(self.index_)
        if idx.isna().any():
            unseen = pd.Series(values)[idx.isna()].iloc[0]
            raise GeneratorError(f"category {_plain(unseen)!r} was not in the training data; "
                                 "refit on data that has it")
        idx = idx.to_numpy(dtype=int)
        pooled = idx >= self.n_kept_  # a pooled category may sit anywhere in the pooled slice
        lo = np.where(pooled, self.edges_[self.n_kept_], self.edges_[idx])
        hi = np.where(pooled, 1.0, self.edges_[idx + 1])
        return lo, hi

    def to_uniform(self, values: pd.Series, rng: np.random.Generator) -> np.ndarray:
        lo, hi = self.intervals(values)
        return lo + (hi - lo) * rng.uniform(size=len(lo))

    def from_uniform(self, u: np.ndarray) -> np.ndarray:
        idx = np.searchsorted(self.edges_[1:-1], u, side="right")
        out = np.empty(len(idx), dtype=object)
        out[:] = [self.values_[i] for i in idx]
        return out


class TableEncoder:
    """Encodes a table's modelled columns (plus missing indicators) as a score matrix.

    ``features_`` names the matrix columns: the table's columns in order, then
    ``"<column>__missing"`` for each column that had a missing value.
    """

    def __init__(self, max_categories: int = 100) -> None:
        self.max_categories = max_categories

    def fit(self, frame: pd.DataFrame, schema: Schema) -> Self:
        if isinstance(self.max_categories, bool) or not isinstance(self.max_categories, (int, np.integer)) \
                or self.max_categories < 1:
            raise GeneratorError(f"max_categories must be a whole number >= 1, got {self.max_categories!r}")
        self.columns_ = list(frame.columns)
        self.dtypes_ = {c: frame[c].dtype for c in self.columns_}
        self.encoders_: dict[str, ColumnEncoder | None] = {}
        self.indicators_: dict[str, FrequencyEncoder] = {}
        for col in self.columns_:
            series = frame[col]
            observed = series.dropna()
            encoder = self._encoder_for(schema[col].kind, series.dtype)
            self.encoders_[col] = encoder.fit(observed) if len(observed) else None
            if len(observed) < len(series):
                self.indicators_[col] = FrequencyEncoder().fit(series.isna().astype(int))
        self.features_ = [*self.columns_, *(f"{c}__missing" for c in self.indicators_)]
        return self

    def to_uniform(self, frame: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
        """Score matrix, shape ``(len(frame), len(features_))``; NaN where a value is missing."""
        (u,) = self._per_feature(frame, lambda enc, values: (enc.to_uniform(values, rng),), 1)
        return u

    def to_intervals(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Matrices ``lo, hi`` bounding each cell's score (tie block or category slice); NaN where missing.

        A latent-variable model uses these to learn dependence between discrete columns without
        the attenuation that a single jittered score per cell brings.
        """
        lo, hi = self._per_feature(frame, lambda enc, values: enc.intervals(values), 2)
        return lo, hi

    def _per_feature(self, frame: pd.DataFrame, fn: _PerColumn, k: int) -> list[np.ndarray]:
        """Run ``fn`` on every column's observed values and every missing indicator; ``k`` outputs each."""
        out = [np.full((len(frame), len(self.features_)), np.nan) for _ in range(k)]
        for j, col in enumerate(self.columns_):
            observed = frame[col].notna().to_numpy()
            encoder = self.encoders_[col]
            if encoder is not None and observed.any():
                for matrix, result in zip(out, fn(encoder, frame[col][observed]), strict=True):
                    matrix[observed, j] = result
        for j, (col, indicator) in enumerate(self.indicators_.items(), start=len(self.columns_)):
            for matrix, result in zip(out, fn(indicator, frame[col].isna().astype(int)), strict=True):
                matrix[:, j] = result
        return out

    def from_uniform(self, u: np.ndarray) -> pd.DataFrame:
        """Decode a score matrix into a frame with the training columns, order and dtypes."""
        u = np.asarray(u, dtype=float)
        if u.ndim != 2 or u.shape[1] != len(self.features_):
            raise GeneratorError(f"expected a score matrix with {len(self.features_)} columns, got shape {u.shape}")
        u = np.clip(u, 0.0, 1.0)
        missing = {col: ind.from_uniform(u[:, j]).astype(int) == 1
                   for j, (col, ind) in enumerate(self.indicators_.items(), start=len(self.columns_))}
        out = {}
        for j, col in enumerate(self.columns_):
            encoder = self.encoders_[col]
            values = pd.Series(encoder.from_uniform(u[:, j]) if encoder is not None else np.full(len(u), np.nan))
            if col in missing:
                values = values.where(~missing[col], None if values.dtype == object else np.nan)
            out[col] = _restore_dtype(values, self.dtypes_[col])
        return pd.DataFrame(out, columns=self.columns_)

    def _encoder_for(self, kind: ColumnKind, dtype: Any) -> ColumnEncoder:
        if kind is ColumnKind.DATETIME:
            return DatetimeEncoder()
        if kind in (ColumnKind.NUMERIC, ColumnKind.INTEGER):
            return QuantileEncoder(integer=kind is ColumnKind.INTEGER or pd.api.types.is_integer_dtype(dtype))
        if kind in (ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN):
            return FrequencyEncoder(self.max_categories)
        raise GeneratorError(f"column kind {kind.value!r} is never modelled; "
                             "drop the column or change its kind in the schema file")


def normal_scores(u: np.ndarray) -> np.ndarray:
    """Standard-normal scores of uniform scores (NaN stays NaN)."""
    return norm.ppf(np.clip(u, EPS, 1 - EPS))


def uniform_scores(z: np.ndarray) -> np.ndarray:
    """Inverse of :func:`normal_scores`."""
    return norm.cdf(z)


def training_frame(data: Dataset) -> pd.DataFrame:
    """The modelled columns of ``data``, checked to be something a generator can learn from."""
    if not isinstance(data, Dataset):
        raise GeneratorError(f"fit() needs a hygeia Dataset, got {type(data).__name__}; "
                             "wrap it with Dataset.from_frame(df)")
    frame = data.modelled_frame()
    if frame.shape[1] == 0:
        raise GeneratorError(f"{data.source} has no modelled column (all identifiers or free text); "
                             "set a column kind in the schema file")
    if len(frame) == 0:
        raise GeneratorError(f"{data.source} has no rows to learn from; check filters and consent opt-outs")
    return frame


def check_sample_size(n: int) -> None:
    """``n`` must be a positive whole number."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise GeneratorError(f"number of rows to sample must be a whole number >= 1, got {n!r}")


def _number_like(values: pd.Index) -> bool:
    try:
        pd.to_numeric(pd.Series(list(values), dtype=object), errors="raise")
    except (TypeError, ValueError):
        return False
    return True


def _plain(value: Any) -> Any:
    """NumPy scalars to Python ones, so lookups and pickles are stable."""
    return value.item() if isinstance(value, np.generic) else value


def _restore_dtype(values: pd.Series, dtype: Any) -> pd.Series:
    # Missing values only appear where training had them, so the training dtype can hold them.
    try:
        return values.astype(dtype)
    except (TypeError, ValueError):
        return values
