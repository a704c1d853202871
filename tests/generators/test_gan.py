"""The GAN family on real ACTG 175, beyond the registry-wide contract.

Fits are the expensive part, so two are shared by the module: the family's quick fit of the
whole table, and a longer fit of small networks on six columns (treatment arm, "any treatment",
outcome, follow-up days, Karnofsky score, CD4) for what only a trained GAN shows. The other
tests fit small networks for a second or a few epochs.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hygeia.data.dataset import Dataset
from hygeia.errors import GeneratorError
from hygeia.generators import REGISTRY
from hygeia.generators.gan import GAN, _Proxy, _Sampler
from hygeia.generators.transforms import training_frame

SMALL_NETS = {"embedding_dim": 32, "generator_dims": (64, 64), "discriminator_dims": (64, 64), "threads": 1}


@pytest.fixture(scope="module")
def fitted(actg175: Dataset) -> GAN:
    return GAN(**GAN.quick_params, threads=1).fit(actg175)


@pytest.fixture(scope="module")
def six(actg175: Dataset) -> Dataset:
    columns = ["arms", "treat", "cens", "days", "karnof", "cd40"]
    return Dataset.from_frame(actg175.modelled_frame()[columns], source="actg175, six columns")


@pytest.fixture(scope="module")
def trained(six: Dataset) -> GAN:
    return GAN(epochs=60, **SMALL_NETS).fit(six)


def _encoded(model: GAN, data: Dataset) -> torch.Tensor:
    return torch.from_numpy(model.encoder_.transform(training_frame(data), np.random.default_rng(0)))


def test_registered_under_its_name() -> None:
    assert REGISTRY["gan"] is GAN


def test_training_by_sampling_shows_rare_categories_more_often_than_their_share(fitted: GAN, actg175: Dataset) -> None:
    # karnof = 70 is under 1% of ACTG 175; the log-frequency sampler asks for it far more often.
    x = _encoded(fitted, actg175)
    sampler = _Sampler(fitted.conditions_, x)
    karnof = next(i for i, b in enumerate(fitted.conditions_.blocks) if b.feature == "karnof")
    rare_slot = fitted.conditions_.offsets[karnof]  # karnof's categories sorted by value: 70 first
    torch.manual_seed(0)
    _, picks = sampler.conditions(200_000)
    block = fitted.conditions_.blocks[karnof]
    in_block = picks[(picks >= rare_slot) & (picks < rare_slot + block.width)]
    asked = (in_block == rare_slot).float().mean().item()  # when karnof is the condition
    share = (actg175.frame["karnof"] == 70).mean()
    assert share < 0.01 and asked > 5 * share
    # ...and the real rows handed to the critic for that condition really have karnof = 70.
    rows = sampler.rows(torch.full((50,), rare_slot))
    assert (rows[:, block.start] == 1).all()


def test_rare_category_keeps_its_frequency(fitted: GAN, actg175: Dataset) -> None:
    synthetic = fitted.sample(20_000, seed=1)
    for column, value in [("karnof", 70), ("hemo", 1), ("oprior", 1)]:
        real = (actg175.frame[column] == value).mean()
        synth = (synthetic[column] == value).mean()
        assert 0.3 * real < synth < 3 * real, (column, real, synth)


def test_generator_honours_the_condition(trained: GAN, six: Dataset) -> None:
    # The cross-entropy term: asked for the rarer outcome (cens = 1), the generator makes it.
    cond = trained.conditions_
    block = next(i for i, b in enumerate(cond.blocks) if b.feature == "cens")
    picks = torch.full((2_000,), cond.offsets[block] + 1)  # cens sorted by value: slot 1 is cens = 1
    torch.manual_seed(0)
    with torch.no_grad():
        rows = trained._fake(trained.module_, torch.nn.functional.one_hot(picks, cond.width).float(), hard=True)[1]
    asked = rows[:, cond.blocks[block].start + 1].mean().item()
    assert asked > 2 * six.frame["cens"].mean()


def test_trained_gan_learns_links_between_columns(trained: GAN, six: Dataset) -> None:
    real, synthetic = six.frame, trained.sample(5_000, seed=2)
    # Arm 0 (zidovudine alone) is the only arm with treat = 0; independent columns would agree ~62%.
    assert ((real["arms"] != 0) == (real["treat"] == 1)).all()
    assert ((synthetic["arms"] != 0) == (synthetic["treat"] == 1)).mean() > 0.8
    # An event (cens = 1) cuts follow-up short: days and outcome correlate about -0.57.
    rho_real, rho_synth = (f[["days", "cens"]].corr().iloc[0, 1] for f in (real, synthetic))
    assert rho_real < -0.5 and abs(rho_synth - rho_real) < 0.15


def test_fidelity_proxy_ranks_real_rows_above_broken_ones(fitted: GAN, actg175: Dataset) -> None:
    x = _encoded(fitted, actg175)
    proxy = _Proxy(fitted.encoder_, x[:300])
    real = proxy.score(x[300:1300].numpy())
    shuffled = x[300:1300].clone()
    generator = torch.Generator().manual_seed(0)
    for block in fitted.encoder_.blocks_:  # break every dependence between columns, keep marginals
        order = torch.randperm(1000, generator=generator)
        shuffled[:, block.start:block.stop] = shuffled[order, block.start:block.stop]
    constant = x[300:1300].clone()
    constant[:] = x[300]  # one row repeated: marginals and correlations gone
    assert real < proxy.score(shuffled.numpy()) < proxy.score(constant.numpy())


def test_early_stopping_on_the_proxy_keeps_the_best_epoch(six: Dataset) -> None:
    # A far too large step size: the proxy stops improving at once, so patience ends the fit.
    model = GAN(epochs=200, patience=4, batch_size=100, learning_rate=0.05, **SMALL_NETS).fit(six)
    stopped = model.stopped_
    assert stopped.reason == "early stopping" and stopped.epochs_run < 200
    assert stopped.epochs_run - stopped.best_epoch >= 4
    every = -(-50 // (round(six.n_rows * 0.9) // 100))  # epochs between proxy evaluations
    assert (stopped.best_epoch - 1) % every == 0  # the kept weights are from an evaluated epoch


def test_time_budget_stops_training(six: Dataset) -> None:
    model = GAN(epochs=100_000, patience=0, max_time=1.0, batch_size=100, **SMALL_NETS).fit(six)
    assert model.stopped_.reason == "time budget"
    assert model.stopped_.seconds >= 1.0 and model.stopped_.epochs_run < 100_000
    assert len(model.sample(50, seed=0)) == 50


def test_dp_fit_spends_at_most_the_asked_budget(six: Dataset) -> None:
    model = GAN(epochs=2, epsilon=2.0, batch_size=500, **SMALL_NETS).fit(six)
    spent = model.privacy_spent
    assert spent is not None and 1.0 < spent["epsilon"] <= 2.0
    assert 0 < spent["delta"] < 1 / six.n_rows
    assert model.stopped_.epochs_run == 2
    synthetic = model.sample(500, seed=0)
    assert list(synthetic.columns) == list(six.frame.columns) and synthetic.notna().all().all()
    assert not any("sampler" in name for name in vars(model))  # no row-level index is kept on the model


@pytest.mark.parametrize("params, message", [
    ({"pac": 0}, "pac"), ({"embedding_dim": 2.5}, "embedding_dim"), ({"generator_dims": ()}, "generator_dims"),
    ({"discriminator_dims": (256, -1)}, "discriminator_dims"), ({"gradient_penalty": -1}, "gradient_penalty"),
    ({"discriminator_steps": True}, "discriminator_steps"), ({"epochs": 0}, "epochs"),
])
def test_bad_parameters_raise_before_any_work(actg175: Dataset, params: dict, message: str) -> None:
    with pytest.raises(GeneratorError, match=message):
        GAN(**params).fit(actg175)
