"""The NeuralGenerator base and its training pieces, on real ACTG 175.

A minimal autoencoder family stands in for "any family": it is a real network trained by the
base's own loop, so these tests check the base (early stopping, time budget, threads, seeds,
DP accounting) independent of any one family's quality.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from hygeia.data.dataset import Dataset
from hygeia.errors import GeneratorError
from hygeia.generators import REGISTRY
from hygeia.generators.neural import MARGINAL_SHARE, NeuralGenerator, block_loss, mlp, sample_blocks
from hygeia.generators.training import Trainer, progress_hook, torch_threads


class TinyVAE(NeuralGenerator):
    """Not registered: the smallest real family the base can train."""

    name = "tiny_vae"

    def __init__(self, latent: int = 8, **training) -> None:
        super().__init__(**training)
        self.latent = latent

    def _build(self) -> nn.Module:
        width = self.encoder_.width_
        return nn.ModuleDict({"enc": mlp(width, (32,), 2 * self.latent), "dec": mlp(self.latent, (32,), width)})

    def _loss(self, module: nn.Module, batch: torch.Tensor) -> torch.Tensor:
        mu, logvar = module["enc"](batch).chunk(2, dim=1)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        kl = -0.5 * (1 + logvar - mu**2 - logvar.exp()).sum(dim=1)
        return (block_loss(self.encoder_, module["dec"](z), batch) + kl).mean()

    def _generate(self, n: int) -> np.ndarray:
        return sample_blocks(self.encoder_, self.module_["dec"](torch.randn(n, self.latent))).numpy()


def test_the_test_family_is_not_registered() -> None:
    assert TinyVAE.name not in REGISTRY


def test_early_stopping_restores_the_best_epoch(actg175: Dataset) -> None:
    model = TinyVAE(epochs=400, patience=3, learning_rate=3e-2, threads=1).fit(actg175)
    stopped = model.stopped_
    assert stopped.reason == "early stopping" and stopped.epochs_run < 400
    assert stopped.best_epoch == stopped.epochs_run - 3


def test_time_budget_stops_training(actg175: Dataset) -> None:
    model = TinyVAE(epochs=100_000, patience=0, max_time=1.0, threads=1).fit(actg175)
    assert model.stopped_.reason == "time budget"
    assert 1.0 <= model.stopped_.seconds < 5.0


def test_fit_and_sample_are_seeded_and_leave_global_state_alone(actg175: Dataset) -> None:
    torch.manual_seed(123)
    before = torch.get_num_threads(), torch.random.get_rng_state()
    a = TinyVAE(epochs=3, threads=1).fit(actg175)
    assert (torch.get_num_threads(), True) == (before[0], torch.equal(torch.random.get_rng_state(), before[1]))
    b = TinyVAE(epochs=3, threads=1).fit(actg175)
    assert a.sample(200, seed=4).equals(b.sample(200, seed=4))
    assert not a.sample(200, seed=4).equals(a.sample(200, seed=5))


def test_threads_are_set_while_fitting_and_restored() -> None:
    before = torch.get_num_threads()
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with pytest.raises(GeneratorError, match="threads"):
        with torch_threads(0):
            pass


def test_progress_hook_sees_every_epoch_with_its_loss(actg175: Dataset) -> None:
    seen: list[tuple] = []
    token = progress_hook.set(lambda *args: seen.append(args))
    try:
        TinyVAE(epochs=4, patience=0, threads=1).fit(actg175)
    finally:
        progress_hook.reset(token)
    assert [s[1] for s in seen] == [1, 2, 3, 4]
    assert all(s[0] == "tiny_vae" and s[2] == 4 and np.isfinite(s[3]) for s in seen)


def test_dp_sgd_spends_at_most_the_asked_budget(actg175: Dataset) -> None:
    model = TinyVAE(epochs=5, epsilon=2.0, threads=1).fit(actg175)
    spent = model.privacy_spent
    assert spent is not None and 1.0 < spent["epsilon"] <= 2.0
    assert 0 < spent["delta"] < 1 / actg175.n_rows
    assert TinyVAE(epochs=2, threads=1).fit(actg175).privacy_spent is None
    # Stopping early on the time budget spends less than asked, and says so.
    short = TinyVAE(epochs=10_000, epsilon=2.0, max_time=0.5, threads=1).fit(actg175)
    assert short.stopped_.reason == "time budget" and short.privacy_spent["epsilon"] < 1.0


def test_empty_poisson_batches_still_take_a_noisy_step(actg175: Dataset) -> None:
    """Every Poisson batch is a step the accountant charges for, empty ones included: skipping them
    would leave fewer steps than accounted and reveal to an observer that nobody was sampled."""
    from opacus.accountants import RDPAccountant
    from opacus.accountants.utils import get_noise_multiplier

    # 80 rows in batches of 2 on average: about one batch in eight is empty (0.975^80 = 0.13).
    small = Dataset.from_frame(actg175.modelled_frame().iloc[:80, :6], source="actg175, first 80 rows")
    epochs, epsilon = 3, 2.0
    model = TinyVAE(epochs=epochs, batch_size=2, epsilon=epsilon, noise_seed=0, threads=1).fit(small)
    assert model.stopped_.epochs_run == epochs
    q, delta = 2 / 80, model.privacy_spent["delta"]
    sgd_epsilon = epsilon * (1 - MARGINAL_SHARE)
    sigma = get_noise_multiplier(target_epsilon=sgd_epsilon, target_delta=delta, sample_rate=q, epochs=epochs,
                                 accountant="rdp")
    accountant = RDPAccountant()
    accountant.history = [(sigma, q, epochs * 40)]  # 40 batches per epoch, every one a step
    expected = epsilon * MARGINAL_SHARE + accountant.get_epsilon(delta)
    assert model.privacy_spent["epsilon"] == pytest.approx(expected, rel=1e-9)


def test_diverging_training_stops_with_a_clear_error() -> None:
    trainer = Trainer(epochs=3, label="vae")
    with pytest.raises(GeneratorError, match="diverged.*learning_rate"):
        for _ in trainer:
            trainer.report(float("nan"))


@pytest.mark.parametrize("params, message", [
    ({"epochs": 0}, "epochs"), ({"batch_size": 2.5}, "batch_size"), ({"learning_rate": -1}, "learning_rate"),
    ({"max_time": 0}, "max_time"), ({"validation_fraction": 0.7}, "validation_fraction"),
    ({"epsilon": 0}, "epsilon"), ({"epsilon": 1.0, "delta": 2.0}, "delta"),
])
def test_bad_parameters_raise_before_any_work(actg175: Dataset, params: dict, message: str) -> None:
    with pytest.raises(GeneratorError, match=message):
        TinyVAE(**params).fit(actg175)
