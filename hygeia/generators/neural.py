"""The base every PyTorch generator family builds on: encode, train, sample, account for privacy.

A family supplies the network and its loss; this class does the rest the same way for all:
the :class:`~hygeia.generators.encoding.MixedEncoder` (rare categories pooled, cardinality
capped), a validation split with early stopping, a time budget, thread limits, seeded fits
and samples, batched sampling, and DP-SGD through opacus when ``epsilon`` is set.

A family that trains by minimising one loss only writes three methods:

>>> class MyVAE(NeuralGenerator):                         # doctest: +SKIP
...     name = "my_vae"
...     def _build(self) -> nn.Module: ...                # network for self.encoder_.width_ columns
...     def _loss(self, module, batch) -> torch.Tensor:   # mean loss of a batch
...     def _generate(self, n) -> np.ndarray:             # (n, width_) encoded rows, torch RNG pre-seeded

Families with another kind of loop (a GAN) override :meth:`_train` and reuse
:class:`~hygeia.generators.training.Trainer` and :func:`~hygeia.generators.training.make_private`.

Differential privacy: with ``epsilon`` set, a share of it (``MARGINAL_SHARE``) buys noisy
marginals that the encoder is fitted on (its quantiles and category frequencies would
otherwise leak), the rest goes to DP-SGD; no validation split is held out (early stopping on
private data would leak too). ``privacy_spent`` reports what the accountant measured, which
is less than asked for when training stopped early.
"""

from __future__ import annotations

import warnings
from abc import abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from hygeia.data.dataset import Dataset
from hygeia.errors import GeneratorError
from hygeia.generators.base import Generator
from hygeia.generators.encoding import MixedEncoder, NumericStyle
from hygeia.generators.training import StopReason, Trainer, make_private, seeded_generator, torch_threads
from hygeia.generators.transforms import check_sample_size, training_frame
from hygeia.privacy.dp import PrivacyBudget, compose, default_delta, noisy_marginals_frame

#: Share of ε spent on the noisy marginals the encoder is fitted on; the rest goes to DP-SGD.
MARGINAL_SHARE = 0.1
#: Rows decoded at a time when sampling, so memory stays flat for large samples.
SAMPLE_CHUNK = 20_000
#: Fewer validation rows than this and no split is held out (early stopping would be noise).
MIN_VALIDATION_ROWS = 50


