"""Conditional Wasserstein GAN in the CTGAN tradition (Xu et al. 2019), in plain PyTorch.

What makes a GAN work on small clinical tables, and where each piece lives here:

* a conditional vector with training-by-sampling: each row of a batch picks a categorical column
  uniformly and a category by log-frequency, so a rare diagnosis is seen in training far more
  often than its share and does not vanish; a cross-entropy term makes the generator honour it.
  Sampling draws the condition by the true frequencies instead, so marginals stay right;
* WGAN-GP with a residual generator and a LeakyReLU + dropout critic (PacGAN's ``pac`` is a
  parameter), plus feature matching: the generator also matches the mean and spread of the
  critic's last hidden layer on real rows of the same condition (CTAB-GAN's "information loss");
* early stopping on a cheap fidelity proxy (a GAN has no validation loss): every
  :data:`EVAL_STEPS` steps a generated batch is compared with the held-out rows (total variation
  of discrete blocks, KS of numeric values, difference of correlation matrices); the best wins;
* marginal calibration after training: a logit bias per category and a quantile map per numeric
  column make the generated marginals match the encoder's (a GAN gets the dependence right long
  before the exact share of a category or the tails of a lab value); it uses generated rows and
  the encoder only.

Choices measured on ACTG 175 with the demo policy's gate metrics: numeric columns as normal
scores (``numeric_style="normal"``) rather than CTGAN's modes, one row per critic input
(``pac=1``), a tempered softmax rather than Gumbel noise for one-hot outputs while training
(the critic then pushes outputs towards one-hot, so linked columns such as treatment arm and "any
treatment" agree) with draws from that same softmax when sampling, and feature matching: each
made the detection AUC fall much faster per step. The CTGAN settings remain parameters.

With ``epsilon`` set, only the critic touches real rows, so only the critic is trained with DP-SGD
(opacus); the generator learns through it (post-processing). The gradient penalty's double
backward does not go through opacus' per-sample hooks, so the private critic uses the standard
(logistic) GAN loss, one row per input, and real rows come from opacus' Poisson batches with their
condition read off the row itself (training-by-sampling would pick rows by their data); feature
matching, which reads real rows in the generator step, is off.

>>> gen = GAN(threads=1).fit(dataset)       # doctest: +SKIP
>>> gen.sample(1000, seed=7)                # doctest: +SKIP
"""

from __future__ import annotations

import copy
import warnings
from typing import Any, ClassVar

import numpy as np
import torch
from scipy.special import ndtri
from scipy.stats import ks_2samp
from torch import nn
from torch.nn import functional as F

from hygeia.errors import GeneratorError
from hygeia.generators.base import register
from hygeia.generators.encoding import Block, NumericStyle
from hygeia.generators.neural import NeuralGenerator, check_widths, is_whole
from hygeia.generators.training import Trainer, make_private
from hygeia.privacy.dp import PrivacyBudget

#: Softmax temperature of one-hot outputs while training (CTGAN's Gumbel-softmax temperature).
TAU = 0.2
#: Generator steps a default fit (``epochs=None``) aims at, whatever the table's size.
TARGET_STEPS = 1_500
#: Generated rows the marginal calibration is fitted on, and the quantiles it keeps per column.
CALIBRATION_ROWS = 20_000
CALIBRATION_KNOTS = 512
CALIBRATION_ROUNDS = 20
#: Automatic patience (``patience=None``) is a third of the epochs, and never fewer generator steps
#: than this: the proxy is noisy, and a short fit would otherwise stop on noise.
MIN_PATIENCE_STEPS = 500
#: Generator steps between two evaluations of the fidelity proxy (epochs in between repeat the last value).
EVAL_STEPS = 50
#: Rows generated for each evaluation of the fidelity proxy.
EVAL_ROWS = 4_000


