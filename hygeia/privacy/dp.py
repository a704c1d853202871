"""Differential-privacy building blocks shared by the generators: budgets, noisy marginals, accounting.

What is protected, and what is not. The ε covers the *values* in the rows. The table's shape
is treated as public metadata, as in OpenDP/SmartNoise practice: the column list, each
categorical column's set of categories, each numeric column's range and whether a column can
be missing at all. When those could
identify someone (a category held by one patient, an extreme lab value), state them in the
schema file from public knowledge rather than from the data.

Mechanisms compose by basic composition (ε and δ add up), which is loose but simple to audit.

>>> budget = PrivacyBudget(epsilon=3.0, delta=1e-6)
>>> marginals, rest = budget.split(0.2)
>>> round(marginals.epsilon, 2), round(rest.epsilon, 2)
(0.6, 2.4)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from hygeia.data.schema import ColumnKind, Schema
from hygeia.errors import GeneratorError

#: Cells per numeric column in a noisy histogram, the two range ends included (one per value when an integer
#: column has fewer values in its range).
HISTOGRAM_BINS = 64


@dataclass(frozen=True)
class PrivacyBudget:
    """An (ε, δ) pair; δ = 0 is pure ε-DP."""

    epsilon: float
    delta: float = 0.0

    def __post_init__(self) -> None:
        if isinstance(self.epsilon, bool) or not isinstance(self.epsilon, (int, float)) or not self.epsilon > 0:
            raise GeneratorError(f"epsilon must be a number > 0, got {self.epsilon!r}")
        if isinstance(self.delta, bool) or not isinstance(self.delta, (int, float)) or not 0 <= self.delta < 1:
            raise GeneratorError(f"delta must be a number in [0, 1), got {self.delta!r}")

    def split(self, share: float) -> tuple[PrivacyBudget, PrivacyBudget]:
        """Two budgets: ``share`` of ε (and none of δ) for the first, the rest for the second."""
        first = PrivacyBudget(self.epsilon * share, 0.0)
        return first, PrivacyBudget(self.epsilon - first.epsilon, self.delta)

    def as_dict(self) -> dict[str, float]:
        return {"epsilon": float(self.epsilon), "delta": float(self.delta)}


def default_delta(n_rows: int) -> float:
    """δ well below 1/n, the usual rule: a mechanism may fail for at most a tiny share of people."""
    return float(min(1e-5, 1.0 / (10.0 * max(n_rows, 1) ** 1.1)))


def compose(*spent: PrivacyBudget) -> PrivacyBudget:
    """Basic sequential composition: ε and δ add up."""
    return PrivacyBudget(sum(b.epsilon for b in spent), sum(b.delta for b in spent))


def noisy_marginals_frame(frame: pd.DataFrame, schema: Schema, epsilon: float,
                          rng: np.random.Generator) -> pd.DataFrame:
    """A frame of ``len(frame)`` rows whose columns are drawn *independently* from ε-DP histograms.

    Each column's histogram (categories; or a cell for each end of its public range and
    equal-width bins between them; plus a "missing" cell) gets Laplace noise. Removing one patient changes one
    count per column, so the whole set of histograms has L1 sensitivity = number of columns
    and each column gets ``epsilon / columns``. Every category and range end appears at least
    once, and a column that can be missing has at least one gap, so an encoder fitted on the
    result accepts the real table.
    """
    if not epsilon > 0:
        raise GeneratorError(f"epsilon for the marginals must be > 0, got {epsilon!r}")
    n, d = len(frame), frame.shape[1]
    scale = d / epsilon
    out = {}
    for col in frame.columns:
        out[col] = _noisy_column(frame[col], schema[col].kind, scale, n, rng)
    return pd.DataFrame(out, columns=frame.columns)


def _noisy_column(series: pd.Series, kind: ColumnKind, scale: float, n: int, rng: np.random.Generator) -> pd.Series:
    observed = series.dropna()
    missing = len(series) - len(observed)
    if not len(observed):
        return series.copy()
    if kind in (ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN) or series.dtype == object:
        values = list(pd.unique(observed))
        counts = observed.value_counts().reindex(values).to_numpy(dtype=float)
        cells = _noisy_counts(np.append(counts, missing), scale, rng)
        draws = _draw(cells, n, rng)
        picked = pd.Series([values[i] if i < len(values) else None for i in draws], dtype=object)
        if missing and len(picked) > len(values):
            picked.iloc[-1] = None  # can be missing (public): keep one gap, so the encoder keeps the indicator
        return _with_anchors(picked, values, series.dtype)
    is_time = kind is ColumnKind.DATETIME
    x = (observed.astype("datetime64[ns]").astype(np.int64) if is_time else observed).to_numpy(dtype=float)
    lo, hi = float(x.min()), float(x.max())  # the public range
    integral = is_time or np.array_equal(x, np.round(x))
    if hi == lo:
        edges, counts = np.array([lo, lo]), np.array([float(len(x))])
    elif integral and hi - lo < HISTOGRAM_BINS:  # one cell per whole value
        edges = np.arange(lo, hi + 2) - 0.5
        counts = np.histogram(x, bins=edges)[0].astype(float)
    else:
        # The range ends get cells of their own, the rest equal-width bins: a point mass at an end (the many
        # zeros of a prior-treatment count) would otherwise be smeared over its whole bin. Each patient still
        # falls in exactly one cell, so the sensitivity is unchanged.
        inner = np.linspace(lo, hi, HISTOGRAM_BINS - 1)
        edges = np.concatenate([[lo, lo], inner[1:-1], [hi, hi]])
        middle = (x > lo) & (x < hi)
        counts = np.concatenate([[np.sum(x == lo)], np.histogram(x[middle], bins=inner)[0], [np.sum(x == hi)]])
        counts = counts.astype(float)
    cells = _noisy_counts(np.append(counts, missing), scale, rng)
    draws = _draw(cells, n, rng)
    width = np.diff(edges)
    k = np.minimum(draws, len(width) - 1)
    values = edges[k] + width[k] * rng.uniform(size=n)
    if integral:
        values = np.rint(values)
    values = np.where(draws >= len(width), np.nan, np.clip(values, lo, hi))
    anchors = [lo, hi][: len(values)]
    values[: len(anchors)] = anchors  # the public range, so an encoder fitted on this spans it
    if missing and len(values) > len(anchors):
        values[-1] = np.nan  # can be missing (public): keep one gap, so the encoder keeps the indicator
    if is_time:
        result = pd.Series(pd.to_datetime(pd.Series(values), unit="ns"))
        tz = getattr(series.dt, "tz", None)
        return result.dt.tz_localize("UTC").dt.tz_convert(tz) if tz is not None else result.astype(series.dtype)
    return _astype(pd.Series(values), series.dtype)


def _noisy_counts(counts: np.ndarray, scale: float, rng: np.random.Generator) -> np.ndarray:
    """Laplace-noised counts; the last cell counts missing values and stays 0 for a never-missing column."""
    noisy = np.clip(counts + rng.laplace(0.0, scale, size=len(counts)), 0.0, None)
    if counts[-1] == 0:
        noisy[-1] = 0.0
    if not noisy[:-1].any():  # all value cells drowned in noise: no information, so a flat histogram of values
        noisy[:-1] = 1.0
    return noisy


def _draw(cells: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    p = cells / cells.sum() if cells.sum() > 0 else np.full(len(cells), 1.0 / len(cells))
    return rng.choice(len(cells), size=n, p=p)


def _with_anchors(picked: pd.Series, values: list, dtype: object) -> pd.Series:
    """Put every public category in at least once (at the top), so the encoder knows all of them."""
    k = min(len(values), len(picked))
    picked.iloc[:k] = values[:k]
    return _astype(picked, dtype)


def _astype(values: pd.Series, dtype: object) -> pd.Series:
    try:
        return values.astype(dtype)
    except (TypeError, ValueError):
        return values