class NeuralGenerator(Generator):
    """Common parameters of every neural family (families add their own before ``**training``).

    Parameters:
        epochs: most passes over the training rows.
        batch_size: rows per gradient step (capped at the training rows).
        learning_rate: Adam's step size.
        max_time: training time budget in seconds; ``None`` = no budget.
        patience: stop after this many epochs without a better validation loss; 0 = never.
        validation_fraction: share of rows held out for early stopping (not with ``epsilon``).
        max_categories: categories per column with their own one-hot slot; rarer ones are pooled.
        epsilon, delta: differential-privacy budget for the whole fit; ``None`` = not private.
            ``delta=None`` picks one well below 1/rows.
        max_grad_norm: per-sample gradient clipping bound for DP-SGD.
        noise_seed: seed for DP-SGD's noise, for tests and audits only; ``None`` (default) draws it from
            the operating system, because ``random_state`` is published and replayable noise protects nobody.
        threads: ``torch.set_num_threads`` while fitting and sampling; ``None`` = torch's default.
        random_state: seed for the fit (weights, batches, noise).
    """

    #: How this family encodes numeric columns (see :mod:`hygeia.generators.encoding`).
    numeric_style: ClassVar[NumericStyle] = "normal"
    #: Settings for a quick fit of ACTG 175 (about ten seconds on 2 cores): tests and smoke runs.
    quick_params: ClassVar[dict[str, Any]] = {"epochs": 30}

    def __init__(self, *, epochs: int = 300, batch_size: int = 500, learning_rate: float = 1e-3,
                 max_time: float | None = None, patience: int = 20, validation_fraction: float = 0.1,
                 max_categories: int = 50, epsilon: float | None = None, delta: float | None = None,
                 max_grad_norm: float = 1.0, noise_seed: int | None = None, threads: int | None = None,
                 random_state: int = 0) -> None:
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.max_time = max_time
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.max_categories = max_categories
        self.epsilon = epsilon
        self.delta = delta
        self.max_grad_norm = max_grad_norm
        self.noise_seed = noise_seed
        self.threads = threads
        self.random_state = random_state

    # -- the family's part -----------------------------------------------------------------------
    @abstractmethod
    def _build(self) -> nn.Module:
        """A fresh network for ``self.encoder_`` (fitted) and ``self.n_rows_``."""

    def _loss(self, module: nn.Module, batch: torch.Tensor) -> torch.Tensor:
        """Mean training loss of a batch of encoded rows (families that keep the default ``_train``)."""
        raise NotImplementedError(f"{type(self).__name__} must define _loss or override _train")

    @abstractmethod
    def _generate(self, n: int) -> np.ndarray:
        """``n`` encoded rows from ``self.module_``; torch's global RNG is already seeded."""

    # -- fitting ---------------------------------------------------------------------------------
    def fit(self, data: Dataset) -> Self:
        self._check_params()
        frame = training_frame(data)
        rng = np.random.default_rng(self.random_state)
        self.n_rows_ = len(frame)
        budget = sgd_budget = None
        fit_on = frame
        if self.epsilon is not None:
            delta = default_delta(len(frame)) if self.delta is None else self.delta
            budget = PrivacyBudget(self.epsilon, delta)
            marginal_budget, sgd_budget = budget.split(MARGINAL_SHARE)
            fit_on = noisy_marginals_frame(frame, data.schema, marginal_budget.epsilon, rng)
        with torch_threads(self.threads), torch.random.fork_rng():
            torch.manual_seed(self.random_state)
            self.encoder_ = MixedEncoder(self.numeric_style, self.max_categories,
                                         random_state=self.random_state).fit(fit_on, data.schema)
            x = self._encode(frame, rng)
            self.columns_ = list(frame.columns)
            spent = self._train(x, sgd_budget)
        if budget is not None:
            self.privacy_spent_ = compose(budget.split(MARGINAL_SHARE)[0], spent).as_dict()
        return self

    def _encode(self, frame: pd.DataFrame, rng: np.random.Generator) -> torch.Tensor:
        """The training matrix; a family that needs more per-row inputs than the encoding appends them here."""
        return torch.from_numpy(self.encoder_.transform(frame, rng))

    def _train(self, x: torch.Tensor, budget: PrivacyBudget | None) -> PrivacyBudget | None:
        """Minimise :meth:`_loss` with Adam; sets ``module_`` and ``stopped_``; returns the DP-SGD spend."""
        module = self._build()
        train, validation = self._split(x, private=budget is not None)
        optimizer = torch.optim.Adam(module.parameters(), lr=self.learning_rate)
        loader = self._loader(train)
        private = None
        if budget is not None:
            private = make_private(module, optimizer, loader, epsilon=budget.epsilon, delta=budget.delta,
                                   epochs=self.epochs, max_grad_norm=self.max_grad_norm, seed=self.noise_seed)
            module, optimizer, loader = private.module, private.optimizer, private.loader
        plain = private.plain_module if private else module
        trainer = Trainer(self.epochs, self.patience if validation is not None else 0, self.max_time, self.name)
        with warnings.catch_warnings():
            # opacus' hooks fire on inputs that need no gradient; torch warns about that on every step.
            warnings.filterwarnings("ignore", message="Full backward hook")
            self._epochs(trainer, module, plain, optimizer, loader, validation)
        self.stopped_ = trainer.restore_best(plain)
        self.module_ = plain.eval()
        if private is None:
            return None
        return PrivacyBudget(private.epsilon_spent(), budget.delta)

    def _epochs(self, trainer: Trainer, module: nn.Module, plain: nn.Module, optimizer: torch.optim.Optimizer,
                loader: DataLoader, validation: torch.Tensor | None) -> None:
        for _ in trainer:
            module.train()
            total, rows = 0.0, 0
            for (batch,) in loader:
                # Poisson sampling (DP) can draw an empty batch. It still takes a step (noise only): skipping it
                # would show an observer of the updates that nobody was sampled, which the accountant assumes hidden.
                optimizer.zero_grad(set_to_none=True)
                loss = self._loss(plain, batch)  # opacus' hooks sit on the plain module's layers
                loss.backward()
                optimizer.step()
                if len(batch):
                    total, rows = total + loss.item() * len(batch), rows + len(batch)
            trainer.report(total / max(rows, 1), self._validation_loss(plain, validation), plain)

    def _split(self, x: torch.Tensor, private: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
        n_val = int(round(len(x) * self.validation_fraction))
        if private or n_val < MIN_VALIDATION_ROWS or len(x) - n_val < MIN_VALIDATION_ROWS:
            return x, None
        order = torch.randperm(len(x), generator=seeded_generator(self.random_state))
        return x[order[n_val:]], x[order[:n_val]]

    def _loader(self, x: torch.Tensor) -> DataLoader:
        return DataLoader(TensorDataset(x), batch_size=min(self.batch_size, len(x)), shuffle=True,
                          generator=seeded_generator(self.random_state))

    @torch.no_grad()
    def _validation_loss(self, module: nn.Module, validation: torch.Tensor | None) -> float | None:
        """Loss on the held-out rows with fixed noise, so epochs compare like for like."""
        if validation is None:
            return None
        module.eval()
        with torch.random.fork_rng():
            torch.manual_seed(self.random_state)
            return float(self._loss(module, validation).item())

    # -- sampling --------------------------------------------------------------------------------
    def sample(self, n: int, seed: int | None = None) -> pd.DataFrame:
        self.check_fitted()
        check_sample_size(n)
        with torch_threads(self.threads), torch.random.fork_rng(), torch.no_grad():
            torch.manual_seed(int(seeded_generator(seed).initial_seed()))
            self.module_.eval()
            encoded = np.concatenate([self._generate(min(SAMPLE_CHUNK, n - start))
                                      for start in range(0, n, SAMPLE_CHUNK)])
        return self.encoder_.inverse(encoded, np.random.default_rng(seed)).reset_index(drop=True)

    @property
    def privacy_spent(self) -> dict[str, float] | None:
        return getattr(self, "privacy_spent_", None)

    @property
    def training_summary(self) -> dict[str, Any]:
        """How training went (epochs run, why it stopped, seconds), for the model card."""
        stopped: StopReason | None = getattr(self, "stopped_", None)
        return {} if stopped is None else vars(stopped)

    # -- validation ------------------------------------------------------------------------------
    def _check_params(self) -> None:
        whole = {"epochs": 1, "batch_size": 1, "max_categories": 1, "patience": 0}
        for name, low in whole.items():
            value = getattr(self, name)
            if not is_whole(value, low):
                raise GeneratorError(f"{name} must be a whole number >= {low}, got {value!r}")
        positive = {"learning_rate": self.learning_rate, "max_grad_norm": self.max_grad_norm}
        if self.max_time is not None:
            positive["max_time"] = self.max_time
        for name, value in positive.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise GeneratorError(f"{name} must be a number > 0, got {value!r}")
        if not (isinstance(self.validation_fraction, (int, float)) and 0 <= self.validation_fraction < 0.5):
            raise GeneratorError(f"validation_fraction must be in [0, 0.5), got {self.validation_fraction!r}")
        if self.epsilon is not None:
            PrivacyBudget(self.epsilon, 0.0 if self.delta is None else self.delta)


def is_whole(value: object, low: int) -> bool:
    """True for an integer (not a bool) of at least ``low``."""
    return not isinstance(value, bool) and isinstance(value, (int, np.integer)) and value >= low


def check_widths(name: str, value: object, example: str = "(256, 256)") -> None:
    """Layer widths: a non-empty list of whole numbers >= 1, else a one-line GeneratorError."""
    if (isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or not value
            or not all(is_whole(w, 1) for w in value)):
        raise GeneratorError(f"{name} must be a non-empty list of layer widths >= 1, e.g. {example}; got {value!r}")


def mlp(width_in: int, hidden: tuple[int, ...], width_out: int, activation: type[nn.Module] = nn.ReLU,
        dropout: float = 0.0) -> nn.Sequential:
    """A plain multi-layer perceptron (no batch norm, so opacus can compute per-sample gradients)."""
    layers: list[nn.Module] = []
    last = width_in
    for size in hidden:
        layers += [nn.Linear(last, size), activation()]
        if dropout:
            layers.append(nn.Dropout(dropout))
        last = size
    layers.append(nn.Linear(last, width_out))
    return nn.Sequential(*layers)


def block_loss(encoder: MixedEncoder, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-row reconstruction loss over blocks: squared error for continuous, cross-entropy for one-hot.

    Shape ``(rows,)``; a VAE decoder, an autoregressive head or a GAN's conditional term can share it.
    """
    loss = torch.zeros(len(target), dtype=output.dtype)
    for block in encoder.blocks_:
        out, tgt = output[:, block.start:block.stop], target[:, block.start:block.stop]
        if block.kind == "continuous":
            loss = loss + ((out - tgt) ** 2).sum(dim=1)
        else:
            loss = loss + nn.functional.cross_entropy(out, tgt.argmax(dim=1), reduction="none")
    return loss


def sample_blocks(encoder: MixedEncoder, output: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """Turn a network's raw output into an encoded row: continuous as is, one-hot drawn from softmax."""
    out = output.clone()
    for block in encoder.discrete_blocks:
        logits = output[:, block.start:block.stop] / temperature
        pick = torch.multinomial(torch.softmax(logits, dim=1), 1).squeeze(1)
        out[:, block.start:block.stop] = nn.functional.one_hot(pick, block.width).to(out.dtype)
    return out