@register
class GAN(NeuralGenerator):
    """Conditional WGAN-GP with training-by-sampling and feature matching (CTGAN-style).

    Parameters (the common training ones are those of :class:`NeuralGenerator`):
        embedding_dim: size of the noise vector fed to the generator.
        generator_dims: widths of the generator's residual layers.
        discriminator_dims: widths of the critic's hidden layers.
        pac: rows the critic judges together (PacGAN; CTGAN uses 10); lowered to the batch, 1 under DP.
        discriminator_steps: critic updates per generator update.
        gradient_penalty: weight of the WGAN-GP penalty.
        weight_decay: Adam's L2 penalty for both networks.
        feature_matching: weight of the critic-feature matching term; 0 = plain CTGAN loss.
        condition_loss: weight of the cross-entropy that makes the generator honour its condition.
        gumbel: Gumbel-softmax outputs while training and draws from the plain softmax when sampling
            (CTGAN) instead of the tempered softmax for both.
        numeric_style: ``"normal"`` (normal scores) or ``"modes"`` (CTGAN's mode-specific normalisation).
        epochs: passes over the training rows; ``None`` = as many as make :data:`TARGET_STEPS` steps.
        patience: epochs without a better proxy before stopping; ``None`` = a third of the epochs
            (at least :data:`MIN_PATIENCE_STEPS` steps).

    >>> gen = GAN(threads=1).fit(dataset)        # doctest: +SKIP
    >>> gen.sample(500, seed=0)                 # doctest: +SKIP
    """

    name = "gan"
    summary = ("Conditional Wasserstein GAN (CTGAN-style): training-by-sampling keeps rare categories, "
               "feature matching, early stopping on a fidelity proxy; DP-SGD on the critic with epsilon")
    numeric_style = "normal"
    quick_params: ClassVar[dict[str, Any]] = {"epochs": 40}

    def __init__(self, embedding_dim: int = 128, generator_dims: tuple[int, ...] = (256, 256),
                 discriminator_dims: tuple[int, ...] = (256, 256), pac: int = 1, discriminator_steps: int = 1,
                 gradient_penalty: float = 10.0, weight_decay: float = 1e-6, feature_matching: float = 1.0,
                 condition_loss: float = 1.0, gumbel: bool = False, numeric_style: NumericStyle = "normal", *,
                 epochs: int | None = None, batch_size: int = 200, learning_rate: float = 5e-4,
                 patience: int | None = None, **training: Any) -> None:
        super().__init__(epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, patience=patience,
                         **training)
        self.embedding_dim = embedding_dim
        self.generator_dims = generator_dims
        self.discriminator_dims = discriminator_dims
        self.pac = pac
        self.discriminator_steps = discriminator_steps
        self.gradient_penalty = gradient_penalty
        self.weight_decay = weight_decay
        self.feature_matching = feature_matching
        self.condition_loss = condition_loss
        self.gumbel = gumbel
        self.numeric_style = numeric_style  # read by the base's fit (it shadows the class default)

    # -- networks --------------------------------------------------------------------------------
    def _build(self) -> nn.Module:
        self.conditions_ = _Conditions(self.encoder_)
        self.layout_ = _Layout(self.encoder_.blocks_, self.conditions_.blocks,
                               bounded=self.encoder_.numeric == "modes", gumbel=self.gumbel)
        return _Generator(self.embedding_dim + self.conditions_.width, tuple(self.generator_dims),
                          self.encoder_.width_)

    def _critic(self, pac: int) -> _Critic:
        return _Critic((self.encoder_.width_ + self.conditions_.width) * pac, tuple(self.discriminator_dims), pac)

    def _fake(self, generator: nn.Module, cond: torch.Tensor, hard: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """Raw output (logits) for conditions ``cond`` and the rows made of it: soft for the critic while
        training, sampled one-hot blocks with ``hard`` (uncalibrated)."""
        raw = generator(torch.cat([torch.randn(len(cond), self.embedding_dim), cond], dim=1))
        return raw, (self.layout_.sample(raw) if hard else self.layout_.activate(raw))

    def _generate(self, n: int) -> np.ndarray:
        return self._calibrated(self.module_, n, self.calibration_)[1]

    def _calibrated(self, generator: nn.Module, n: int, calibration: _Calibration | None
                    ) -> tuple[_Calibration, np.ndarray]:
        """``n`` sampled encoded rows with marginals calibrated (by ``calibration``, or one fitted on them)."""
        raw = generator(torch.cat([torch.randn(n, self.embedding_dim), self.conditions_.by_frequency(n)[0]], dim=1))
        if calibration is None:
            calibration = _Calibration(self.encoder_, self.layout_, raw)
        rows = self.layout_.sample(raw + calibration.bias).numpy()
        return calibration, calibration.apply(rows)

    # -- training --------------------------------------------------------------------------------
    def _train(self, x: torch.Tensor, budget: PrivacyBudget | None) -> PrivacyBudget | None:
        generator = self._build()
        private = budget is not None
        train, validation = self._split(x, private=private)
        batch = min(self.batch_size, len(train))
        pac = 1 if private else max(1, min(self.pac, batch))
        batch = max(pac, batch // pac * pac)
        critic = self._critic(pac)
        opt_g, opt_d = (torch.optim.Adam(net.parameters(), lr=self.learning_rate, betas=(0.5, 0.9),
                                         weight_decay=self.weight_decay) for net in (generator, critic))
        loader = self._loader(train) if private else None
        steps = max(1, len(train) // batch)  # generator steps per epoch (without DP)
        epochs = self._epochs_for(len(loader) / self.discriminator_steps if private else steps)
        every = -(-EVAL_STEPS // steps)  # epochs between two evaluations of the proxy
        patience = self.patience if self.patience is not None else max(epochs // 3, -(-MIN_PATIENCE_STEPS // steps))
        # Epochs between evaluations repeat the last score; a shorter patience would stop unmeasured.
        patience = 0 if validation is None or patience == 0 else max(patience, every)
        trainer = Trainer(epochs, patience, self.max_time, self.name)
        spent = None
        if not private:
            proxy = _Proxy(self.encoder_, validation) if validation is not None else None
            self._plain_epochs(trainer, generator, critic, (opt_g, opt_d), _Sampler(self.conditions_, train),
                               (batch, steps, every), proxy)
        else:
            dp = make_private(critic, opt_d, loader, epsilon=budget.epsilon, delta=budget.delta, epochs=epochs,
                              max_grad_norm=self.max_grad_norm, seed=self.noise_seed)
            with warnings.catch_warnings():
                # opacus' hooks fire on inputs that need no gradient; torch warns about that on every step.
                warnings.filterwarnings("ignore", message="Full backward hook")
                self._private_epochs(trainer, generator, critic, dp.module, (opt_g, dp.optimizer), dp.loader, batch)
            spent = PrivacyBudget(dp.epsilon_spent(), budget.delta)
        self.stopped_ = trainer.restore_best(generator)
        self.module_ = generator.eval()
        self.calibration_ = self._calibrate()
        return spent

    @torch.no_grad()
    def _calibrate(self) -> _Calibration:
        """Marginal calibration fitted on :data:`CALIBRATION_ROWS` generated rows (see :class:`_Calibration`)."""
        with torch.random.fork_rng():
            torch.manual_seed(self.random_state)
            return self._calibrated(self.module_, CALIBRATION_ROWS, None)[0]

    def _epochs_for(self, generator_steps_per_epoch: float) -> int:
        """``epochs``, or (``None``) enough epochs for :data:`TARGET_STEPS` generator steps."""
        if self.epochs is not None:
            return self.epochs
        return int(np.clip(round(TARGET_STEPS / max(generator_steps_per_epoch, 1e-9)), 1, TARGET_STEPS))

    def _plain_epochs(self, trainer: Trainer, generator: nn.Module, critic: _Critic,
                      optimizers: tuple[torch.optim.Optimizer, torch.optim.Optimizer], sampler: _Sampler,
                      sizes: tuple[int, int, int], proxy: _Proxy | None) -> None:
        """WGAN-GP epochs; ``sizes`` = (batch, generator steps per epoch, epochs between evaluations)."""
        (opt_g, opt_d), (batch, steps, every) = optimizers, sizes
        score = None
        for epoch in trainer:
            generator.train()
            total = 0.0
            for _ in range(steps):
                for _ in range(self.discriminator_steps):
                    total += self._critic_step(generator, critic, opt_d, sampler, batch) / self.discriminator_steps
                cond, picks = sampler.conditions(batch)
                real = sampler.rows(picks) if self.feature_matching else None
                self._generator_step(generator, critic, opt_g, cond, picks, real=real)
            if proxy is not None and (epoch - 1) % every == 0:
                score = self._evaluate(generator, proxy)
            trainer.report(total / steps, score, generator)

    def _critic_step(self, generator: nn.Module, critic: nn.Module, opt: torch.optim.Optimizer,
                     sampler: _Sampler, batch: int) -> float:
        """One WGAN-GP critic update; real rows are drawn to match a shuffled copy of the conditions."""
        cond, picks = sampler.conditions(batch)
        with torch.no_grad():
            fake = self._fake(generator, cond)[1]
        order = torch.randperm(batch)
        real = sampler.rows(picks[order])
        real_in, fake_in = torch.cat([real, cond[order]], dim=1), torch.cat([fake, cond], dim=1)
        loss = critic(fake_in).mean() - critic(real_in).mean()
        penalty = self.gradient_penalty * _gradient_penalty(critic, real_in, fake_in, critic.pac)
        opt.zero_grad(set_to_none=True)
        (loss + penalty).backward()
        opt.step()
        return float(loss.item())

    def _generator_step(self, generator: nn.Module, critic: nn.Module, opt: torch.optim.Optimizer,
                        cond: torch.Tensor, picks: torch.Tensor, logistic: bool = False,
                        real: torch.Tensor | None = None) -> None:
        """One generator update: fool the critic and honour the conditions (cross-entropy); with
        ``real`` rows (same conditions), also match the mean and spread of the critic's features."""
        raw, fake = self._fake(generator, cond)
        fake_in = torch.cat([fake, cond], dim=1)
        critic.requires_grad_(False)  # no critic gradients (nor opacus per-sample hooks) on this pass
        hidden = critic.features(fake_in)
        score = critic.head(hidden)
        adversarial = F.softplus(-score).mean() if logistic else -score.mean()
        loss = adversarial + self.condition_loss * self.layout_.cross_entropy(raw, picks)
        if real is not None:
            with torch.no_grad():
                target = critic.features(torch.cat([real, cond], dim=1))
            loss = loss + self.feature_matching * (
                (hidden.mean(0) - target.mean(0)).abs().sum() + (hidden.std(0) - target.std(0)).abs().sum())
        critic.requires_grad_(True)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    def _private_epochs(self, trainer: Trainer, generator: nn.Module, critic: _Critic, wrapped: Any,
                        optimizers: tuple[torch.optim.Optimizer, torch.optim.Optimizer],
                        loader: torch.utils.data.DataLoader, batch: int) -> None:
        """Logistic GAN with a DP-SGD critic: Poisson batches of real rows, a fixed number of fake rows.

        Real and fake rows go through the critic in one pass so that each real row's gradient is
        clipped on its own; the fake count is fixed (not the Poisson batch's size), so adding or
        removing a patient changes exactly one clipped gradient. ``wrapped`` is opacus' module around
        the critic: its per-sample hooks are switched off while the generator learns through the critic.
        """
        opt_g, opt_d = optimizers
        for _ in trainer:
            generator.train()
            total, steps = 0.0, 0
            for i, (real,) in enumerate(loader):
                real_cond = self.conditions_.of_rows(real)
                cond, picks = self.conditions_.by_frequency(batch)
                with torch.no_grad():
                    fake = self._fake(generator, cond)[1]
                rows = torch.cat([torch.cat([real, real_cond], dim=1), torch.cat([fake, cond], dim=1)])
                sign = torch.cat([torch.ones(len(real)), -torch.ones(len(fake))])
                loss = F.softplus(-sign * critic(rows).squeeze(1)).mean()  # -log D(real) - log(1 - D(fake))
                opt_d.zero_grad(set_to_none=True)
                loss.backward()
                opt_d.step()
                total, steps = total + float(loss.item()), steps + 1
                if (i + 1) % self.discriminator_steps == 0:
                    cond, picks = self.conditions_.by_frequency(batch)
                    wrapped.disable_hooks()
                    try:
                        self._generator_step(generator, critic, opt_g, cond, picks, logistic=True)
                    finally:
                        wrapped.enable_hooks()
            trainer.report(total / max(steps, 1), None, generator)

    @torch.no_grad()
    def _evaluate(self, generator: nn.Module, proxy: _Proxy) -> float:
        """The fidelity proxy of a generated batch, with fixed noise so evaluations compare like for like.

        The batch is calibrated as samples will be, so the proxy judges what calibration cannot fix
        (dependence, mode blocks) rather than the marginals.
        """
        generator.eval()
        with torch.random.fork_rng():
            torch.manual_seed(self.random_state)
            rows = self._calibrated(generator, EVAL_ROWS, None)[1]
        generator.train()
        return proxy.score(rows)

    # -- validation ------------------------------------------------------------------------------
    def _check_params(self) -> None:
        probe = copy.copy(self)  # the base checks whole numbers; None (automatic) is also fine here
        probe.epochs = 1 if self.epochs is None else self.epochs
        probe.patience = 0 if self.patience is None else self.patience
        NeuralGenerator._check_params(probe)
        for name in ("embedding_dim", "pac", "discriminator_steps"):
            _check_whole(name, getattr(self, name))
        for name in ("generator_dims", "discriminator_dims"):
            check_widths(name, getattr(self, name))
        for name in ("gradient_penalty", "weight_decay", "feature_matching", "condition_loss"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
                raise GeneratorError(f"{name} must be a number >= 0, got {value!r}")
        if not isinstance(self.gumbel, bool):
            raise GeneratorError(f"gumbel must be True or False, got {self.gumbel!r}")
        if self.numeric_style not in ("normal", "modes"):
            raise GeneratorError(f"numeric_style must be 'normal' or 'modes', got {self.numeric_style!r}")


def _check_whole(name: str, value: object) -> None:
    if not is_whole(value, 1):
        raise GeneratorError(f"{name} must be a whole number >= 1, got {value!r}")


# -- networks ------------------------------------------------------------------------------------
class _Residual(nn.Module):
    """CTGAN's residual layer: the layer's output is concatenated to its input."""

    def __init__(self, width_in: int, width_out: int) -> None:
        super().__init__()
        self.fc, self.bn = nn.Linear(width_in, width_out), nn.BatchNorm1d(width_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([F.relu(self.bn(self.fc(x))), x], dim=1)


class _Generator(nn.Sequential):
    def __init__(self, width_in: int, dims: tuple[int, ...], width_out: int) -> None:
        layers: list[nn.Module] = []
        width = width_in
        for size in dims:
            layers.append(_Residual(width, size))
            width += size
        super().__init__(*layers, nn.Linear(width, width_out))


class _Critic(nn.Module):
    """Scores packs of ``pac`` rows (a row: encoded values + condition); LeakyReLU + dropout, no batch norm."""

    def __init__(self, width_in: int, dims: tuple[int, ...], pac: int) -> None:
        super().__init__()
        self.pac = pac
        layers: list[nn.Module] = []
        width = width_in
        for size in dims:
            layers += [nn.Linear(width, size), nn.LeakyReLU(0.2), _Dropout(0.5)]
            width = size
        self.body, self.head = nn.Sequential(*layers), nn.Linear(width, 1)

    def forward(self, rows: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(rows.reshape(-1, rows.shape[1] * self.pac)))

    def features(self, rows: torch.Tensor) -> torch.Tensor:
        """The last hidden layer: what the critic has learnt to look at (for feature matching)."""
        return self.body(rows.reshape(-1, rows.shape[1] * self.pac))


class _Dropout(nn.Dropout):
    """Dropout from a uniform draw: torch's CPU ``bernoulli_`` was a quarter of a training step."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        return x * (torch.rand_like(x) >= self.p).to(x.dtype) / (1 - self.p)


def _gradient_penalty(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor, pac: int) -> torch.Tensor:
    """WGAN-GP: the critic's gradient norm on pack-wise interpolates should be 1."""
    alpha = torch.rand(len(real) // pac, 1, 1).expand(-1, pac, real.shape[1]).reshape(real.shape)
    mixed = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(mixed).sum(), mixed, create_graph=True)
    return ((grad.reshape(-1, pac * real.shape[1]).norm(2, dim=1) - 1) ** 2).mean()


class _Layout:
    """Index tensors that treat all one-hot blocks at once (padded to the widest), so a training step
    costs a handful of tensor operations instead of a few per block."""

    def __init__(self, blocks: list[Block], cond_blocks: list[Block], bounded: bool, gumbel: bool) -> None:
        self.bounded, self.gumbel = bounded, gumbel
        discrete = [b for b in blocks if b.kind == "discrete"]
        widest = max((b.width for b in discrete), default=1)
        self.continuous = torch.as_tensor([b.start for b in blocks if b.kind == "continuous"], dtype=torch.long)
        self.padded = torch.zeros(len(discrete), widest, dtype=torch.long)
        self.mask = torch.zeros(len(discrete), widest, dtype=torch.bool)
        for i, b in enumerate(discrete):
            self.padded[i, :b.width] = torch.arange(b.start, b.stop)
            self.mask[i, :b.width] = True
        order = torch.cat([self.continuous, self.padded[self.mask]])
        self.inverse = torch.argsort(order)  # from [continuous | discrete] back to the encoded column order
        position = {b.start: i for i, b in enumerate(discrete)}
        # For each slot of the conditional vector: its block's row in ``padded`` and its place in the block.
        self.cond_block = torch.as_tensor([position[b.start] for b in cond_blocks for _ in range(b.width)],
                                          dtype=torch.long)
        self.cond_slot = torch.as_tensor([k for b in cond_blocks for k in range(b.width)], dtype=torch.long)

    def _logits(self, raw: torch.Tensor) -> torch.Tensor:
        return raw[:, self.padded].masked_fill(~self.mask, -torch.inf)

    def activate(self, raw: torch.Tensor) -> torch.Tensor:
        """Training-time output: continuous values squashed, one-hot blocks as a tempered (Gumbel-)softmax."""
        if self.gumbel:  # noise per encoded column, not per padded slot: fewer draws, same distribution
            raw = raw - torch.log(-torch.log(torch.rand_like(raw).clamp_(1e-10, 1.0 - 1e-7)))
        probs = torch.softmax(self._logits(raw) / TAU, dim=2)
        return self._assemble(raw, probs[:, self.mask])

    def sample(self, raw: torch.Tensor) -> torch.Tensor:
        """Sampling-time output: each one-hot block drawn from the softmax the critic saw while training
        (temperature :data:`TAU`, or 1 with ``gumbel``), so on average a draw is that soft output."""
        probs = torch.softmax(self._logits(raw) / (1.0 if self.gumbel else TAU), dim=2)
        pick = torch.multinomial(probs.reshape(-1, probs.shape[2]), 1).reshape(probs.shape[:2])
        one_hot = F.one_hot(pick, probs.shape[2]).to(raw.dtype)
        return self._assemble(raw, one_hot[:, self.mask])

    def marginal_bias(self, raw: torch.Tensor, targets: list[np.ndarray | None]) -> torch.Tensor:
        """Logit biases (one per encoded column) that give each discrete block with a target its
        target shares in expectation when sampling from ``raw``; found by iterative scaling."""
        scale = 1.0 if self.gumbel else TAU
        goal = torch.zeros(self.mask.shape)
        active = torch.zeros(self.mask.shape, dtype=torch.bool)
        for i, target in enumerate(targets):
            if target is not None:
                goal[i, :len(target)] = torch.as_tensor(target / target.sum(), dtype=torch.float32)
                active[i, :len(target)] = True
        bias = torch.zeros(self.mask.shape)
        logits = self._logits(raw) / scale
        for _ in range(CALIBRATION_ROUNDS):
            share = torch.softmax(logits + bias, dim=2).mean(dim=0)
            bias = bias + torch.where(active, torch.log(goal.clamp_min(1e-12) / share.clamp_min(1e-12)), 0.0)
        out = torch.zeros(raw.shape[1])
        out[self.padded[self.mask]] = bias[self.mask] * scale  # back to the raw logits' scale
        return out

    def _assemble(self, raw: torch.Tensor, discrete: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.squash(raw[:, self.continuous]), discrete], dim=1)[:, self.inverse]

    def squash(self, values: torch.Tensor) -> torch.Tensor:
        """Mode offsets live in [-1, 1] (tanh); normal scores are unbounded (as they are)."""
        return torch.tanh(values) if self.bounded else values

    def cross_entropy(self, raw: torch.Tensor, picks: torch.Tensor) -> torch.Tensor:
        """Mean cross-entropy of the generator's logits on the condition slot each row was asked for."""
        if len(self.cond_slot) == 0:
            return raw.new_zeros(())
        logp = torch.log_softmax(self._logits(raw), dim=2)
        return -logp[torch.arange(len(raw)), self.cond_block[picks], self.cond_slot[picks]].mean()


# -- conditional vector --------------------------------------------------------------------------
class _Conditions:
    """The conditional vector: one-hot over the slots of every categorical block, one block set per row.

    ``picks`` are global slot indices into the vector. The frequencies come from the encoder
    (under DP it was fitted on noisy marginals), so this object, saved with the model, holds
    nothing about individual training rows.
    """

    def __init__(self, encoder: Any) -> None:
        self.blocks = [b for b in encoder.blocks_ if b.role == "category" and b.width > 1]
        self.offsets = np.cumsum([0] + [b.width for b in self.blocks]).tolist()
        self.width = self.offsets[-1]
        shares = np.clip(encoder.slot_shares(), 1e-12, None)
        self.frequency = self._matrix([shares[b.start:b.stop] for b in self.blocks])

    def _matrix(self, probs: list[np.ndarray]) -> torch.Tensor:
        """Per block, slot probabilities padded to the widest block (rows: blocks)."""
        widest = max((b.width for b in self.blocks), default=1)
        out = np.zeros((max(len(self.blocks), 1), widest))
        for i, p in enumerate(probs):
            out[i, :len(p)] = p / p.sum()
        return torch.as_tensor(out, dtype=torch.float32)

    def _draw(self, n: int, probs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.blocks:
            return torch.zeros(n, 0), torch.zeros(n, dtype=torch.long)
        block = torch.randint(len(self.blocks), (n,))
        slot = torch.multinomial(probs[block], 1).squeeze(1)
        picks = torch.as_tensor(self.offsets[:-1])[block] + slot
        return F.one_hot(picks, self.width).float(), picks

    def by_frequency(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Conditions as the data has them: a block uniformly, a slot by its (encoder) frequency."""
        return self._draw(n, self.frequency)

    def of_rows(self, rows: torch.Tensor) -> torch.Tensor:
        """Conditions read off real rows: a block uniformly, the slot the row has in it (DP training)."""
        if not self.blocks:
            return torch.zeros(len(rows), 0)
        block = torch.randint(len(self.blocks), (len(rows),))
        cond = torch.zeros(len(rows), self.width)
        for i, b in enumerate(self.blocks):
            chosen = block == i
            cond[chosen, self.offsets[i]:self.offsets[i + 1]] = rows[chosen, b.start:b.stop]
        return cond


class _Sampler:
    """Training-by-sampling (not saved): log-frequency conditions and, per slot, the training rows holding it."""

    def __init__(self, conditions: _Conditions, train: torch.Tensor) -> None:
        self.conditions_of, self.train = conditions, train
        counts, rows = [], []
        for b in conditions.blocks:
            codes = train[:, b.start:b.stop].argmax(dim=1)
            counts.append(np.bincount(codes.numpy(), minlength=b.width).astype(float))
            rows += [torch.nonzero(codes == k).squeeze(1) for k in range(b.width)]
        # CTGAN's log(1 + count): a slot with no training row is never asked for.
        self.log_frequency = conditions._matrix([np.log1p(c) for c in counts])
        self.slot_size = torch.as_tensor([len(r) for r in rows], dtype=torch.long)
        self.slot_start = torch.cumsum(self.slot_size, 0) - self.slot_size
        self.slot_rows = torch.cat(rows) if rows else torch.zeros(0, dtype=torch.long)

    def conditions(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Rare slots drawn by log-frequency, so they are seen far more often than their share."""
        return self.conditions_of._draw(n, self.log_frequency)

    def rows(self, picks: torch.Tensor) -> torch.Tensor:
        """A random training row holding each picked slot (any row when there is no condition)."""
        if not self.conditions_of.blocks:
            return self.train[torch.randint(len(self.train), (len(picks),))]
        offset = (torch.rand(len(picks)) * self.slot_size[picks]).long()
        return self.train[self.slot_rows[self.slot_start[picks] + offset]]


class _Calibration:
    """Makes generated marginals match the encoder's: a GAN gets dependence right sooner than the
    exact share of each category or the spread of each number (tails come out thin).

    * categorical blocks: a logit bias per slot, found by iterative scaling so that the expected
      sampled share of every slot equals the encoder's frequency;
    * normal scores: each column mapped through its own generated CDF onto N(0, 1) quantiles (the
      marginal the encoder gives real values), which keeps every row's rank within the column.

    Both are fitted on generated rows and the encoder alone, so they cost no privacy under DP.
    """

    def __init__(self, encoder: Any, layout: _Layout, raw: torch.Tensor) -> None:
        shares = np.clip(encoder.slot_shares(), 1e-12, None)
        self.bias = layout.marginal_bias(raw, [shares[b.start:b.stop] if b.role == "category" else None
                                               for b in encoder.discrete_blocks])
        rows = layout.sample(raw + self.bias).numpy()
        probs = (np.arange(CALIBRATION_KNOTS) + 0.5) / CALIBRATION_KNOTS
        self.target = ndtri(probs)
        self.maps: list[tuple[int, np.ndarray]] = []
        if encoder.numeric != "normal":
            return  # mode offsets are bounded and relative to their mode: no single target marginal
        for block in encoder.continuous_blocks:
            values = rows[_observed(encoder, block, rows), block.start]
            if len(values) < CALIBRATION_KNOTS or np.ptp(values) < 1e-9:
                continue  # too few generated values (or a constant) to map reliably: leave as is
            # Ties (a generator that repeats a value) would make the map ambiguous; keep it increasing.
            self.maps.append((block.start, np.quantile(values, probs) + np.arange(CALIBRATION_KNOTS) * 1e-9))

    def apply(self, rows: np.ndarray) -> np.ndarray:
        for col, knots in self.maps:
            v = rows[:, col]
            mapped = np.interp(v, knots, self.target)
            # Beyond the outer knots, keep the generator's own distance (slope 1) instead of clamping.
            mapped = np.where(v < knots[0], self.target[0] + v - knots[0], mapped)
            rows[:, col] = np.where(v > knots[-1], self.target[-1] + v - knots[-1], mapped)
        return rows


def _observed(encoder: Any, block: Block, rows: np.ndarray) -> np.ndarray:
    """Rows whose generated missing indicator says the block's column is observed (all rows if it has none)."""
    indicator = next((b for b in encoder.discrete_blocks if b.feature == f"{block.feature}__missing"), None)
    if indicator is None:
        return np.ones(len(rows), dtype=bool)
    observed_slot = encoder._column_encoder(indicator.feature).values_.index(0)
    return rows[:, indicator.start:indicator.stop].argmax(axis=1) == observed_slot


# -- early-stopping proxy ------------------------------------------------------------------------
class _Proxy:
    """A cheap fidelity distance between generated and held-out encoded rows (lower is better).

    Mean total variation of every discrete block's slot frequencies, plus mean KS of every numeric
    value (decoded from mode + offset), plus mean absolute difference of the correlation matrices.
    """

    def __init__(self, encoder: Any, validation: torch.Tensor) -> None:
        self.encoder = encoder
        self.discrete = encoder.discrete_blocks
        self.real = validation.numpy()
        self.real_values = self._values(self.real)
        self.real_corr = _correlation(self._features(self.real, self.real_values))

    def _values(self, x: np.ndarray) -> list[np.ndarray]:
        """Standardised numeric values: mode mean + offset * 4 sd, as the encoder decodes them."""
        values, blocks = [], self.encoder.blocks_
        for i, b in enumerate(blocks):
            if b.kind == "continuous" and b.role == "value" and i + 1 < len(blocks) and blocks[i + 1].role == "mode":
                mode = blocks[i + 1]
                means, sds = self.encoder.modes_[b.feature]
                codes = x[:, mode.start:mode.stop].argmax(axis=1)
                values.append(np.clip(x[:, b.start], -1, 1) * 4 * sds[codes] + means[codes])
            elif b.kind == "continuous":
                values.append(x[:, b.start])
        return values

    def _features(self, x: np.ndarray, values: list[np.ndarray]) -> np.ndarray:
        slots = [x[:, b.start:b.stop - 1] for b in self.discrete if b.role == "category" and b.width > 1]
        return np.column_stack([*values, *slots]) if values or slots else np.zeros((len(x), 0))

    def score(self, x: np.ndarray) -> float:
        tvd = [0.5 * np.abs(x[:, b.start:b.stop].mean(0) - self.real[:, b.start:b.stop].mean(0)).sum()
               for b in self.discrete]
        values = self._values(x)
        ks = [ks_2samp(a, b).statistic for a, b in zip(values, self.real_values)]
        corr = np.abs(_correlation(self._features(x, values)) - self.real_corr)
        parts = [np.mean(p) for p in (tvd, ks) if len(p)]
        if corr.size:
            parts.append(float(np.nanmean(corr[np.triu_indices_from(corr, k=1)])) if len(corr) > 1 else 0.0)
        return float(np.sum(parts))


def _correlation(x: np.ndarray) -> np.ndarray:
    """Pearson correlations with constant columns counted as uncorrelated (0), not NaN."""
    if x.shape[1] == 0:
        return np.zeros((0, 0))
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.corrcoef(x, rowvar=False)
    return np.nan_to_num(np.atleast_2d(corr), nan=0.0)
