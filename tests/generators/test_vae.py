"""The VAE family on real ACTG 175, beyond the registry-wide contract: dependence kept, the
fitted latent prior, learned noise, early stopping, the time budget, DP-SGD accounting and
parameter checks."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
import torch

from hygeia.data.dataset import Dataset
from hygeia.errors import GeneratorError
from hygeia.generators.vae import ROWS_PER_DIMENSION, SIGMA_MAX, SIGMA_MIN, VAE

#: Rank correlations stronger than this in ACTG 175 count as "clearly dependent" pairs.
STRONG = 0.4


@pytest.fixture(scope="module")
def fitted(actg175: Dataset) -> VAE:
    # Half the default epochs: categories that depend only on each other (treatment and arm) are
    # learnt after 100-150; the quick contract fit (100) keeps the other pairs only.
    return VAE(epochs=150, patience=0, threads=1).fit(actg175)


@pytest.fixture(scope="module")
def synthetic(fitted: VAE) -> pd.DataFrame:
    return fitted.sample(3000, seed=1)


def _strong_pairs(frame: pd.DataFrame) -> list[tuple[str, str, float]]:
    corr = frame.select_dtypes("number").corr("spearman")
    return [(a, b, corr.loc[a, b]) for i, a in enumerate(corr) for b in corr.columns[i + 1:]
            if abs(corr.loc[a, b]) > STRONG]


def _with(model: VAE, **changes: object) -> VAE:
    """The same fitted model with some attributes changed (a shallow copy: the network is shared)."""
    other = copy.copy(model)
    other.__dict__.update(changes)
    return other


def test_clearly_dependent_pairs_keep_their_sign(synthetic: pd.DataFrame, actg175: Dataset) -> None:
    pairs = _strong_pairs(actg175.modelled_frame())
    # CD4 at baseline vs week 20 (+), censoring vs follow-up days (-), treatment vs arm (+), ...
    assert {("cd40", "cd420"), ("cens", "days"), ("treat", "arms")} <= {(a, b) for a, b, _ in pairs}
    synth = synthetic.select_dtypes("number").corr("spearman")
    for a, b, real in pairs:  # same sign, at least half as strong
        assert synth.loc[a, b] / real > 0.5, (a, b, real, synth.loc[a, b])


def test_fitted_latent_prior_beats_the_standard_normal(fitted: VAE, synthetic: pd.DataFrame,
                                                       actg175: Dataset) -> None:
    prior = fitted.prior_
    active = int(prior.active.sum())
    assert 0 < active < fitted.latent  # a few dimensions carry the information
    # Components are capped by the rows each one's full covariance needs.
    assert 1 <= len(prior.weights) <= max(1, min(fitted.prior_components, len(actg175.frame) // (ROWS_PER_DIMENSION * active)))
    assert prior.means.shape == (len(prior.weights), int(prior.active.sum()))
    plain = _with(fitted, prior_=None).sample(3000, seed=1)  # TVAE's z ~ N(0, I)
    pairs = _strong_pairs(actg175.modelled_frame())

    def error(frame: pd.DataFrame) -> float:
        corr = frame.select_dtypes("number").corr("spearman")
        return float(np.mean([abs(corr.loc[a, b] - real) for a, b, real in pairs]))

    assert error(synthetic) < 0.75 * error(plain)


def test_learned_noise_is_per_feature_and_bounded(fitted: VAE) -> None:
    sigma = fitted.module_["sigma"](torch.zeros(1, 1)).detach().numpy().ravel()
    assert len(sigma) == len(fitted.encoder_.continuous_blocks) > 0
    assert ((SIGMA_MIN <= sigma) & (sigma <= SIGMA_MAX)).all()
    assert np.ptp(sigma) > 0  # learned, not left at the start value
    noisy, mean = fitted.sample(2000, seed=3), _with(fitted, sample_noise=False).sample(2000, seed=3)
    # The noise is drawn after the categories, so only the numbers move.
    assert noisy["arms"].value_counts().equals(mean["arms"].value_counts())
    assert (noisy["wtkg"] != mean["wtkg"]).mean() > 0.9


def test_early_stopping_on_the_validation_split(actg175: Dataset) -> None:
    model = VAE(hidden=(32,), latent=8, epochs=500, patience=3, learning_rate=1e-2, threads=1).fit(actg175)
    stopped = model.stopped_
    assert stopped.reason == "early stopping" and stopped.epochs_run < 500
    assert stopped.best_epoch == stopped.epochs_run - 3


def test_time_budget_is_respected(actg175: Dataset) -> None:
    model = VAE(epochs=100_000, patience=0, max_time=1.0, threads=1).fit(actg175)
    assert model.stopped_.reason == "time budget"
    assert 1.0 <= model.stopped_.seconds < 5.0


def test_dp_sgd_fit_reports_what_it_spent_and_samples_the_plain_prior(actg175: Dataset) -> None:
    model = VAE(hidden=(64, 64), latent=16, epochs=3, epsilon=1.0, threads=1).fit(actg175)
    spent = model.privacy_spent
    assert spent is not None and 0.5 < spent["epsilon"] <= 1.0
    assert 0 < spent["delta"] < 1 / actg175.n_rows
    assert model.prior_ is None  # a mixture fitted on the rows would leak outside the accounting
    frame = model.sample(500, seed=0)
    assert list(frame.columns) == list(actg175.modelled_frame().columns) and len(frame) == 500
    plain = VAE(hidden=(32,), latent=8, epochs=1, prior_components=0, threads=1).fit(actg175)
    assert plain.privacy_spent is None and plain.prior_ is None


@pytest.mark.parametrize("params, message", [
    ({"hidden": ()}, "hidden"), ({"hidden": "128"}, "hidden"), ({"hidden": (128, 0)}, "hidden"),
    ({"latent": 0}, "latent"), ({"latent": 2.5}, "latent"), ({"loss_factor": 0}, "loss_factor"),
    ({"loss_factor": "2"}, "loss_factor"), ({"sample_noise": "yes"}, "sample_noise"),
    ({"prior_components": -1}, "prior_components"), ({"epochs": 0}, "epochs"),
])
def test_bad_parameters_raise_before_any_work(actg175: Dataset, params: dict, message: str) -> None:
    model = VAE(**params)
    with pytest.raises(GeneratorError, match=message):
        model.fit(actg175)
    assert not hasattr(model, "encoder_")
