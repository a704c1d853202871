"""Behaviour of the Gaussian copula and its encoders on the real ACTG 175 training split.

The copula must keep the dependence the baseline (independent marginals) throws away: the
CD4 and CD8 counts at baseline and week 20, and the link between ``r`` and the missingness
of the week-96 CD4 count ``cd496``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hygeia.data.dataset import Dataset
from hygeia.errors import GeneratorError
from hygeia.generators import make_generator
from hygeia.generators.copula import GaussianCopula, nearest_correlation
from hygeia.generators.transforms import FrequencyEncoder, TableEncoder

N = 10_000
PAIRS = [("cd40", "cd420"), ("cd80", "cd820")]


@pytest.fixture(scope="module")
def train(actg175_split: tuple[Dataset, Dataset]) -> Dataset:
    return actg175_split[0]


@pytest.fixture(scope="module")
def copula(train: Dataset) -> GaussianCopula:
    return make_generator("gaussian_copula").fit(train)


@pytest.fixture(scope="module")
def samples(train: Dataset, copula: GaussianCopula) -> dict[str, pd.DataFrame]:
    others = {"pearson_only": make_generator("gaussian_copula", sweeps=0),
              "independent": make_generator("independent_marginals")}
    fitted = {"copula": copula, **{key: model.fit(train) for key, model in others.items()}}
    return {key: model.sample(N, seed=0) for key, model in fitted.items()}


def _mismatch(frame: pd.DataFrame) -> float:
    """Share of rows where ``r`` disagrees with "cd496 was observed"."""
    return float(((frame["r"] == 1) != frame["cd496"].notna()).mean())


@pytest.mark.parametrize("pair", PAIRS)
@pytest.mark.parametrize("method", ["pearson", "spearman"])
def test_copula_keeps_correlations_baseline_does_not(samples, train: Dataset, pair, method: str) -> None:
    a, b = pair
    real = train.frame[a].corr(train.frame[b], method=method)
    assert real > 0.4  # a strong relation, or the comparison below would prove nothing
    copula = samples["copula"][a].corr(samples["copula"][b], method=method)
    independent = samples["independent"][a].corr(samples["independent"][b], method=method)
    assert abs(copula - real) < 0.07
    assert abs(independent) < 0.05


def test_missingness_stays_linked_to_r(samples, train: Dataset) -> None:
    assert _mismatch(train.frame) == 0.0  # in ACTG 175, r = 1 exactly when cd496 was observed
    p = train.frame["cd496"].isna().mean()
    independent, copula = _mismatch(samples["independent"]), _mismatch(samples["copula"])
    assert abs(independent - 2 * p * (1 - p)) < 0.03  # what chance agreement gives
    assert copula < 0.2 * independent
    # Pearson on jittered scores understates the 0/1 link; the latent refinement is what fixes it.
    assert copula < 0.5 * _mismatch(samples["pearson_only"])


def test_correlation_matrix_is_a_valid_one(train: Dataset, copula: GaussianCopula) -> None:
    model = copula
    corr = model.correlation_
    assert corr.shape == (len(model.features_),) * 2 == model.factor_.shape
    assert np.allclose(corr, corr.T) and np.allclose(np.diag(corr), 1.0)
    assert np.linalg.eigvalsh(corr).min() > 0
    assert train.frame["zprior"].nunique() == 1  # a constant column carries no dependence
    j = model.features_.index("zprior")
    assert np.allclose(np.delete(corr[j], j), 0.0)


def test_nearest_correlation_repairs_an_indefinite_matrix() -> None:
    bad = np.array([[1.0, 0.9, -0.9], [0.9, 1.0, 0.9], [-0.9, 0.9, 1.0]])
    assert np.linalg.eigvalsh(bad).min() < 0
    fixed, factor = nearest_correlation(bad)
    assert np.linalg.eigvalsh(fixed).min() > 0
    assert np.allclose(np.diag(fixed), 1.0) and np.allclose(factor @ factor.T, fixed)
    assert np.sign(fixed[0, 1]) == np.sign(bad[0, 1]) and np.sign(fixed[0, 2]) == np.sign(bad[0, 2])


def test_full_shrinkage_removes_dependence(train: Dataset) -> None:
    model = make_generator("gaussian_copula", shrinkage=1.0, sweeps=5).fit(train)
    assert np.allclose(model.correlation_, np.eye(len(model.features_)))
    synthetic = model.sample(N, seed=0)
    assert abs(synthetic["cd40"].corr(synthetic["cd420"])) < 0.05


@pytest.mark.parametrize("params, word", [({"shrinkage": 1.5}, "shrinkage"), ({"shrinkage": "a"}, "shrinkage"),
                                          ({"sweeps": -1}, "sweeps"), ({"max_categories": 0}, "max_categories")])
def test_bad_parameters_raise(train: Dataset, params: dict, word: str) -> None:
    with pytest.raises(GeneratorError, match=word):
        make_generator("gaussian_copula", **params).fit(train)


def test_seed_none_draws_fresh_rows(train: Dataset) -> None:
    model = make_generator("gaussian_copula", sweeps=0).fit(train)
    assert not model.sample(200).equals(model.sample(200))


# -- encoders (hygeia.generators.transforms) --------------------------------------------------------

def test_encoder_round_trip_gives_back_the_table(train: Dataset) -> None:
    frame = train.modelled_frame()
    encoder = TableEncoder().fit(frame, train.schema)
    assert encoder.features_[-1] == "cd496__missing"
    u = encoder.to_uniform(frame, np.random.default_rng(0))
    assert np.nanmin(u) >= 0 and np.nanmax(u) <= 1
    assert np.isnan(u[:, encoder.features_.index("cd496")]).sum() == frame["cd496"].isna().sum()
    lo, hi = encoder.to_intervals(frame)
    assert np.all((lo <= u) | np.isnan(u)) and np.all((u <= hi) | np.isnan(u))
    pd.testing.assert_frame_equal(encoder.from_uniform(u), frame.reset_index(drop=True))


def test_encoder_keeps_skewed_marginal_shape(train: Dataset) -> None:
    frame = train.modelled_frame()
    encoder = TableEncoder().fit(frame, train.schema)
    decoded = encoder.from_uniform(np.random.default_rng(1).uniform(size=(N, len(encoder.features_))))
    for col in ["preanti", "cd80", "days"]:  # preanti: a point mass at 0 and a long right tail
        real, synth = frame[col], decoded[col]
        assert abs(synth.skew() - real.skew()) < 0.25 * abs(real.skew()) + 0.1, col
        assert abs((synth == 0).mean() - (real == 0).mean()) < 0.02, col


def test_frequency_slices_follow_code_order_and_pool_rare_levels(train: Dataset) -> None:
    karnof = train.frame["karnof"]
    ordered = FrequencyEncoder().fit(karnof)
    assert ordered.values_ == sorted(karnof.unique().tolist())  # codes by value, not by frequency
    assert np.allclose(np.diff(ordered.edges_), karnof.value_counts(normalize=True)[ordered.values_])
    pooled = FrequencyEncoder(max_categories=2).fit(karnof)
    assert pooled.n_kept_ == 2 and len(pooled.values_) == karnof.nunique()
    decoded = pd.Series(pooled.from_uniform(np.random.default_rng(2).uniform(size=N)))
    real_freq = karnof.value_counts(normalize=True)
    assert set(decoded) == set(real_freq.index)  # pooled rare levels are still produced
    assert np.allclose(decoded.value_counts(normalize=True)[real_freq.index], real_freq, atol=0.02)
    with pytest.raises(GeneratorError, match="not in the training data"):
        ordered.to_uniform(pd.Series([55]), np.random.default_rng(0))
