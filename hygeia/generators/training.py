"""The training loop pieces every neural family shares: epochs with early stopping and a time
budget, a progress display with the loss, thread limits, and DP-SGD through opacus.

A family writes its own inner loop (a GAN alternates two optimisers, a diffusion model draws
time steps) and lets :class:`Trainer` decide when to stop:

>>> trainer = Trainer(epochs=300, patience=20, max_time=60, label="vae")   # doctest: +SKIP
>>> for epoch in trainer:                                                   # doctest: +SKIP
...     train_loss = one_epoch()
...     trainer.report(train_loss, validation_loss(), module)              # keeps the best weights
>>> trainer.restore_best(module)                                            # doctest: +SKIP
"""

from __future__ import annotations

import contextvars
import copy
import math
import secrets
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn

from hygeia.errors import GeneratorError

#: Called after every epoch with ``(label, epoch, epochs, train_loss, seconds)``. The CLI sets it
#: to show progress inside its own status line; unset, a rich progress bar goes to a terminal.
ProgressHook = Callable[[str, int, int, float, float], None]
progress_hook: contextvars.ContextVar[ProgressHook | None] = contextvars.ContextVar("progress_hook", default=None)


@dataclass
class StopReason:
    """Why training ended, kept on the fitted model for the model card."""

    epochs_run: int
    reason: str  # "epochs", "early stopping", "time budget"
    best_epoch: int
    seconds: float


class Trainer:
    """Counts epochs; stops on ``epochs``, on ``patience`` epochs without a better validation
    loss, or when ``max_time`` seconds have passed. Keeps a copy of the best weights."""

    def __init__(self, epochs: int, patience: int = 0, max_time: float | None = None, label: str = "training") -> None:
        self.epochs, self.patience, self.max_time, self.label = epochs, patience, max_time, label
        self.best_loss = math.inf
        self.best_epoch = 0
        self.best_state: dict | None = None
        self.epoch = 0
        self.reason = "epochs"
        self._bad_epochs = 0
        self._stop = False
        self._start = time.perf_counter()
        self._bar: _Bar | None = None

    def __iter__(self) -> Iterator[int]:
        hook = progress_hook.get()
        self._bar = None if hook is not None or not sys.stderr.isatty() else _Bar(self.label, self.epochs)
        try:
            for epoch in range(1, self.epochs + 1):
                if self._stop:
                    break
                if self.max_time is not None and self.seconds >= self.max_time:
                    self.reason = "time budget"
                    break
                self.epoch = epoch
                yield epoch
        finally:
            if self._bar is not None:
                self._bar.close()

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self._start

    def report(self, train_loss: float, validation_loss: float | None = None, module: nn.Module | None = None) -> None:
        """Record an epoch; with a validation loss, track the best weights and early stopping."""
        if not math.isfinite(train_loss):
            raise GeneratorError(f"{self.label}: training diverged (loss {train_loss}) at epoch {self.epoch}; "
                                 "lower learning_rate or raise batch_size")
        hook = progress_hook.get()
        if hook is not None:
            hook(self.label, self.epoch, self.epochs, train_loss, self.seconds)
        elif self._bar is not None:
            self._bar.update(self.epoch, train_loss, validation_loss)
        if validation_loss is None:
            self.best_epoch = self.epoch
            return
        if not math.isfinite(self.best_loss) or validation_loss < self.best_loss - 1e-6 * max(1.0, abs(self.best_loss)):
            self.best_loss, self.best_epoch, self._bad_epochs = validation_loss, self.epoch, 0
            if module is not None:
                self.best_state = copy.deepcopy(module.state_dict())
        else:
            self._bad_epochs += 1
            if self.patience and self._bad_epochs >= self.patience:
                self.reason, self._stop = "early stopping", True

    def restore_best(self, module: nn.Module) -> StopReason:
        """Load the best weights seen (if validation was reported) and say why training ended."""
        if self.best_state is not None:
            module.load_state_dict(self.best_state)
        return StopReason(self.epoch, self.reason, self.best_epoch, round(self.seconds, 3))


class _Bar:
    """A rich progress bar with the loss, for interactive use outside the CLI."""

    def __init__(self, label: str, total: int) -> None:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[loss]}"),
                                 TimeElapsedColumn(), transient=True)
        self.task = self.progress.add_task(label, total=total, loss="")
        self.progress.start()

    def update(self, epoch: int, train_loss: float, validation_loss: float | None) -> None:
        loss = f"loss {train_loss:.4f}" + (f" · val {validation_loss:.4f}" if validation_loss is not None else "")
        self.progress.update(self.task, completed=epoch, loss=loss)

    def close(self) -> None:
        self.progress.stop()


@contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """Run with ``torch.set_num_threads(threads)`` (None: leave torch's default) and restore it after."""
    if threads is None:
        yield
        return
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise GeneratorError(f"threads must be a whole number >= 1, got {threads!r}")
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def seeded_generator(seed: int | None) -> torch.Generator:
    """A torch RNG; ``None`` seeds it from the operating system, so it cannot be replayed."""
    gen = torch.Generator()
    gen.manual_seed(secrets.randbits(62) if seed is None else int(seed))
    return gen


@dataclass
class PrivateTraining:
    """What :func:`make_private` hands back: the wrapped module, optimiser and loader, and the engine
    whose accountant says how much privacy was spent."""

    module: nn.Module
    optimizer: torch.optim.Optimizer
    loader: torch.utils.data.DataLoader
    engine: object
    delta: float

    def epsilon_spent(self) -> float:
        with warnings.catch_warnings():
            # After very few steps the best RDP order is the largest one tried; the bound is still valid.
            warnings.filterwarnings("ignore", message="Optimal order")
            return float(self.engine.get_epsilon(self.delta))

    @property
    def plain_module(self) -> nn.Module:
        """The module without opacus' wrapper (what gets saved and sampled from)."""
        return getattr(self.module, "_module", self.module)


def make_private(module: nn.Module, optimizer: torch.optim.Optimizer, loader: torch.utils.data.DataLoader, *,
                 epsilon: float, delta: float, epochs: int, max_grad_norm: float,
                 seed: int | None = None) -> PrivateTraining:
    """Wrap a module for DP-SGD (per-sample clipping + Gaussian noise, Poisson batches) so that
    ``epochs`` epochs spend at most ``(epsilon, delta)`` by opacus' RDP accountant.

    Stopping early (time budget) spends less; :meth:`PrivateTraining.epsilon_spent` says how much.
    The noise comes from the operating system unless ``seed`` is given (tests and audits only): the
    fit's ``random_state`` is published with every artifact, and replayable noise protects nobody.
    """
    from opacus import PrivacyEngine

    if not (isinstance(epsilon, (int, float)) and epsilon > 0):
        raise GeneratorError(f"epsilon must be a number > 0, got {epsilon!r}")
    if not (isinstance(delta, float) and 0 < delta < 1):
        raise GeneratorError(f"delta must be a number in (0, 1), got {delta!r}")
    with warnings.catch_warnings():
        # opacus warns that secure_mode is off (it needs torchcsprng); a seeded, reproducible fit is what we want.
        warnings.simplefilter("ignore")
        engine = PrivacyEngine(accountant="rdp", secure_mode=False)
        module, optimizer, loader = engine.make_private_with_epsilon(
            module=module, optimizer=optimizer, data_loader=loader, target_epsilon=float(epsilon),
            target_delta=delta, epochs=max(1, epochs), max_grad_norm=max_grad_norm,
            noise_generator=seeded_generator(seed))
    return PrivateTraining(module, optimizer, loader, engine, delta)
