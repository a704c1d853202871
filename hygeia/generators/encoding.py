"""A neural-network view of a table: continuous and one-hot blocks, decoded through :class:`TableEncoder`.

Every neural family works on the same matrix. Each feature of the
:class:`~hygeia.generators.transforms.TableEncoder` (a column, or a column's missing
indicator) becomes one or two *blocks*:

* categorical, boolean and missing-indicator features: a ``discrete`` block, one-hot over the
  kept categories plus one pooled slot when the column has more than ``max_categories``
  (one-hot blow-ups on high-cardinality codes are the peers' most common out-of-memory
  failure). Rare categories below the cap keep their own slot, so they can be generated.
* numeric, integer and datetime features, by ``numeric`` style:

  - ``"normal"``: one ``continuous`` block holding the normal score of the column's empirical
    CDF (a quantile transform, as in TabDDPM);
  - ``"modes"``: mode-specific normalisation as in CTGAN: a variational Gaussian mixture on
    the standardised values gives a ``continuous`` block (the value relative to its mode,
    in [-1, 1]) followed by a ``discrete`` block (which mode);
  - ``"bins"``: a ``discrete`` block of ``n_bins`` equal-probability bins (for token models).

Decoding goes back through the uniform scores of the ``TableEncoder``, so every family gets
the same guarantees for free: values stay inside the observed range, integers stay whole,
dates stay dates, categories come from training, and missing cells appear exactly where a
generated missing indicator says.

>>> enc = MixedEncoder(numeric="normal").fit(frame, schema)  # doctest: +SKIP
>>> x = enc.transform(frame, np.random.default_rng(0))       # (n, enc.width_) float32
>>> enc.inverse(x, np.random.default_rng(1))                  # back to a DataFrame
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Literal, Self

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import BayesianGaussianMixture

from hygeia.data.schema import Schema
from hygeia.errors import GeneratorError
from hygeia.generators.transforms import EPS, FrequencyEncoder, QuantileEncoder, TableEncoder

NumericStyle = Literal["normal", "modes", "bins"]
#: Rows used to fit each column's mixture in the ``"modes"`` style (the fit is cubic in nothing, but slow).
MODE_FIT_ROWS = 5_000
#: A mode must hold this share of the weight to keep its own slot.
MODE_MIN_WEIGHT = 0.005


@dataclass(frozen=True)
class Block:
    """A slice ``[start, start + width)`` of the encoded matrix.

    ``kind`` is ``"continuous"`` (real values) or ``"discrete"`` (one-hot over ``width`` slots).
    ``feature`` names the ``TableEncoder`` feature it encodes; ``role`` says what the block
    holds: ``"value"`` (normal score, mode offset or bin), ``"mode"`` (mode of a ``"modes"``
    numeric) or ``"category"``.
    """

    feature: str
    kind: Literal["continuous", "discrete"]
    role: Literal["value", "mode", "category"]
    start: int
    width: int

    @property
    def stop(self) -> int:
        return self.start + self.width


class MixedEncoder:
    """Encodes a table as continuous and one-hot blocks; see the module docstring.

    Parameters:
        numeric: how numeric, integer and datetime features are encoded (``normal``, ``modes``, ``bins``).
        max_categories: categories kept per column with their own slot; the rest share one pooled slot.
        max_modes: mixture components tried per column in the ``modes`` style.
        n_bins: equal-probability bins per column in the ``bins`` style.
        random_state: seed for the mixture fits.
    """

    def __init__(self, numeric: NumericStyle = "normal", max_categories: int = 50, max_modes: int = 10,
                 n_bins: int = 50, random_state: int = 0) -> None:
        self.numeric = numeric
        self.max_categories = max_categories
        self.max_modes = max_modes
        self.n_bins = n_bins
        self.random_state = random_state

    # -- fitting ---------------------------------------------------------------------------------
    def fit(self, frame: pd.DataFrame, schema: Schema) -> Self:
        """Learn the blocks from ``frame`` (for differential privacy: a frame drawn from noisy marginals)."""
        if self.numeric not in ("normal", "modes", "bins"):
            raise GeneratorError(f"numeric encoding must be 'normal', 'modes' or 'bins', got {self.numeric!r}")
        for name in ("max_categories", "max_modes", "n_bins"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise GeneratorError(f"{name} must be a whole number >= 1, got {value!r}")
        self.table_ = TableEncoder(self.max_categories).fit(frame, schema)
        u = _filled(self.table_.to_uniform(frame, np.random.default_rng(self.random_state)))
        self.blocks_: list[Block] = []
        self.modes_: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.scales_: dict[str, tuple[float, float]] = {}
        start = 0
        for j, feature in enumerate(self.table_.features_):
            for block in self._blocks_for(feature, u[:, j], start):
                self.blocks_.append(block)
                start = block.stop
        self.width_ = start
        return self

    def _blocks_for(self, feature: str, u: np.ndarray, start: int) -> list[Block]:
        encoder = self._column_encoder(feature)
        if isinstance(encoder, FrequencyEncoder):
            width = encoder.n_kept_ + (encoder.n_kept_ < len(encoder.values_))
            return [Block(feature, "discrete", "category", start, max(width, 1))]
        if self.numeric == "normal":
            return [Block(feature, "continuous", "value", start, 1)]
        if self.numeric == "bins":
            return [Block(feature, "discrete", "value", start, self.n_bins)]
        raw = self._to_raw(feature, u)
        self.scales_[feature] = (float(raw.mean()), float(raw.std()) or 1.0)
        means, sds = self._fit_modes(self._to_raw(feature, u, standardised=True))
        self.modes_[feature] = (means, sds)
        return [Block(feature, "continuous", "value", start, 1),
                Block(feature, "discrete", "mode", start + 1, len(means))]

    def _to_raw(self, feature: str, u: np.ndarray, standardised: bool = False) -> np.ndarray:
        """Values (datetimes as nanoseconds from the minimum) for scores ``u``, optionally standardised."""
        encoder = self._column_encoder(feature)
        raw = np.interp(u, encoder.probs_, encoder.knots_) if encoder is not None else np.zeros(len(u))
        if standardised:
            mean, sd = self.scales_[feature]
            raw = (raw - mean) / sd
        return raw

    def _from_raw(self, feature: str, z: np.ndarray) -> np.ndarray:
        """Scores for standardised values: the inverse of :meth:`_to_raw`."""
        encoder = self._column_encoder(feature)
        if encoder is None:
            return np.full(len(z), 0.5)
        mean, sd = self.scales_[feature]
        return np.interp(z * sd + mean, encoder.knots_, encoder.probs_)

    def _fit_modes(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Means and standard deviations of the mixture's weighty components.

        The mixture is fitted to the column's values standardised by mean and sd (so datetimes
        in nanoseconds and counts in units are alike), as CTGAN does on raw values.
        """
        rng = np.random.default_rng(self.random_state)
        x = z if len(z) <= MODE_FIT_ROWS else rng.choice(z, MODE_FIT_ROWS, replace=False)
        if np.ptp(x) < 1e-9:
            return np.array([float(np.mean(x))]), np.array([1.0])
        gm = BayesianGaussianMixture(
            n_components=min(self.max_modes, len(np.unique(x))), weight_concentration_prior_type="dirichlet_process",
            weight_concentration_prior=1e-3, max_iter=100, n_init=1, random_state=self.random_state)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            gm.fit(x.reshape(-1, 1))
        keep = gm.weights_ > MODE_MIN_WEIGHT
        if not keep.any():
            keep = gm.weights_ == gm.weights_.max()
        return gm.means_[keep, 0], np.sqrt(gm.covariances_[keep].reshape(-1))

    def _column_encoder(self, feature: str) -> FrequencyEncoder | QuantileEncoder | None:
        if feature in self.table_.encoders_:
            return self.table_.encoders_[feature]
        return self.table_.indicators_[feature.removesuffix("__missing")]

    # -- encode ----------------------------------------------------------------------------------
    def transform(self, frame: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
        """The encoded matrix, shape ``(len(frame), width_)``, float32."""
        self._check_fitted()
        u = _filled(self.table_.to_uniform(frame, rng))
        out = np.zeros((len(frame), self.width_), dtype=np.float32)
        features = {f: j for j, f in enumerate(self.table_.features_)}
        for block in self.blocks_:
            col = u[:, features[block.feature]]
            if block.role == "category":
                codes = self._category_codes(block, col)
            elif block.kind == "continuous" and self.numeric == "normal":
                out[:, block.start] = ndtri(np.clip(col, EPS, 1 - EPS))
                continue
            elif self.numeric == "bins":
                codes = np.minimum((col * block.width).astype(int), block.width - 1)
            elif block.role == "mode":
                continue  # written together with its value block
            else:
                codes = self._encode_modes(block, self._to_raw(block.feature, col, standardised=True), out, rng)
                block = self.blocks_[self.blocks_.index(block) + 1]
            out[np.arange(len(frame)), block.start + codes] = 1.0
        return out

    def _category_codes(self, block: Block, u: np.ndarray) -> np.ndarray:
        encoder = self._column_encoder(block.feature)
        return np.minimum(np.searchsorted(encoder.edges_[1:-1], u, side="right"), block.width - 1)

    def _encode_modes(self, block: Block, z: np.ndarray, out: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Write the offset inside the chosen mode; return the mode codes (drawn by responsibility, as CTGAN)."""
        means, sds = self.modes_[block.feature]
        logp = -0.5 * ((z[:, None] - means) / sds) ** 2 - np.log(sds)
        p = np.exp(logp - logp.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        codes = (p.cumsum(axis=1) < rng.uniform(size=(len(z), 1))).sum(axis=1).clip(0, len(means) - 1)
        out[:, block.start] = np.clip((z - means[codes]) / (4 * sds[codes]), -0.99, 0.99)
        return codes

    # -- decode ----------------------------------------------------------------------------------
    def inverse(self, x: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
        """Decode a matrix of the encoded width; discrete blocks are read by their largest entry.

        A model may hand back one-hot samples, probabilities or logits for discrete blocks.
        ``rng`` places values inside a category's slice or a bin, so a decoded table has the
        training marginals' spread.
        """
        self._check_fitted()
        x = np.asarray(x, dtype=float)
        if x.ndim != 2 or x.shape[1] != self.width_:
            raise GeneratorError(f"expected an encoded matrix with {self.width_} columns, got shape {x.shape}")
        n = len(x)
        u = np.full((n, len(self.table_.features_)), 0.5)
        features = {f: j for j, f in enumerate(self.table_.features_)}
        for i, block in enumerate(self.blocks_):
            j = features[block.feature]
            if block.role == "category":
                u[:, j] = self._category_scores(block, x[:, block.start:block.stop].argmax(axis=1), rng)
            elif block.kind == "continuous" and self.numeric == "normal":
                u[:, j] = ndtr(x[:, block.start])
            elif self.numeric == "bins":
                codes = x[:, block.start:block.stop].argmax(axis=1)
                u[:, j] = (codes + rng.uniform(size=n)) / block.width
            elif block.role == "value":
                mode = self.blocks_[i + 1]
                means, sds = self.modes_[block.feature]
                codes = x[:, mode.start:mode.stop].argmax(axis=1)
                z = np.clip(x[:, block.start], -1, 1) * 4 * sds[codes] + means[codes]
                u[:, j] = self._from_raw(block.feature, z)
        return self.table_.from_uniform(u)

    def _category_scores(self, block: Block, codes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        encoder = self._column_encoder(block.feature)
        edges = encoder.edges_
        lo = edges[np.minimum(codes, len(edges) - 2)]
        hi = np.where(codes >= encoder.n_kept_, 1.0, edges[np.minimum(codes + 1, len(edges) - 1)])
        return lo + (hi - lo) * rng.uniform(size=len(codes))

    # -- helpers for models ----------------------------------------------------------------------
    @property
    def discrete_blocks(self) -> list[Block]:
        """The one-hot blocks (categories, modes, bins): what a conditional vector is built from."""
        return [b for b in self.blocks_ if b.kind == "discrete"]

    @property
    def continuous_blocks(self) -> list[Block]:
        return [b for b in self.blocks_ if b.kind == "continuous"]

    def slot_shares(self) -> np.ndarray:
        """Each slot's share of the encoded training rows, from the fitted encoder alone (free under DP, where
        the encoder was fitted on noisy marginals); NaN for continuous and mode slots.

        Categories take their frequency slices (the pooled slot last), bins the share of quantile knots whose
        mid-rank falls in them; a missing cell's block holds the slot of the score 0.5 (see :func:`_filled`),
        so that slot also gets the column's missing rate.
        """
        self._check_fitted()
        table = self.table_
        out = np.full(self.width_, np.nan)
        for block in self.discrete_blocks:
            if block.role == "mode":
                continue
            column = block.feature.removesuffix("__missing")
            indicator = table.indicators_.get(column)
            if block.feature.endswith("__missing") and block.feature not in table.encoders_:
                encoder, missing = indicator, 0.0
            else:
                encoder = table.encoders_[block.feature]
                missing = 0.0 if indicator is None else float(np.diff(indicator.edges_)[indicator.index_[1]])
            shares = np.zeros(block.width)
            if isinstance(encoder, FrequencyEncoder):
                kept = np.diff(encoder.edges_)[: encoder.n_kept_]
                shares[: len(kept)] = kept
                shares[block.width - 1] += 1.0 - kept.sum()  # the pooled slot (zero when nothing is pooled)
                fill = min(int(np.searchsorted(encoder.edges_[1:-1], 0.5, side="right")), block.width - 1)
            elif encoder is not None:
                knots = encoder.knots_
                k = len(knots)
                mid = (np.searchsorted(knots, knots, "left") + np.searchsorted(knots, knots, "right")) / (2 * k)
                bins = np.minimum((np.clip(mid, 0.5 / k, 1 - 0.5 / k) * block.width).astype(int), block.width - 1)
                shares = np.bincount(bins, minlength=block.width) / k
                fill = min(int(0.5 * block.width), block.width - 1)
            else:  # never observed: every cell is the filler
                missing, fill = 1.0, min(int(0.5 * block.width), block.width - 1)
            shares = (1 - missing) * shares
            shares[fill] += missing
            out[block.start:block.stop] = shares
        return out

    def _check_fitted(self) -> None:
        if not hasattr(self, "blocks_"):
            raise GeneratorError("MixedEncoder is not fitted yet; call fit() first")


def _filled(u: np.ndarray) -> np.ndarray:
    """Missing cells take the median score: the missing indicator, not the value, carries the fact."""
    return np.where(np.isnan(u), 0.5, u)
