"""Gaussian copula over empirical marginals.

Each column becomes a normal score through :mod:`hygeia.generators.transforms` (missing
indicators included); the dependence between scores is one correlation matrix; sampling draws
correlated normals and maps them back through each column's own marginal. It keeps every
marginal and the pairwise (rank) dependence and cannot invent structure beyond that, which
makes it a fast, hard-to-overfit default for small clinical tables.

Discrete cells (categories, tied integers, missing indicators) are intervals, not points, on
the normal scale. Pearson correlation on one jittered score per cell understates their
dependence (a 0/1 column that *equals* another correlates only about 0.6 with it). So the
fit refines the correlation by data augmentation (Hoff 2007, "Extending the rank likelihood
for semiparametric copula estimation"): a few Gibbs sweeps draw each discrete or missing cell
from its conditional normal, truncated to its interval, and re-estimate the correlation.

>>> gen = GaussianCopula().fit(dataset)  # doctest: +SKIP
>>> gen.sample(1000, seed=7)  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Self

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

from hygeia.data.dataset import Dataset
from hygeia.errors import GeneratorError
from hygeia.generators.base import Generator, register
from hygeia.generators.transforms import (
    EPS,
    TableEncoder,
    check_sample_size,
    normal_scores,
    training_frame,
    uniform_scores,
)

#: Smallest eigenvalue kept when repairing a correlation matrix (relative to a unit diagonal).
MIN_EIGENVALUE = 1e-6


@register
class GaussianCopula(Generator):
    """Empirical marginals joined by a Gaussian copula.

    Parameters:
        max_categories: categories kept as their own slice per column; rarer ones share a pooled slice.
        shrinkage: weight in [0, 1] pulling the correlation toward the identity (1 = independent baseline).
        sweeps: Gibbs sweeps refining the latent correlation of discrete and missing cells;
            0 keeps plain Pearson correlation of jittered normal scores (faster, attenuated).
        random_state: seed for the draws made while fitting, so a fit is reproducible.
    """

    name = "gaussian_copula"
    summary = "Gaussian copula over empirical marginals; keeps pairwise rank correlations and missingness patterns"

    def __init__(self, max_categories: int = 100, shrinkage: float = 0.0, sweeps: int = 50,
                 random_state: int = 0) -> None:
        self.max_categories = max_categories
        self.shrinkage = shrinkage
        self.sweeps = sweeps
        self.random_state = random_state

    def fit(self, data: Dataset) -> Self:
        shrinkage = self.shrinkage
        if isinstance(shrinkage, bool) or not isinstance(shrinkage, (int, float)) or not 0 <= shrinkage <= 1:
            raise GeneratorError(f"shrinkage must be a number in [0, 1], got {self.shrinkage!r}")
        if isinstance(self.sweeps, bool) or not isinstance(self.sweeps, int) or self.sweeps < 0:
            raise GeneratorError(f"sweeps must be a whole number >= 0, got {self.sweeps!r}")
        frame = training_frame(data)
        rng = np.random.default_rng(self.random_state)
        encoder = TableEncoder(self.max_categories).fit(frame, data.schema)
        corr = pairwise_correlation(normal_scores(encoder.to_uniform(frame, rng)))
        if self.sweeps:
            corr = latent_correlation(*encoder.to_intervals(frame), corr, self.sweeps, rng)
        corr = (1.0 - self.shrinkage) * corr + self.shrinkage * np.eye(len(corr))
        self.correlation_, self.factor_ = nearest_correlation(corr)
        self.encoder_ = encoder
        self.columns_ = list(frame.columns)
        self.features_ = list(encoder.features_)
        return self

    def sample(self, n: int, seed: int | None = None) -> pd.DataFrame:
        self.check_fitted()
        check_sample_size(n)
        rng = np.random.default_rng(seed)
        z = rng.standard_normal((n, self.factor_.shape[1])) @ self.factor_.T
        return self.encoder_.from_uniform(uniform_scores(z))


def pairwise_correlation(z: np.ndarray, min_pairs: int = 3) -> np.ndarray:
    """Pearson correlation on pairwise-complete rows; undefined entries (constant or nearly
    empty columns) become 0, the diagonal 1."""
    corr = pd.DataFrame(z).corr(method="pearson", min_periods=min_pairs).to_numpy()
    corr = np.nan_to_num(corr, nan=0.0)
    np.fill_diagonal(corr, 1.0)
    return corr


def latent_correlation(lo: np.ndarray, hi: np.ndarray, start: np.ndarray, sweeps: int,
                       rng: np.random.Generator) -> np.ndarray:
    """Correlation of latent normals whose cells lie in ``[lo, hi]`` (uniform scale; NaN = missing).

    Stochastic EM: each sweep redraws every cell of an interval-valued column from its
    conditional normal given the other columns, truncated to its interval, then re-estimates
    the correlation; the second half of the sweeps is averaged. Columns that carry no
    information (every cell spans all of [0, 1], e.g. a constant column) keep correlation 0.
    """
    n, d = lo.shape
    missing = np.isnan(lo)
    bound = ndtri(1 - EPS)
    a = np.where(missing, -np.inf, np.clip(ndtri(np.nan_to_num(lo, nan=0.0)), -bound, bound))
    b = np.where(missing, np.inf, np.clip(ndtri(np.nan_to_num(hi, nan=1.0)), -bound, bound))
    z = _truncated_normal(np.zeros((n, d)), np.ones(d), a, b, rng)
    wide = (b - a) > 1e-3
    free = [j for j in range(d) if wide[:, j].any()]
    blank = np.all((a <= -bound) & (b >= bound), axis=0)
    corr, total, kept = start, np.zeros((d, d)), 0
    for sweep in range(sweeps):
        precision = np.linalg.inv(nearest_correlation(corr)[0])
        for j in free:
            beta = -precision[j] / precision[j, j]
            beta[j] = 0.0
            z[:, j] = _truncated_normal(z @ beta, 1.0 / np.sqrt(precision[j, j]), a[:, j], b[:, j], rng)
        corr = np.nan_to_num(np.corrcoef(z, rowvar=False), nan=0.0)
        corr[blank, :] = corr[:, blank] = 0.0
        np.fill_diagonal(corr, 1.0)
        if sweep >= sweeps // 2:
            total, kept = total + corr, kept + 1
    return total / kept


def _truncated_normal(mean: np.ndarray, sd: np.ndarray | float, a: np.ndarray, b: np.ndarray,
                      rng: np.random.Generator) -> np.ndarray:
    """Draw N(mean, sd) truncated to [a, b] by inverse CDF, working in the lower tail for accuracy."""
    lo, hi = (a - mean) / sd, (b - mean) / sd
    flip = lo > 0
    lo, hi = np.where(flip, -hi, lo), np.where(flip, -lo, hi)
    p_lo, p_hi = ndtr(lo), ndtr(hi)
    x = np.clip(ndtri(p_lo + (p_hi - p_lo) * rng.uniform(size=np.shape(lo))), lo, hi)
    return mean + sd * np.where(flip, -x, x)


def nearest_correlation(corr: np.ndarray, min_eigenvalue: float = MIN_EIGENVALUE) -> tuple[np.ndarray, np.ndarray]:
    """Repair a symmetric matrix into a positive-definite correlation matrix by eigenvalue clipping.

    Returns the matrix ``C`` and a factor ``F`` with ``F @ F.T == C``, so ``F @ e`` for standard
    normal ``e`` has correlation ``C`` (no Cholesky that could fail on a near-singular ``C``).

    >>> c, f = nearest_correlation(np.array([[1, .9, -.9], [.9, 1, .9], [-.9, .9, 1]]))
    >>> bool(np.linalg.eigvalsh(c).min() > 0), bool(np.allclose(np.diag(c), 1)), bool(np.allclose(f @ f.T, c))
    (True, True, True)
    """
    sym = np.asarray(corr, dtype=float)
    sym = (sym + sym.T) / 2
    w, v = np.linalg.eigh(sym)
    factor = v * np.sqrt(np.clip(w, min_eigenvalue, None))
    factor = factor / np.sqrt(np.sum(factor**2, axis=1))[:, None]  # unit diagonal
    return factor @ factor.T, factor
