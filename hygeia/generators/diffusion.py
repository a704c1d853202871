"""A tabular denoising diffusion model in the TabDDPM tradition (Kotelnikov et al. 2023,
"TabDDPM: Modelling Tabular Data with Diffusion Models"), in plain PyTorch.

Rows are encoded by :class:`~hygeia.generators.encoding.MixedEncoder` in the ``"normal"``
style: each numeric column becomes the normal score of its empirical CDF (TabDDPM's
quantile transform); categories and missing indicators are one-hot blocks. Two forward
processes run side by side over ``steps`` steps of one noise schedule:

* Gaussian diffusion (Ho et al. 2020) on the normal scores:
  ``x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps``;
* multinomial diffusion (Hoogeboom et al. 2021) on every one-hot block: ``x_t`` is drawn
  from ``abar_t x_0 + (1 - abar_t) / K``, so the last step is uniform over the K slots.

One MLP denoiser with a sinusoidal time embedding reads the noisy row and predicts the
Gaussian noise for the scores and the logits of ``x_0`` for each block. The loss is
TabDDPM's: the mean squared error on the noise plus the multinomial KL term of the
variational bound (``steps`` x KL for a uniformly drawn step, averaged over blocks).
Sampling runs the reverse chain from pure noise (ancestral DDPM steps for the scores,
posterior draws ``q(x_{t-1} | x_t, x_0 = softmax(logits))`` for the blocks).

Two choices make small tables work without tuning. Samples come from an exponential moving
average of the weights (DDPM and TabDDPM keep one too). Without it, category shares drifted
by 2-8 points on ACTG 175. Each block's x_0 logits also start at that block's category shares,
the exact answer for an independent column. The gradients at the noisiest steps are too weak
to move the logits there, and starting them uniform biased the shares toward uniform.

No batch norm anywhere, so opacus can train it with DP-SGD when ``epsilon`` is set.

>>> gen = Diffusion(threads=1).fit(dataset)  # doctest: +SKIP
>>> gen.sample(1000, seed=7)  # doctest: +SKIP
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from typing import Any, ClassVar, Literal

import numpy as np
import torch
from torch import nn

from hygeia.errors import GeneratorError
from hygeia.generators.base import register
from hygeia.generators.encoding import MixedEncoder, NumericStyle
from hygeia.generators.neural import NeuralGenerator, check_widths, is_whole, mlp
from hygeia.generators.training import seeded_generator

Schedule = Literal["cosine", "linear"]
#: Largest beta of a schedule (Nichol & Dhariwal 2021 clip the cosine one at the same value).
MAX_BETA = 0.999
#: Predicted clean normal scores are clipped to this range while sampling: the encoder never
#: produces more than about 6 (scores are kept 1e-9 from 0 and 1), and an unclipped estimate at
#: the noisiest steps (abar_t near 0) can be wildly off.
X0_CLIP = 6.0
#: log(0) stand-in for one-hot vectors in log space (TabDDPM uses the same floor).
LOG_FLOOR = math.log(1e-30)


class NoiseSchedule:
    """Per-step constants of the forward process, as float32 tensors indexed by step ``t``.

    ``alpha_bar[t]`` is the share of the signal left after step ``t`` (0-based, so step 0 adds
    the first bit of noise and step ``steps - 1`` reaches the prior).

    >>> s = NoiseSchedule(100, "cosine")
    >>> float(s.alpha_bar[-1]) < 1e-4 < float(s.alpha_bar[0])
    True
    """

    def __init__(self, steps: int, kind: Schedule = "cosine") -> None:
        betas = _betas(steps, kind)
        alphas = 1.0 - betas
        alpha_bar = np.cumprod(alphas)
        alpha_bar_prev = np.append(1.0, alpha_bar[:-1])
        variance = betas * (1.0 - alpha_bar_prev) / (1.0 - alpha_bar)

        def f32(a: np.ndarray) -> torch.Tensor:
            return torch.tensor(a, dtype=torch.float32)

        self.steps = steps
        self.alpha_bar = f32(alpha_bar)
        self.sqrt_alpha_bar, self.sqrt_one_minus_alpha_bar = f32(np.sqrt(alpha_bar)), f32(np.sqrt(1 - alpha_bar))
        # DDPM posterior q(x_{t-1} | x_t, x_0) = N(coef_x0 x_0 + coef_xt x_t, variance)
        self.coef_x0 = f32(betas * np.sqrt(alpha_bar_prev) / (1.0 - alpha_bar))
        self.coef_xt = f32((1.0 - alpha_bar_prev) * np.sqrt(alphas) / (1.0 - alpha_bar))
        self.sigma = f32(np.sqrt(variance))
        # multinomial diffusion in log space
        self.log_alpha, self.log_one_minus_alpha = f32(np.log(alphas)), f32(np.log(betas))
        self.log_alpha_bar = f32(np.log(alpha_bar))
        self.log_one_minus_alpha_bar = f32(np.log1p(-alpha_bar))


def _betas(steps: int, kind: Schedule) -> np.ndarray:
    if kind == "linear":  # Ho et al. 2020, rescaled so any number of steps spans the same noise
        scale = 1000.0 / steps
        return np.clip(np.linspace(scale * 1e-4, scale * 0.02, steps, dtype=np.float64), 0.0, MAX_BETA)
    # cosine (Nichol & Dhariwal 2021): abar(t) = cos^2(((t / T) + s) / (1 + s) * pi / 2)
    f = np.cos((np.arange(steps + 1) / steps + 0.008) / 1.008 * np.pi / 2) ** 2
    return np.clip(1.0 - f[1:] / f[:-1], 0.0, MAX_BETA)


class Segments:
    """The one-hot blocks of an encoded row, grouped by width, so that softmax, sampling and the
    multinomial posterior run on a few dense ``(rows, blocks, width)`` views instead of a Python
    loop per block.

    ``columns`` lists the encoded columns of all blocks in group order; tensors handed to the
    methods are ``x[:, columns]``.
    """

    def __init__(self, encoder: MixedEncoder) -> None:
        blocks = sorted(encoder.discrete_blocks, key=lambda b: (b.width, b.start))
        self.columns = torch.tensor([i for b in blocks for i in range(b.start, b.stop)], dtype=torch.long)
        self.count = len(blocks)
        self.groups = [(width, sum(b.width == width for b in blocks)) for width in sorted({b.width for b in blocks})]
        self.log_k = torch.tensor([math.log(b.width) for b in blocks for _ in range(b.width)], dtype=torch.float32)

    def _views(self, x: torch.Tensor) -> list[torch.Tensor]:
        sizes = [width * count for width, count in self.groups]
        return [part.view(len(x), count, width)
                for part, (width, count) in zip(x.split(sizes, dim=1), self.groups, strict=True)]

    def normalise(self, x: torch.Tensor) -> torch.Tensor:
        """Log-softmax within each block (written out: torch's kernels are slow on widths of 2-4)."""
        parts = []
        for v in self._views(x):
            top = v.detach().amax(dim=2, keepdim=True)
            parts.append((v - top - torch.log(torch.exp(v - top).sum(dim=2, keepdim=True))).flatten(1))
        return torch.cat(parts, dim=1)

    def draw(self, p: torch.Tensor) -> torch.Tensor:
        """One-hot draw per block from (unnormalised) probabilities, by the inverse CDF."""
        parts = []
        for v in self._views(p):
            upper = v.cumsum(dim=2)
            lower = nn.functional.pad(upper[:, :, :-1], (1, 0))
            u = torch.rand(len(v), v.shape[1], 1) * upper[:, :, -1:]
            parts.append(((lower <= u) & (u < upper)).flatten(1))  # the slot whose interval holds u
        return torch.cat(parts, dim=1).to(p.dtype)


class Denoiser(nn.Module):
    """TabDDPM's MLPDiffusion: project the row, add the time embedding, then a plain MLP."""

    def __init__(self, width: int, hidden: tuple[int, ...], embedding: int, dropout: float) -> None:
        super().__init__()
        self.embedding = embedding
        self.project = nn.Linear(width, embedding)
        self.time = nn.Sequential(nn.Linear(embedding, embedding), nn.SiLU(), nn.Linear(embedding, embedding))
        self.body = mlp(embedding, hidden, width, dropout=dropout)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """``t`` holds one step per row (training) or a single step for all rows (sampling)."""
        return self.body(self.project(x) + self.time(timestep_embedding(t, self.embedding)))


class Averaged(nn.Module):
    """A network and an exponential moving average of its weights (as DDPM and TabDDPM keep).

    Training steps the ``online`` weights; :meth:`update` (called before each training batch)
    moves the ``average`` toward them; in eval mode (validation, sampling) the average answers.
    Averaging irons out the step-to-step jitter of the weights, which otherwise shows up as
    category shares that drift by a few points from fit to fit. Under DP-SGD the average is
    post-processing of the private weights and costs no privacy; its parameters take no
    gradient, so opacus leaves them alone.
    """

    def __init__(self, online: nn.Module, decay: float) -> None:
        super().__init__()
        self.online = online
        self.average = copy.deepcopy(online).requires_grad_(False)
        self.decay = decay
        self.register_buffer("updates", torch.zeros((), dtype=torch.long))

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return (self.online if self.training else self.average)(x, t)

    @torch.no_grad()
    def update(self) -> None:
        self.updates += 1
        # warm-up (as in TensorFlow's ExponentialMovingAverage): early on the average follows closely
        decay = min(self.decay, (1.0 + float(self.updates)) / (10.0 + float(self.updates)))
        for mean, weight in zip(self.average.parameters(), self.online.parameters(), strict=True):
            mean.lerp_(weight.detach(), 1.0 - decay)


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10_000.0) -> torch.Tensor:
    """Sinusoidal embedding of integer steps (Vaswani et al. 2017; as in DDPM and TabDDPM)."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32) / half)
    args = t.to(torch.float32)[:, None] * freqs[None]
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=1)
    return emb if dim % 2 == 0 else torch.cat([emb, torch.zeros_like(emb[:, :1])], dim=1)


@register
class Diffusion(NeuralGenerator):
    """Gaussian + multinomial denoising diffusion over normal scores and one-hot blocks (TabDDPM).

    Parameters:
        steps: diffusion steps (TabDDPM uses 1000; sampling time grows linearly with it).
        schedule: noise schedule, ``"cosine"`` (TabDDPM's default) or ``"linear"``.
        hidden: widths of the denoiser's hidden layers.
        embedding: width of the time embedding and of the projected row.
        dropout: dropout after each hidden layer of the denoiser.
        ema_decay: decay of the moving average of the weights that samples are drawn from; 0 turns it off.
        epochs, batch_size, learning_rate, patience, ...: see
            :class:`~hygeia.generators.neural.NeuralGenerator`.

    >>> Diffusion(steps=200, epochs=500, threads=1).fit(dataset).sample(500, seed=0)  # doctest: +SKIP
    """

    name = "diffusion"
    summary = ("Denoising diffusion (TabDDPM-style): Gaussian diffusion on quantile-normalised numbers, "
               "multinomial diffusion on categories and missingness, DP-SGD capable")
    numeric_style: ClassVar[NumericStyle] = "normal"
    quick_params: ClassVar[dict[str, Any]] = {"epochs": 60, "patience": 0, "steps": 50, "hidden": (128, 128)}

    def __init__(self, steps: int = 100, schedule: Schedule = "cosine", hidden: Sequence[int] = (256, 256),
                 embedding: int = 128, dropout: float = 0.0, ema_decay: float = 0.999, epochs: int = 300,
                 batch_size: int = 256, patience: int = 30, **training: Any) -> None:
        super().__init__(epochs=epochs, batch_size=batch_size, patience=patience, **training)
        self.steps = steps
        self.schedule = schedule
        self.hidden = hidden
        self.embedding = embedding
        self.dropout = dropout
        self.ema_decay = ema_decay

    # -- network ---------------------------------------------------------------------------------
    def _build(self) -> nn.Module:
        self.schedule_ = NoiseSchedule(self.steps, self.schedule)
        self.segments_ = Segments(self.encoder_)
        self.continuous_ = torch.tensor([b.start for b in self.encoder_.continuous_blocks], dtype=torch.long)
        net = Denoiser(self.encoder_.width_, tuple(int(h) for h in self.hidden), self.embedding, self.dropout)
        with torch.no_grad():
            # Start every block's x_0 logits at its category shares: the exact answer for a column
            # independent of the rest, which the weak gradients at the noisiest steps barely move.
            # The shares come from the fitted encoder (from noisy marginals under DP), not the rows.
            shares = np.maximum(self.encoder_.slot_shares()[self.segments_.columns.numpy()], 1e-6)
            net.body[-1].bias[self.segments_.columns] = torch.log(torch.from_numpy(shares).float())
        return Averaged(net, self.ema_decay)

    # -- multinomial diffusion (log space) -------------------------------------------------------
    def _noised(self, log_x0: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """log q(x_t | x_0) = log(abar_t x_0 + (1 - abar_t) / K)."""
        s = self.schedule_
        return torch.logaddexp(log_x0 + s.log_alpha_bar[t, None],
                               s.log_one_minus_alpha_bar[t, None] - self.segments_.log_k)

    def _posterior(self, log_x0: torch.Tensor, log_xt: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """log q(x_{t-1} | x_t, x_0) (at t = 0: the distribution of x_0 itself given x_0 and x_1)."""
        s = self.schedule_
        previous = torch.where((t == 0)[:, None], log_x0, self._noised(log_x0, (t - 1).clamp(min=0)))
        # q(x_t | x_{t-1} = k) for every slot k: the one-step kernel is symmetric, so read it off x_t
        one_step = torch.logaddexp(log_xt + s.log_alpha[t, None], s.log_one_minus_alpha[t, None] - self.segments_.log_k)
        return self.segments_.normalise(previous + one_step)

    # -- training --------------------------------------------------------------------------------
    def _diffuse(self, x0: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Draw ``x_t ~ q(x_t | x_0)`` for encoded rows; also return the Gaussian noise drawn."""
        s, seg, cont = self.schedule_, self.segments_, self.continuous_
        xt = x0.clone()
        noise = torch.randn(len(x0), len(cont))
        xt[:, cont] = s.sqrt_alpha_bar[t, None] * x0[:, cont] + s.sqrt_one_minus_alpha_bar[t, None] * noise
        if seg.count:
            xt[:, seg.columns] = seg.draw(self._noised(_log_one_hot(x0[:, seg.columns]), t).exp())
        return xt, noise

    def _loss(self, module: nn.Module, batch: torch.Tensor) -> torch.Tensor:
        s, seg, cont = self.schedule_, self.segments_, self.continuous_
        if module.training:
            module.update()
        t = torch.randint(0, s.steps, (len(batch),))
        noisy, noise = self._diffuse(batch, t)
        out = module(noisy, t)
        loss = torch.zeros(len(batch))
        if len(cont):
            loss = loss + ((out[:, cont] - noise) ** 2).mean(dim=1)
        if seg.count:
            log_x0, log_xt = _log_one_hot(batch[:, seg.columns]), _log_one_hot(noisy[:, seg.columns])
            truth = self._posterior(log_x0, log_xt, t)
            model = self._posterior(seg.normalise(out[:, seg.columns]), log_xt, t)
            kl = (truth.exp() * (truth - model)).sum(dim=1)
            # steps x KL_t at a uniform t estimates the whole bound (TabDDPM's kl / pt), per block
            loss = loss + s.steps * kl / seg.count
        return loss.mean()

    def diffuse(self, encoded: np.ndarray, step: int, seed: int | None = None) -> np.ndarray:
        """The forward process: encoded rows noised up to ``step`` (0-based), ``x_t ~ q(x_t | x_0)``.

        For inspecting the schedule: at ``steps - 1`` the rows should be (close to) the prior,
        standard normal scores and uniform categories, whatever the data.

        >>> x = gen.encoder_.transform(frame, np.random.default_rng(0))  # doctest: +SKIP
        >>> gen.diffuse(x, gen.steps - 1, seed=0)                        # doctest: +SKIP
        """
        self.check_fitted()
        if not is_whole(step, 0) or step >= self.steps:
            raise GeneratorError(f"step must be a whole number in [0, {self.steps - 1}], got {step!r}")
        x0 = torch.as_tensor(np.asarray(encoded, dtype=np.float32))
        if x0.ndim != 2 or x0.shape[1] != self.encoder_.width_:
            raise GeneratorError(f"expected encoded rows with {self.encoder_.width_} columns, got shape "
                                 f"{tuple(x0.shape)}; encode them with encoder_.transform")
        with torch.random.fork_rng():
            torch.manual_seed(int(seeded_generator(seed).initial_seed()))
            return self._diffuse(x0, torch.full((len(x0),), int(step)))[0].numpy()

    # -- sampling --------------------------------------------------------------------------------
    def _generate(self, n: int) -> np.ndarray:
        s, seg, cont = self.schedule_, self.segments_, self.continuous_
        x = torch.zeros(n, self.encoder_.width_)
        x[:, cont] = torch.randn(n, len(cont))
        if seg.count:
            x[:, seg.columns] = seg.draw(torch.ones(n, len(seg.columns)))  # the uniform prior of each block
        for step in reversed(range(s.steps)):
            t = torch.tensor([step])  # one step for every row: the time embedding is computed once
            out = self.module_(x, t)
            if len(cont):
                xt = x[:, cont]
                x0 = ((xt - s.sqrt_one_minus_alpha_bar[step] * out[:, cont]) / s.sqrt_alpha_bar[step])
                mean = s.coef_x0[step] * x0.clamp(-X0_CLIP, X0_CLIP) + s.coef_xt[step] * xt
                x[:, cont] = mean + s.sigma[step] * torch.randn_like(mean) if step else mean
            if seg.count:
                log_xt = _log_one_hot(x[:, seg.columns])
                x[:, seg.columns] = seg.draw(self._posterior(seg.normalise(out[:, seg.columns]), log_xt, t).exp())
        return x.numpy()

    # -- validation ------------------------------------------------------------------------------
    def _check_params(self) -> None:
        super()._check_params()
        if not is_whole(self.steps, 2):
            raise GeneratorError(f"steps must be a whole number >= 2 (TabDDPM uses 1000; 100 samples fast), "
                                 f"got {self.steps!r}")
        if self.schedule not in ("cosine", "linear"):
            raise GeneratorError(f"schedule must be 'cosine' or 'linear', got {self.schedule!r}")
        check_widths("hidden", self.hidden)
        if not is_whole(self.embedding, 2):
            raise GeneratorError(f"embedding must be a whole number >= 2, got {self.embedding!r}")
        dropout = self.dropout
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
            raise GeneratorError(f"dropout must be a number in [0, 1), got {dropout!r}")
        decay = self.ema_decay
        if isinstance(decay, bool) or not isinstance(decay, (int, float)) or not 0 <= decay < 1:
            raise GeneratorError(f"ema_decay must be a number in [0, 1), e.g. 0.999; got {decay!r}")


def _log_one_hot(x: torch.Tensor) -> torch.Tensor:
    """A one-hot matrix in log space: 0 where 1, ``LOG_FLOOR`` where 0."""
    return LOG_FLOOR * (1.0 - x)

