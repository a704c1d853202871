"""The differentially private Gaussian copula on the real ACTG 175 table.

What is checked: the budget spent is the budget asked for; the Gaussian noise meets the (ε, δ)
definition (checked by integrating the privacy-loss densities, not by the closed form the code
uses); without noise the private estimator recovers the dependence the non-private copula
finds, and less ε means more noise; and on a small training set, where the non-private copula
leaks who was in it, a small ε takes the leak away, as measured by hygeia.evaluate's
membership-inference attack.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import integrate
from scipy.stats import norm

from hygeia.data.dataset import Dataset
from hygeia.errors import GeneratorError
from hygeia.evaluate.encoding import Encoding
from hygeia.evaluate.privacy import privacy_metrics
from hygeia.generators import Generator, make_generator
from hygeia.generators.copula import GaussianCopula, gaussian_noise_scale
from hygeia.privacy.dp import default_delta


@pytest.fixture(scope="module")
def train(actg175_split: tuple[Dataset, Dataset]) -> Dataset:
    return actg175_split[0]


@pytest.fixture(scope="module")
def exact(train: Dataset) -> GaussianCopula:
    """The non-private copula (Gibbs-refined latent correlation): the reference the private one estimates."""
    return make_generator("gaussian_copula").fit(train)


def _private(train: Dataset, epsilon: float, noise_seed: int = 0, **params) -> GaussianCopula:
    """A private fit with a fixed noise seed, so the test repeats (real fits draw noise from the OS)."""
    return make_generator("gaussian_copula", epsilon=epsilon, noise_seed=noise_seed, **params).fit(train)


def _error(model: GaussianCopula, exact: GaussianCopula) -> float:
    return float(np.linalg.norm(model.correlation_ - exact.correlation_))


def test_privacy_spent_is_the_budget_asked_for(train: Dataset, tmp_path) -> None:
    model = make_generator("gaussian_copula", epsilon=2.0).fit(train)
    assert model.privacy_spent == {"epsilon": 2.0, "delta": default_delta(len(train.frame))}
    model.save(tmp_path / "dp.pkl")
    assert Generator.load(tmp_path / "dp.pkl").privacy_spent == model.privacy_spent
    given = make_generator("gaussian_copula", epsilon=0.5, delta=1e-7).fit(train)
    assert given.privacy_spent == {"epsilon": 0.5, "delta": 1e-7}
    assert make_generator("gaussian_copula", sweeps=0).fit(train).privacy_spent is None


@pytest.mark.parametrize("epsilon, delta", [(0.1, 1e-5), (1.0, 1e-5), (3.0, 1e-6), (10.0, 1e-8)])
def test_gaussian_noise_meets_the_definition_and_no_more(epsilon: float, delta: float) -> None:
    """δ(σ) = ∫ max(0, p(x) - e^ε q(x)) dx for N(0, σ²) against N(1, σ²): the hockey-stick divergence."""
    sigma = gaussian_noise_scale(epsilon, delta)

    def hockey_stick(s: float) -> float:
        # The integrand is positive only left of the crossing point x* = 1/2 - ε s².
        crossing = 0.5 - epsilon * s**2
        value, _ = integrate.quad(lambda x: norm.pdf(x, 0, s) - math.exp(epsilon) * norm.pdf(x, 1, s),
                                  crossing - 40 * s, crossing, epsabs=1e-14, epsrel=1e-10, limit=200)
        return value

    assert hockey_stick(sigma) == pytest.approx(delta, rel=1e-3)
    assert hockey_stick(0.95 * sigma) > 1.05 * delta  # the scale is tight: less noise breaks the promise
    if epsilon < 1:
        assert sigma < math.sqrt(2 * math.log(1.25 / delta)) / epsilon  # below the classic calibration


def test_without_noise_the_private_estimator_finds_the_exact_dependence(train: Dataset,
                                                                        exact: GaussianCopula) -> None:
    huge = _private(train, 1e6)
    plain = make_generator("gaussian_copula", sweeps=0).fit(train)  # jittered scores: attenuated
    assert _error(huge, exact) < 0.5 * _error(plain, exact)
    pair = huge.features_.index("r"), huge.features_.index("cd496__missing")
    # In ACTG 175, r = 1 exactly when cd496 was observed: a latent correlation of -1.
    assert huge.correlation_[pair] < -0.9 and exact.correlation_[pair] < -0.9
    assert plain.correlation_[pair] > -0.75
    a, b = huge.features_.index("cd40"), huge.features_.index("cd420")
    assert abs(huge.correlation_[a, b] - exact.correlation_[a, b]) < 0.05


def test_smaller_epsilon_means_a_noisier_correlation(train: Dataset, exact: GaussianCopula) -> None:
    errors = {eps: np.mean([_error(_private(train, eps, noise_seed=s), exact) for s in range(3)])
              for eps in (0.5, 3.0, 30.0)}
    assert errors[0.5] > 1.3 * errors[3.0] > 1.3 * 1.3 * errors[30.0]


def test_private_correlation_is_valid_and_ignores_constant_columns(train: Dataset) -> None:
    model = _private(train, 0.5)
    corr = model.correlation_
    assert np.allclose(corr, corr.T) and np.allclose(np.diag(corr), 1.0) and np.linalg.eigvalsh(corr).min() > 0
    j = model.features_.index("zprior")  # constant, which its public range already says
    assert np.allclose(np.delete(corr[j], j), 0.0)


def test_noise_is_fresh_unless_a_noise_seed_is_given(train: Dataset) -> None:
    """A known seed would let anyone replay and subtract the noise; by default every private fit differs."""
    fresh = [make_generator("gaussian_copula", epsilon=1.0).fit(train) for _ in range(2)]
    assert not np.array_equal(fresh[0].correlation_, fresh[1].correlation_)
    first, again, other = (_private(train, 1.0, noise_seed=s) for s in (4, 4, 5))
    assert np.array_equal(first.correlation_, again.correlation_)
    assert not np.array_equal(first.correlation_, other.correlation_)
    pd.testing.assert_frame_equal(first.sample(200, seed=1), again.sample(200, seed=1))
    with pytest.raises(GeneratorError, match="noise_seed"):
        make_generator("gaussian_copula", epsilon=1.0, noise_seed=-1).fit(train)


def test_heavy_noise_keeps_the_public_shape(train: Dataset) -> None:
    """At ε = 0.01 counts are noise, yet columns, dtypes, ranges and which columns can be missing hold."""
    real = train.frame
    synthetic = _private(train, 0.01).sample(3000, seed=0)
    assert synthetic.dtypes.to_dict() == real.dtypes.to_dict()
    complete = [c for c in real.columns if real[c].notna().all()]
    assert [c for c in complete if synthetic[c].isna().any()] == []
    assert synthetic["cd496"].isna().any()
    for col in ["age", "cd40", "preanti", "days"]:
        assert real[col].min() <= synthetic[col].min() and synthetic[col].max() <= real[col].max(), col
    assert set(synthetic["karnof"]) <= set(real["karnof"])


def test_point_mass_at_a_range_end_survives(train: Dataset) -> None:
    """preanti is 0 for about 40% of patients; equal-width bins alone would smear that over 0..44."""
    real_zero = float((train.frame["preanti"] == 0).mean())
    synthetic = _private(train, 3.0).sample(5000, seed=0)
    assert real_zero > 0.3 and abs(float((synthetic["preanti"] == 0).mean()) - real_zero) < 0.06


@pytest.mark.parametrize("params, word", [
    ({"epsilon": 0}, "epsilon"), ({"epsilon": -1.0}, "epsilon"), ({"epsilon": "3"}, "epsilon"),
    ({"epsilon": 1.0, "delta": 0.0}, "delta"), ({"epsilon": 1.0, "delta": 1.5}, "delta"),
])
def test_bad_privacy_parameters_are_named(train: Dataset, params: dict, word: str) -> None:
    with pytest.raises(GeneratorError, match=word):
        make_generator("gaussian_copula", **params).fit(train)


# -- membership inference ---------------------------------------------------------------------------
SPLITS = 6
MEMBERS = 50


@pytest.fixture(scope="module")
def attacks(actg175: Dataset) -> dict[str, list[float]]:
    """Membership-inference AUC on 50-patient training sets (a clinic-sized table), six random splits.

    With so few rows the non-private copula's empirical marginals and 29 x 29 correlation sit
    close to the patients it saw; the attack scores each real patient by the distance to the
    closest synthetic row (hygeia.evaluate.privacy), members vs equally many non-members.
    """
    frame = actg175.modelled_frame()
    out: dict[str, list[float]] = {"exact": [], "epsilon=0.5": []}
    for split in range(SPLITS):
        shuffled = frame.sample(frac=1.0, random_state=split).reset_index(drop=True)
        members, others = shuffled.iloc[:MEMBERS], shuffled.iloc[MEMBERS:2 * MEMBERS]
        enc = Encoding.fit(members, actg175.schema, list(members.columns))
        for key, params in (("exact", {}), ("epsilon=0.5", {"epsilon": 0.5, "noise_seed": split})):
            model = make_generator("gaussian_copula", random_state=split, **params).fit(actg175.replace_frame(members))
            metrics = privacy_metrics(members, others, model.sample(2000, seed=split), enc, seed=split)
            out[key].append(next(m.value for m in metrics if m.name == "privacy.mia_auc"))
    return out


def test_small_epsilon_removes_the_membership_leak(attacks: dict[str, list[float]]) -> None:
    exact, private = np.mean(attacks["exact"]), np.mean(attacks["epsilon=0.5"])
    assert exact > 0.58  # the setting leaks: members sit measurably closer to the synthetic rows
    assert private < exact - 0.08
    assert abs(private - 0.5) < 0.07  # close to a coin flip
