"""Normalizing flow (RealNVP) over the encoded table, with an exact log-density for anomaly scoring.

The table is encoded by :class:`~hygeia.generators.encoding.MixedEncoder` (numeric columns as
normal scores, categories and missing indicators as one-hot blocks) and a stack of affine
coupling layers (Dinh et al. 2017, "Density estimation using Real NVP") maps it to a standard
normal. Sampling runs the layers backwards from normal noise.

A flow models a *continuous* density, and a point mass lets its likelihood grow without bound
(a constant column, a tied lab value, a missing cell filled with one number). So every cell is
*dequantised* while training:

* a one-hot block gets ``U(-0.5, 0.5)`` noise on every slot: each category owns the unit cube
  around its one-hot vector, and decoding reads the largest slot back;
* a numeric cell is drawn uniformly inside its tie block on the uniform-score scale before the
  normal quantile function, so tied values (integer labs, zeros) spread over exactly the
  scores that decode back to them; a missing cell spans the whole scale (the indicator, not
  the value, carries the fact).

:meth:`Flow.log_prob` scores real records: the log of the density of the observed numeric
values (on the normal-score scale) times the flow's mass on the unit cube of the row's
categories and missingness pattern (the uniform-dequantisation likelihood of Theis et al. 2016).
The mass is averaged over seeded quasi-random points of the cube, and missing values are
integrated out, so scores are deterministic and comparable across rows with different missing
cells. The cube mass is a lower bound on the chance of sampling those categories (the flow
spreads some mass between cubes, which decoding by argmax also reads). Low scores mark unusual
records:

>>> flow = Flow(threads=1).fit(dataset)                    # doctest: +SKIP
>>> flow.sample(1000, seed=7)                              # doctest: +SKIP
>>> scores = flow.log_prob(new_admissions[flow.columns_])  # doctest: +SKIP
>>> new_admissions[scores < np.quantile(scores, 0.01)]     # the 1% most unusual  # doctest: +SKIP
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.quasirandom import SobolEngine

from hygeia.errors import GeneratorError
from hygeia.generators.base import register
from hygeia.generators.neural import SAMPLE_CHUNK, NeuralGenerator, check_widths, is_whole, mlp
from hygeia.generators.training import torch_threads
from hygeia.generators.transforms import EPS
from hygeia.privacy.dp import PrivacyBudget

_LOG_2PI = math.log(2 * math.pi)


@register
class Flow(NeuralGenerator):
    """RealNVP normalizing flow over normal scores and dequantised one-hot blocks.

    Parameters:
        layers: affine coupling layers; consecutive pairs swap which half of the columns is transformed.
        hidden: widths of the hidden layers of each coupling's scale-and-shift network.
        scale_bound: bound on each layer's log-scale (``bound * tanh(s / bound)``), for stable training.
        draws: seeded quasi-random points per row that :meth:`log_prob` averages (more: slower, less noise).
        **training: the common neural parameters (epochs, batch size, DP budget, ...), see
            :class:`~hygeia.generators.neural.NeuralGenerator`.
    """

    name = "flow"
    summary = ("RealNVP normalizing flow over normal scores and dequantised categories; exact log-density "
               "for scoring how unusual a real record is")
    numeric_style = "normal"
    quick_params: ClassVar[dict[str, Any]] = {"epochs": 40, "draws": 16, "threads": 1}

    def __init__(self, layers: int = 8, hidden: tuple[int, ...] = (128, 128), scale_bound: float = 2.0,
                 draws: int = 64, **training: Any) -> None:
        super().__init__(**training)
        self.layers = layers
        self.hidden = hidden
        self.scale_bound = scale_bound
        self.draws = draws

    # -- fitting ---------------------------------------------------------------------------------
    def _encode(self, frame: pd.DataFrame, rng: np.random.Generator) -> torch.Tensor:
        # Each numeric cell's tie block (needed to dequantise it) rides along in the batch, so the base's
        # loader, split and DP sampling keep it aligned with its row.
        lo, hi = self._tie_blocks(frame)
        return torch.cat([super()._encode(frame, rng), lo, hi], dim=1)

    def _train(self, x: torch.Tensor, budget: PrivacyBudget | None) -> PrivacyBudget | None:
        blocks = self.encoder_.blocks_
        discrete = self.encoder_.discrete_blocks
        self.continuous_ = torch.tensor([b.start for b in blocks if b.kind == "continuous"], dtype=torch.long)
        self.discrete_ = torch.tensor([i for b in discrete for i in range(b.start, b.stop)], dtype=torch.long)
        return super()._train(x, budget)

    def _build(self) -> nn.Module:
        return RealNVP(self.encoder_.width_, self.layers, tuple(self.hidden), self.scale_bound)

    def _loss(self, module: nn.Module, batch: torch.Tensor) -> torch.Tensor:
        width, k = self.encoder_.width_, len(self.continuous_)
        x, lo, hi = batch[:, :width], batch[:, width:width + k], batch[:, width + k:]
        y = x.clone()
        y[:, self.discrete_] += torch.rand(len(x), len(self.discrete_)) - 0.5
        u = lo.double() + (hi - lo).double() * torch.rand(len(x), k, dtype=torch.float64)
        y[:, self.continuous_] = torch.special.ndtri(u.clamp(EPS, 1 - EPS)).to(x.dtype)
        return -module.log_prob(y).mean()

    def _generate(self, n: int) -> np.ndarray:
        return self.module_.sample(n).numpy()

    def _tie_blocks(self, frame: pd.DataFrame) -> tuple[torch.Tensor, torch.Tensor]:
        """Per numeric cell, the slice of the uniform-score scale its value owns; ``[0, 1]`` where missing."""
        lo, hi = self.encoder_.table_.to_intervals(frame)
        features = {f: j for j, f in enumerate(self.encoder_.table_.features_)}
        cols = [features[b.feature] for b in self.encoder_.continuous_blocks]
        lo, hi = lo[:, cols], hi[:, cols]
        missing = np.isnan(lo)
        lo[missing], hi[missing] = 0.0, 1.0
        return torch.from_numpy(lo.astype(np.float32)), torch.from_numpy(hi.astype(np.float32))

    # -- scoring ---------------------------------------------------------------------------------
    def log_prob(self, frame: pd.DataFrame) -> np.ndarray:
        """Log-density of each row of ``frame`` (the training columns, any order), higher = more typical.

        Numeric values count as a density on the normal-score scale, categories and missingness
        as the flow's mass on their unit cube; missing values are integrated out. Deterministic
        for a fitted model, and a row's score does not depend on the other rows.

        >>> scores = flow.log_prob(holdout)   # doctest: +SKIP
        >>> scores.shape == (len(holdout),)   # doctest: +SKIP
        True
        """
        self.check_fitted()
        frame = self._scoring_frame(frame)
        with torch_threads(self.threads), torch.no_grad():
            return np.concatenate([self._log_prob(frame.iloc[start:start + SAMPLE_CHUNK])
                                   for start in range(0, len(frame), SAMPLE_CHUNK)] or [np.empty(0)])

    def _log_prob(self, frame: pd.DataFrame) -> np.ndarray:
        try:
            # The rng only places a category inside its slice, which the one-hot encoding ignores.
            x = torch.from_numpy(self.encoder_.transform(frame, np.random.default_rng(0)))
        except (TypeError, ValueError) as exc:
            raise GeneratorError(f"log_prob: cannot encode the rows ({exc}); "
                                 "give values of the training columns' types") from None
        numeric = [b.feature for b in self.encoder_.continuous_blocks]
        missing = torch.from_numpy(frame[numeric].isna().to_numpy(dtype=bool))
        # The same draws for every row (scrambled Sobol points, seeded): a row's score depends on the
        # row alone, and differences between rows carry little Monte Carlo noise.
        d, k = len(self.discrete_), len(self.continuous_)
        points = SobolEngine(d + k, scramble=True, seed=self.random_state)
        draws = []
        for point in points.draw(self.draws, dtype=torch.float64).clamp(EPS, 1 - EPS).to(x.dtype):
            offset, u = (part.expand(len(x), -1) for part in point.split([d, k]))
            y = x.clone()
            y[:, self.discrete_] += offset - 0.5  # a point in the categories' unit cube (density 1)
            # Missing values are integrated out: drawn from N(0, 1), weighed by its density.
            z = torch.special.ndtri(u.double()).to(x.dtype)
            y[:, self.continuous_] = torch.where(missing, z, x[:, self.continuous_])
            log_q = torch.where(missing, _log_normal(z), torch.zeros_like(z)).sum(dim=1)
            draws.append(self.module_.log_prob(y) - log_q)
        # The log of the mean importance weight: the cube's mass times the numeric density.
        return (torch.logsumexp(torch.stack(draws), dim=0) - math.log(self.draws)).double().numpy()

    def _scoring_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        if not isinstance(frame, pd.DataFrame):
            raise GeneratorError(f"log_prob needs a pandas DataFrame with the training columns, "
                                 f"got {type(frame).__name__}")
        absent = [c for c in self.columns_ if c not in frame.columns]
        if absent:
            raise GeneratorError(f"log_prob: missing training column(s) {', '.join(map(str, absent))}; "
                                 "pass a frame with every column the model was fitted on")
        unknown = [c for c in frame.columns if c not in self.columns_]
        if unknown:
            raise GeneratorError(f"log_prob: unknown column(s) {', '.join(map(str, unknown))}; "
                                 "select the training columns with frame[model.columns_]")
        never_missing = [c for c in self.columns_
                         if c not in self.encoder_.table_.indicators_ and frame[c].isna().any()]
        if never_missing:
            raise GeneratorError(f"log_prob: missing value(s) in {', '.join(map(str, never_missing))}, "
                                 "which had none in training; fill or drop those rows first")
        return frame[self.columns_]

    # -- validation ------------------------------------------------------------------------------
    def _check_params(self) -> None:
        super()._check_params()
        for name in ("layers", "draws"):
            value = getattr(self, name)
            if not is_whole(value, 1):
                raise GeneratorError(f"{name} must be a whole number >= 1, got {value!r}")
        check_widths("hidden", self.hidden, "(128, 128)")
        bound = self.scale_bound
        if isinstance(bound, bool) or not isinstance(bound, (int, float)) or not bound > 0:
            raise GeneratorError(f"scale_bound must be a number > 0, got {bound!r}")


def _log_normal(z: torch.Tensor) -> torch.Tensor:
    return -0.5 * z**2 - 0.5 * _LOG_2PI


class Coupling(nn.Module):
    """One affine coupling layer: the columns ``perm[:split]`` set a scale and shift for the rest.

    Built from ``nn.Linear`` layers only, so opacus can compute per-sample gradients. The last
    layer starts at zero, so a fresh flow is the identity and the first steps are stable.
    """

    def __init__(self, dim: int, perm: torch.Tensor, hidden: tuple[int, ...], bound: float) -> None:
        super().__init__()
        self.register_buffer("perm", perm)
        self.split = dim // 2
        self.bound = bound
        # A one-column table has nothing to condition on: the net then sees a constant.
        self.net = mlp(max(self.split, 1), hidden, 2 * (dim - self.split), activation=nn.SiLU)
        nn.init.zeros_(self.net[-1].weight)
        nn.init.zeros_(self.net[-1].bias)

    def _scale_shift(self, kept: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.split == 0:
            kept = torch.ones(len(kept), 1, dtype=kept.dtype)
        s, t = self.net(kept).chunk(2, dim=1)
        return self.bound * torch.tanh(s / self.bound), t

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Data side to noise side; returns the output and the log-determinant per row."""
        kept, moved = x[:, self.perm[:self.split]], x[:, self.perm[self.split:]]
        s, t = self._scale_shift(kept)
        out = x.clone()
        out[:, self.perm[self.split:]] = moved * torch.exp(s) + t
        return out, s.sum(dim=1)

    def inverse(self, z: torch.Tensor) -> torch.Tensor:
        s, t = self._scale_shift(z[:, self.perm[:self.split]])
        out = z.clone()
        out[:, self.perm[self.split:]] = (z[:, self.perm[self.split:]] - t) * torch.exp(-s)
        return out


class RealNVP(nn.Module):
    """A stack of :class:`Coupling` layers over a standard-normal base.

    Each pair of layers uses one random split of the columns and then its swap, so every column
    is transformed once per pair and mixes with a different set of columns in the next pair.
    """

    def __init__(self, dim: int, layers: int, hidden: tuple[int, ...], bound: float) -> None:
        super().__init__()
        self.dim = dim
        couplings = []
        for i in range(layers):
            if i % 2 == 0:
                perm = torch.randperm(dim)  # torch's RNG is seeded by the fit
            else:
                perm = torch.cat([perm[dim // 2:], perm[:dim // 2]])
            couplings.append(Coupling(dim, perm, hidden, bound))
        self.couplings = nn.ModuleList(couplings)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """Log-density of each row under the flow, shape ``(rows,)``."""
        total = torch.zeros(len(x), dtype=x.dtype)
        for coupling in self.couplings:
            x, log_det = coupling(x)
            total = total + log_det
        return total - 0.5 * (x**2).sum(dim=1) - 0.5 * self.dim * _LOG_2PI

    def sample(self, n: int) -> torch.Tensor:
        z = torch.randn(n, self.dim)
        for coupling in reversed(self.couplings):
            z = coupling.inverse(z)
        return z
