"""A tabular variational autoencoder in the TVAE tradition (Xu et al. 2019, "Modeling Tabular
Data using Conditional GAN", the TVAE baseline), in plain PyTorch.

An MLP encoder maps an encoded row to a Gaussian posterior over a latent vector; an MLP
decoder maps the latent back: a mean with a learned standard deviation per continuous feature,
and logits per one-hot block. The loss is TVAE's: ``loss_factor`` x (Gaussian negative
log-likelihood of the continuous features + cross-entropy of the blocks) + the KL divergence
to N(0, I). Sampling decodes latent vectors, adds each continuous feature's learned noise (as
TVAE does) and draws every one-hot block from its softmax (TVAE's argmax starves rare
categories).

Where it departs from TVAE, each measured on ACTG 175 (70/30 splits, demo policy, seeds 0-1;
detection AUC of a classifier telling real from synthetic rows, 0.5 = indistinguishable):

* numeric columns as normal scores (``numeric_style = "normal"``), not CTGAN's modes: the
  learned noise smears a mode that is a point mass (41% of ``preanti`` is 0) into small
  positive values; with modes the detection AUC is 0.86-0.87 (0.54-0.57 here) and the
  worst-group utility gap 0.10-0.13 (0.02-0.03);
* the learned noise starts at 0.5, not 0.1: the continuous terms' gradients scale with
  1/sigma^2, and from 0.1 they drown the categories' for hundreds of epochs (treatment vs
  arm, rank correlation 0.77 in the data, still 0.06 after 150 epochs; 0.53 from 0.5);
* latents from a small Gaussian mixture fitted to the training rows' posterior means after
  training ("ex-post density estimation", Ghosh et al. 2020, "From Variational to Deterministic
  Autoencoders"), not N(0, I): the posteriors fill N(0, I) unevenly, so prior draws decode to
  implausible rows. Detection AUC 0.62 -> 0.54-0.57, worst-group utility gap on 500-row
  samples 0.12-0.14 -> 0.04-0.08, membership-inference AUC unchanged (0.51-0.55 on ACTG 175,
  0.53-0.57 on 500 rows). ``prior_components=0`` restores TVAE's N(0, I);
* batches of 128, not 500, so a table of a few thousand rows gets enough steps.

Differential privacy: no batch norm anywhere, so opacus trains the network with DP-SGD when
``epsilon`` is set. The latent mixture would be fitted on the rows outside DP-SGD's
accounting, so a private fit always samples from N(0, I).

>>> gen = VAE(threads=1).fit(dataset)  # doctest: +SKIP
>>> gen.sample(1000, seed=7)  # doctest: +SKIP
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture
from torch import nn

from hygeia.errors import GeneratorError
from hygeia.generators.base import register
from hygeia.generators.encoding import NumericStyle
from hygeia.generators.neural import NeuralGenerator, check_widths, is_whole, mlp, sample_blocks
from hygeia.privacy.dp import PrivacyBudget

#: Bounds of the learned per-feature standard deviation (TVAE clamps to the same range).
SIGMA_MIN, SIGMA_MAX = 0.01, 1.0
#: Starting standard deviation of every continuous feature (TVAE starts at 0.1; see the module docstring).
SIGMA_START = 0.5
#: Training rows encoded to fit the latent mixture (a sample beyond this; the fit is O(rows)).
PRIOR_FIT_ROWS = 5_000
#: Fewer training rows than this per mixture component (or per active latent dimension and
#: component) and the mixture gets fewer components.
ROWS_PER_COMPONENT, ROWS_PER_DIMENSION = 100, 10
#: Latent dimensions whose average KL divergence (nats) is below this carry no information.
ACTIVE_KL = 0.01


class FeatureSigma(nn.Module):
    """One learned standard deviation per continuous feature, kept in [SIGMA_MIN, SIGMA_MAX].

    A smooth squashing (not TVAE's in-place clamp) so the base's plain Adam loop needs no
    extra step. ``forward`` takes the batch only to return one row per sample, which lets
    opacus compute per-sample gradients for the parameter.
    """

    def __init__(self, features: int) -> None:
        super().__init__()
        start = (SIGMA_START - SIGMA_MIN) / (SIGMA_MAX - SIGMA_MIN)
        self.raw = nn.Parameter(torch.full((features,), math.log(start / (1 - start))))

    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        sigma = SIGMA_MIN + (SIGMA_MAX - SIGMA_MIN) * torch.sigmoid(self.raw)
        return torch.zeros_like(batch[..., :1]) + sigma


@dataclass
class LatentMixture:
    """A Gaussian mixture over the ``active`` latent dimensions; the others stay N(0, 1), which
    is what the decoder saw there in training (a dimension with no information has posterior
    N(0, 1))."""

    active: torch.Tensor  # (latent,) bool
    weights: torch.Tensor  # (k,)
    means: torch.Tensor  # (k, active)
    chol: torch.Tensor  # (k, active, active): Cholesky factors of the covariances

    def place(self, z: torch.Tensor) -> torch.Tensor:
        """Turn standard normal draws ``z`` (n, latent) into mixture draws, in place."""
        pick = torch.multinomial(self.weights, len(z), replacement=True)
        eps = z[:, self.active]
        for c in range(len(self.weights)):  # per component: a (rows, d, d) gather could need GBs
            rows = pick == c
            eps[rows] = self.means[c] + eps[rows] @ self.chol[c].T
        z[:, self.active] = eps
        return z


@register
class VAE(NeuralGenerator):
    """Tabular VAE with learned per-feature noise and a fitted latent prior.

    Parameters:
        hidden: widths of the encoder's hidden layers; the decoder mirrors them.
        latent: size of the latent vector.
        loss_factor: weight of the reconstruction term against the KL term (2, as in TVAE).
        sample_noise: add each continuous feature's learned noise when sampling (TVAE's
            behaviour); ``False`` decodes the means.
        prior_components: Gaussian components fitted to the training rows' latent means to
            sample from (at most one per 100 rows); 0 samples N(0, I) as TVAE does.
            Ignored with ``epsilon`` (see the module docstring).
        epochs, batch_size, learning_rate, ...: see :class:`~hygeia.generators.neural.NeuralGenerator`;
            the batch is smaller than the base's default so small tables get enough steps.

    >>> VAE(latent=64, epochs=200, threads=1).fit(dataset).sample(500, seed=0)  # doctest: +SKIP
    """

    name = "vae"
    summary = ("Tabular variational autoencoder (TVAE-style): learned per-feature noise, latent prior "
               "fitted after training, DP-SGD capable")
    numeric_style: ClassVar[NumericStyle] = "normal"
    quick_params: ClassVar[dict[str, Any]] = {"epochs": 100, "patience": 0}

    def __init__(self, hidden: Sequence[int] = (128, 128), latent: int = 128, loss_factor: float = 2.0,
                 sample_noise: bool = True, prior_components: int = 10, epochs: int = 300,
                 batch_size: int = 128, **training: Any) -> None:
        super().__init__(epochs=epochs, batch_size=batch_size, **training)
        self.hidden = hidden
        self.latent = latent
        self.loss_factor = loss_factor
        self.sample_noise = sample_noise
        self.prior_components = prior_components

    # -- network ---------------------------------------------------------------------------------
    def _build(self) -> nn.Module:
        width, hidden = self.encoder_.width_, tuple(int(h) for h in self.hidden)
        self.continuous_ = torch.tensor([b.start for b in self.encoder_.continuous_blocks], dtype=torch.long)
        # One-hot blocks grouped by width, so the cross-entropy is one op per width, not per block.
        starts: dict[int, list[int]] = {}
        for block in self.encoder_.discrete_blocks:
            starts.setdefault(block.width, []).append(block.start)
        self.onehot_ = [torch.tensor(s)[:, None] + torch.arange(w) for w, s in starts.items()]
        return nn.ModuleDict({
            "encoder": mlp(width, hidden, 2 * self.latent),
            "decoder": mlp(self.latent, hidden[::-1], width),
            "sigma": FeatureSigma(len(self.continuous_)),
        })

    def _mean(self, output: torch.Tensor) -> torch.Tensor:
        """Continuous means from raw decoder output (offsets inside a mode, ``"modes"`` style, live in [-1, 1])."""
        values = output[:, self.continuous_]
        return torch.tanh(values) if self.numeric_style == "modes" else values

    def _loss(self, module: nn.Module, batch: torch.Tensor) -> torch.Tensor:
        reconstruction, kl = self._terms(module, batch)
        return (self.loss_factor * reconstruction + kl).mean()

    def _terms(self, module: nn.Module, batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-row reconstruction loss (negative log-likelihood) and KL divergence."""
        mu, logvar = module["encoder"](batch).chunk(2, dim=1)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        output = module["decoder"](z)
        sigma = module["sigma"](batch)
        residual = (batch[:, self.continuous_] - self._mean(output)) / sigma
        reconstruction = (0.5 * residual**2 + torch.log(sigma)).sum(dim=1)
        for index in self.onehot_:  # (blocks, width) column indices
            logp = torch.log_softmax(output[:, index], dim=2)
            target = batch[:, index].argmax(dim=2, keepdim=True)
            reconstruction = reconstruction - logp.gather(2, target).sum(dim=(1, 2))
        kl = -0.5 * (1 + logvar - mu**2 - logvar.exp()).sum(dim=1)
        return reconstruction, kl

    # -- the latent prior ------------------------------------------------------------------------
    def _train(self, x: torch.Tensor, budget: PrivacyBudget | None) -> PrivacyBudget | None:
        spent = super()._train(x, budget)
        private = budget is not None
        self.prior_ = None if private or not self.prior_components else self._fit_prior(x)
        return spent

    @torch.no_grad()
    def _fit_prior(self, x: torch.Tensor) -> LatentMixture | None:
        """A mixture over the training rows' latents: fitted to the posterior means on the
        dimensions that carry information, each component widened by the average posterior
        variance. ``None`` when no dimension carries any (the decoder ignores z)."""
        rng = np.random.default_rng(self.random_state)
        if len(x) > PRIOR_FIT_ROWS:
            x = x[torch.from_numpy(np.sort(rng.choice(len(x), PRIOR_FIT_ROWS, replace=False)))]
        mu, logvar = self.module_["encoder"](x).chunk(2, dim=1)
        kl = -0.5 * (1 + logvar - mu**2 - logvar.exp()).mean(dim=0)
        active = kl > ACTIVE_KL
        if not active.any():
            return None
        # Each component's full covariance needs rows to match its dimensions, or it hugs the rows.
        per_component = max(ROWS_PER_COMPONENT, ROWS_PER_DIMENSION * int(active.sum()))
        k = max(1, min(int(self.prior_components), len(x) // per_component))
        # Draws from each row's posterior, so the mixture matches the aggregate posterior itself.
        draws = mu + torch.exp(0.5 * logvar) * torch.from_numpy(rng.standard_normal(mu.shape)).to(mu.dtype)
        mixture = GaussianMixture(k, covariance_type="full", reg_covar=1e-4, random_state=self.random_state)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            mixture.fit(draws[:, active].double().numpy())
        chol = np.linalg.cholesky(mixture.covariances_)
        return LatentMixture(active, torch.from_numpy(mixture.weights_).float(),
                             torch.from_numpy(mixture.means_).float(), torch.from_numpy(chol).float())

    def _latents(self, n: int) -> torch.Tensor:
        z = torch.randn(n, self.latent)
        prior: LatentMixture | None = getattr(self, "prior_", None)
        return z if prior is None else prior.place(z)

    # -- sampling --------------------------------------------------------------------------------
    def _generate(self, n: int) -> np.ndarray:
        output = self.module_["decoder"](self._latents(n))
        rows = sample_blocks(self.encoder_, output)
        mean = self._mean(output)
        if self.sample_noise:
            mean = mean + torch.randn_like(mean) * self.module_["sigma"](output)
        rows[:, self.continuous_] = mean
        return rows.numpy()

    # -- validation ------------------------------------------------------------------------------
    def _check_params(self) -> None:
        super()._check_params()
        check_widths("hidden", self.hidden, "(128, 128)")
        for name, low in (("latent", 1), ("prior_components", 0)):
            if not is_whole(getattr(self, name), low):
                raise GeneratorError(f"{name} must be a whole number >= {low}, got {getattr(self, name)!r}")
        factor = self.loss_factor
        if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not factor > 0:
            raise GeneratorError(f"loss_factor must be a number > 0, got {factor!r}")
        if not isinstance(self.sample_noise, bool):
            raise GeneratorError(f"sample_noise must be true or false, got {self.sample_noise!r}")

