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

Differential privacy (``epsilon`` set): a share of ε (:data:`MARGINAL_SHARE`) buys noisy
histograms that the marginals are fitted on (:func:`~hygeia.privacy.dp.noisy_marginals_frame`);
the rest buys the correlation through *Analyze Gauss* (Dwork, Talwar, Thakurta & Zhang 2014):
each value becomes the expected normal score of its slice (:func:`cell_scores`), each row is
scaled into the unit ball, the second-moment matrix gets symmetric Gaussian noise calibrated by
the analytic Gaussian mechanism (Balle & Wang 2018), and the result is normalised, corrected
for the attenuation of discrete and missing cells (a factor read off the private marginals,
not the rows) and repaired into a correlation matrix. No Gibbs sweep touches the private rows
(``sweeps`` is ignored). What stays public is what :mod:`hygeia.privacy.dp` lists (columns,
categories, numeric ranges, whether a column can be missing, the number of rows); everything
else passes through a noisy mechanism, and ``privacy_spent`` is exactly the (ε, δ) asked for.
The noise comes from the operating system's entropy unless ``noise_seed`` is set, because a
noise seed that is known (and ``random_state`` is recorded with every artifact) voids the
guarantee.

>>> gen = GaussianCopula().fit(dataset)  # doctest: +SKIP
>>> gen.sample(1000, seed=7)  # doctest: +SKIP
>>> GaussianCopula(epsilon=3.0).fit(dataset).privacy_spent  # doctest: +SKIP
{'epsilon': 3.0, 'delta': 1e-05}
"""

from __future__ import annotations

from typing import Self

import numpy as np
import pandas as pd
from scipy.optimize import brentq
from scipy.special import log_ndtr, ndtr, ndtri
from scipy.stats import norm

from hygeia.data.dataset import Dataset
from hygeia.errors import GeneratorError
from hygeia.generators.base import Generator, register
from hygeia.generators.transforms import (
    EPS,
    FrequencyEncoder,
    QuantileEncoder,
    TableEncoder,
    check_sample_size,
    normal_scores,
    training_frame,
    uniform_scores,
)
from hygeia.privacy.dp import PrivacyBudget, compose, default_delta, noisy_marginals_frame

#: Smallest eigenvalue kept when repairing a correlation matrix (relative to a unit diagonal).
MIN_EIGENVALUE = 1e-6
#: Share of ε spent on the noisy marginals; the rest (and all of δ) buys the correlation. Measured on
#: ACTG 175 at ε = 1 and 3: 0.3 loses fidelity, 0.7 loses utility; an even split sits between.
MARGINAL_SHARE = 0.5
#: Rows of cell scores are clipped to norm ``ROW_BOUND * sqrt(features)`` before Analyze Gauss. Below 1
#: because cell means of discrete columns vary less than a standard normal; on ACTG 175, 0.6 gave the
#: smallest error against the non-private correlation (1.0 was 15% worse at ε = 3; smaller bounds equal).
ROW_BOUND = 0.6
#: Human-readable mechanism, for the model card and the report.
DP_MECHANISM = (f"Laplace-noised histograms ({MARGINAL_SHARE:.0%} of ε) for the marginals, then Analyze Gauss "
                "(Gaussian noise on the clipped second-moment matrix of cell scores; the rest of ε and all of δ) "
                "for the correlation")


@register
class GaussianCopula(Generator):
    """Empirical marginals joined by a Gaussian copula.

    Parameters:
        max_categories: categories kept as their own slice per column; rarer ones share a pooled slice.
        shrinkage: weight in [0, 1] pulling the correlation toward the identity (1 = independent baseline).
        sweeps: Gibbs sweeps refining the latent correlation of discrete and missing cells;
            0 keeps plain Pearson correlation of jittered normal scores (faster, attenuated).
            Not used with ``epsilon`` (the sweeps would see the private rows).
        random_state: seed for the draws made while fitting, so a fit is reproducible.
        epsilon, delta: differential-privacy budget for the whole fit; ``None`` = not private.
            ``delta=None`` picks one well below 1/rows (:func:`~hygeia.privacy.dp.default_delta`).
        noise_seed: seed of the privacy noise. ``None`` (the default) draws it from the operating
            system, as the guarantee requires: anyone who knows the seed (it is recorded with the
            parameters) can replay the noise and subtract it. Set it only to repeat a fit in a test
            or an audit; private fits are otherwise not repeatable, though their samples are.
    """

    name = "gaussian_copula"
    summary = "Gaussian copula over empirical marginals; keeps pairwise rank correlations and missingness patterns"
    privacy_mechanism = DP_MECHANISM

    def __init__(self, max_categories: int = 100, shrinkage: float = 0.0, sweeps: int = 50,
                 random_state: int = 0, epsilon: float | None = None, delta: float | None = None,
                 noise_seed: int | None = None) -> None:
        self.max_categories = max_categories
        self.shrinkage = shrinkage
        self.sweeps = sweeps
        self.random_state = random_state
        self.epsilon = epsilon
        self.delta = delta
        self.noise_seed = noise_seed

    def fit(self, data: Dataset) -> Self:
        shrinkage = self.shrinkage
        if isinstance(shrinkage, bool) or not isinstance(shrinkage, (int, float)) or not 0 <= shrinkage <= 1:
            raise GeneratorError(f"shrinkage must be a number in [0, 1], got {self.shrinkage!r}")
        if isinstance(self.sweeps, bool) or not isinstance(self.sweeps, int) or self.sweeps < 0:
            raise GeneratorError(f"sweeps must be a whole number >= 0, got {self.sweeps!r}")
        frame = training_frame(data)
        rng = np.random.default_rng(self.random_state)
        if self.epsilon is None:
            encoder = TableEncoder(self.max_categories).fit(frame, data.schema)
            corr = pairwise_correlation(normal_scores(encoder.to_uniform(frame, rng)))
            if self.sweeps:
                corr = latent_correlation(*encoder.to_intervals(frame), corr, self.sweeps, rng)
        else:
            budget = PrivacyBudget(self.epsilon, default_delta(len(frame)) if self.delta is None else self.delta)
            if budget.delta == 0:
                raise GeneratorError("delta must be > 0 for the Gaussian mechanism of the DP copula; "
                                     "leave delta unset to get one well below 1/rows")
            if self.noise_seed is not None and (isinstance(self.noise_seed, bool)
                                                or not isinstance(self.noise_seed, int) or self.noise_seed < 0):
                raise GeneratorError(f"noise_seed must be None or a whole number >= 0, got {self.noise_seed!r}")
            noise = np.random.default_rng(self.noise_seed)  # None: fresh entropy from the operating system
            marginals, rest = budget.split(MARGINAL_SHARE)
            noisy = noisy_marginals_frame(frame, data.schema, marginals.epsilon, noise)
            encoder = TableEncoder(self.max_categories).fit(noisy, data.schema)
            # Attenuation of each feature by its cells, read off the private marginals (post-processing).
            spread = np.sqrt(np.nanmean(cell_scores(encoder, noisy) ** 2, axis=0))
            corr = private_correlation(cell_scores(encoder, frame), rest, noise, observed_shares(encoder),
                                       uninformative(encoder), spread)
            self.privacy_spent_ = compose(marginals, rest).as_dict()
        corr = (1.0 - self.shrinkage) * corr + self.shrinkage * np.eye(len(corr))
        self.correlation_, self.factor_ = nearest_correlation(corr)
        self.encoder_ = encoder
        self.columns_ = list(frame.columns)
        self.features_ = list(encoder.features_)
        return self

    @property
    def privacy_spent(self) -> dict[str, float] | None:
        return getattr(self, "privacy_spent_", None)

    def sample(self, n: int, seed: int | None = None) -> pd.DataFrame:
        self.check_fitted()
        check_sample_size(n)
        rng = np.random.default_rng(seed)
        z = rng.standard_normal((n, self.factor_.shape[1])) @ self.factor_.T
        return self.encoder_.from_uniform(uniform_scores(z))


def private_correlation(z: np.ndarray, budget: PrivacyBudget, rng: np.random.Generator,
                        observed: np.ndarray | None = None, blank: np.ndarray | None = None,
                        spread: np.ndarray | None = None) -> np.ndarray:
    """An (ε, δ)-DP correlation matrix of the rows of ``z`` (cell scores; NaN = missing) by Analyze Gauss.

    Missing cells count as 0 (the indicator feature carries the fact). Each row is scaled into
    the unit ball, so adding or removing a patient moves the second-moment matrix by ``x xᵀ``,
    whose upper triangle has L2 norm at most 1: one Gaussian draw per upper-triangle entry with
    the analytic scale covers it. Everything after the noise is post-processing: normalise by
    the noisy diagonal, undo the attenuation that zero-filled cells bring (``observed``: each
    feature's share of observed cells) and that coarse cells bring (``spread``: each feature's
    ``s`` of :func:`cell_scores`), both from the private marginals, and zero the ``blank``
    features (constant by their public marginals) and those whose noisy diagonal is noise.
    """
    n, d = z.shape
    z = np.nan_to_num(z, nan=0.0)
    bound = ROW_BOUND * np.sqrt(d)
    x = z / np.maximum(np.linalg.norm(z, axis=1), bound)[:, None]
    sigma = gaussian_noise_scale(budget.epsilon, budget.delta)
    noise = np.triu(rng.normal(0.0, sigma, size=(d, d)))
    moments = x.T @ x + noise + np.triu(noise, 1).T
    diag = np.diag(moments).copy()
    weak = diag < 3 * sigma  # indistinguishable from noise: no dependence can be read off it
    scale = np.sqrt(np.clip(diag, 3 * sigma, None))
    corr = moments / np.outer(scale, scale)
    if observed is not None:
        # Zero-filled cells shrink a pair's correlation by sqrt(f_a f_b) / f_ab; f_ab is not measured,
        # so take the nested-mask case f_ab = min(f_a, f_b): exact when either column is complete, and
        # never an over-correction when both have gaps.
        f = np.clip(observed, 1e-3, 1.0)
        corr = corr * np.sqrt(np.maximum.outer(f, f) / np.minimum.outer(f, f))
    if spread is not None:
        s = np.clip(np.nan_to_num(spread, nan=1.0), 0.05, 1.0)
        corr = corr / np.outer(s, s)
    corr = np.clip(corr, -1.0, 1.0)
    off = weak | (blank if blank is not None else False)
    corr[off, :] = corr[:, off] = 0.0
    np.fill_diagonal(corr, 1.0)
    return corr


def cell_scores(encoder: TableEncoder, frame: pd.DataFrame) -> np.ndarray:
    """Each cell's expected normal score given its slice of [0, 1] (NaN where missing).

    A category or tie block is an interval ``[a, b]`` on the normal scale; its conditional mean
    ``(φ(a) - φ(b)) / (Φ(b) - Φ(a))`` correlates with any normal ``X`` exactly ``ρ · s``, where
    ``s² = E[mean²]`` depends on the marginal alone, so the latent ``ρ`` can be read back without
    looking at the rows again (unlike the Gibbs sweeps). Continuous values are their own point.
    """
    lo, hi = encoder.to_intervals(frame)
    a, b = ndtri(np.clip(lo, EPS, 1 - EPS)), ndtri(np.clip(hi, EPS, 1 - EPS))
    width = hi - lo
    wide = width > 1e-9
    mean = (norm.pdf(a) - norm.pdf(b)) / np.where(wide, width, 1.0)
    return np.where(wide, mean, ndtri(np.clip((lo + hi) / 2, EPS, 1 - EPS)))


def gaussian_noise_scale(epsilon: float, delta: float, sensitivity: float = 1.0) -> float:
    """Smallest σ for which adding N(0, σ²) to a query of L2 ``sensitivity`` is (ε, δ)-DP.

    The analytic Gaussian mechanism (Balle & Wang 2018, Theorem 8): exact for every ε, unlike the
    classic ``sqrt(2 ln(1.25/δ)) Δ/ε`` that only holds for ε < 1 and is loose there.

    >>> round(gaussian_noise_scale(1.0, 1e-5), 2)
    3.73
    """
    if not (epsilon > 0 and 0 < delta < 1 and sensitivity > 0):
        raise GeneratorError(f"the Gaussian mechanism needs epsilon > 0 and 0 < delta < 1, got {epsilon!r}, {delta!r}")

    def excess(sigma: float) -> float:
        a, b = sensitivity / (2 * sigma), epsilon * sigma / sensitivity
        return float(ndtr(a - b) - np.exp(epsilon + log_ndtr(-a - b)) - delta)

    hi = sensitivity
    while excess(hi) > 0:
        hi *= 2
    lo = hi / 2
    while excess(lo) <= 0 and lo > 1e-12:
        lo /= 2
    return float(brentq(excess, lo, hi, xtol=1e-10))


def observed_shares(encoder: TableEncoder) -> np.ndarray:
    """Each feature's share of observed cells as the fitted encoder knows it (indicators count as complete)."""
    shares = np.ones(len(encoder.features_))
    for col, indicator in encoder.indicators_.items():
        missing = indicator.values_.index(1) if 1 in indicator.values_ else None
        if missing is not None:
            shares[encoder.columns_.index(col)] = 1.0 - float(np.diff(indicator.edges_)[missing])
    return shares


def uninformative(encoder: TableEncoder) -> np.ndarray:
    """Features that carry no dependence: constant columns (one knot value, one category) or never observed."""
    def blank(enc: object) -> bool:
        if enc is None:
            return True
        if isinstance(enc, QuantileEncoder):
            return bool(enc.knots_[0] == enc.knots_[-1])
        return isinstance(enc, FrequencyEncoder) and len(enc.values_) == 1

    return np.array([blank(encoder.encoders_[c]) for c in encoder.columns_]
                    + [blank(ind) for ind in encoder.indicators_.values()])


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
