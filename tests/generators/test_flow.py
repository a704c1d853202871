"""The RealNVP flow on real ACTG 175: an exact, invertible density that ranks real records above
records whose lab values were made jointly implausible, deterministic scores, DP-SGD, bad input.

The sampling contract (dtypes, seeds, missingness, ranges, rare categories) is checked for every
family in test_contract.py.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.stats import spearmanr
from sklearn.metrics import roc_auc_score

from hygeia.data.dataset import Dataset
from hygeia.errors import GeneratorError
from hygeia.generators import Generator, make_generator
from hygeia.generators.flow import Flow, RealNVP

LABS = ["cd40", "cd420", "cd80"]


@pytest.fixture(scope="module")
def fitted(actg175_split: tuple[Dataset, Dataset]) -> Flow:
    train, _ = actg175_split
    return make_generator("flow", **Flow.quick_params).fit(train)


@pytest.fixture(scope="module")
def holdout(actg175_split: tuple[Dataset, Dataset]) -> pd.DataFrame:
    return actg175_split[1].modelled_frame().reset_index(drop=True)


def shuffled_labs(frame: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Each lab shuffled across rows on its own: every marginal is kept, their dependence is broken.

    Clipping to the observed range hides any single out-of-range value, so the anomaly has to
    be joint, the kind a per-column range check cannot see.
    """
    rng = np.random.default_rng(seed)
    out = frame.copy()
    for lab in LABS:
        out[lab] = rng.permutation(out[lab].to_numpy())
    return out


def _push(flow: RealNVP, x: torch.Tensor) -> torch.Tensor:
    """Data side to noise side through every coupling."""
    for coupling in flow.couplings:
        x, _ = coupling(x)
    return x


def test_flow_is_invertible_and_its_log_density_follows_the_change_of_variables() -> None:
    torch.manual_seed(0)
    flow = RealNVP(dim=5, layers=4, hidden=(16,), bound=2.0).double()
    for coupling in flow.couplings:  # leave the identity start so the test sees a real transform
        torch.nn.init.normal_(coupling.net[-1].weight, std=0.5)
    x = torch.randn(64, 5, dtype=torch.float64)
    back = _push(flow, x)
    for coupling in reversed(flow.couplings):
        back = coupling.inverse(back)
    torch.testing.assert_close(back, x)
    # log p(x) = log N(f(x)) + log|det df/dx|, with the Jacobian computed by autograd, row by row.
    for row in x[:3]:
        jac = torch.autograd.functional.jacobian(lambda r: _push(flow, r[None])[0], row)
        z = _push(flow, row[None])
        expected = torch.linalg.slogdet(jac)[1] - 0.5 * (z**2).sum() - 2.5 * np.log(2 * np.pi)
        torch.testing.assert_close(flow.log_prob(row[None])[0], expected)


def test_category_probabilities_are_a_sub_probability_ranked_like_the_data(actg175: Dataset) -> None:
    cols = ["gender", "race", "cens"]
    frame = actg175.modelled_frame()[cols]
    small = Flow(layers=4, hidden=(32, 32), batch_size=128, epochs=20, learning_rate=3e-3, threads=1)
    small.fit(Dataset.from_frame(frame, source="actg175 sex, race, outcome"))
    grid = pd.DataFrame(list(itertools.product([0, 1], repeat=3)), columns=cols)
    prob = np.exp(small.log_prob(grid))
    # The eight unit cubes are disjoint, so their masses cannot add up to more than one.
    assert 0 < prob.sum() <= 1.0
    observed = frame.value_counts(normalize=True).reindex(pd.MultiIndex.from_frame(grid)).to_numpy()
    assert spearmanr(prob, observed).statistic > 0.8


def test_real_records_score_above_records_with_jointly_implausible_labs(fitted: Flow,
                                                                        holdout: pd.DataFrame) -> None:
    real = fitted.log_prob(holdout)
    broken = fitted.log_prob(shuffled_labs(holdout))
    assert real.shape == (len(holdout),) and np.isfinite(real).all() and np.isfinite(broken).all()
    labels = np.r_[np.ones(len(real)), np.zeros(len(broken))]
    auc = roc_auc_score(labels, np.r_[real, broken])
    assert auc > 0.65, auc
    # Row by row, the same patient with the labs broken apart is usually less likely.
    assert (real > broken).mean() > 0.75


def test_log_prob_is_deterministic_and_ignores_column_order(fitted: Flow, holdout: pd.DataFrame,
                                                            tmp_path) -> None:
    rows = holdout.iloc[:100]
    first = fitted.log_prob(rows)
    np.testing.assert_array_equal(first, fitted.log_prob(rows))
    np.testing.assert_array_equal(first, fitted.log_prob(rows[rows.columns[::-1]]))
    path = tmp_path / "flow.pkl"
    fitted.save(path)
    np.testing.assert_array_equal(first, Generator.load(path).log_prob(rows))
    # Each row is scored on its own: a row's score does not depend on its neighbours.
    np.testing.assert_allclose(first[50:], fitted.log_prob(rows.iloc[50:]), rtol=1e-5)
    assert fitted.log_prob(rows.iloc[:0]).shape == (0,)


def test_missing_values_are_integrated_out(fitted: Flow, holdout: pd.DataFrame) -> None:
    observed = holdout[holdout["cd496"].notna()].iloc[:100]
    hidden = observed.assign(cd496=np.nan)
    full, partial = fitted.log_prob(observed), fitted.log_prob(hidden)
    assert np.isfinite(partial).all()
    # Dropping a density term and adding the (log) probability of "missing" changes every score.
    assert not np.allclose(full, partial)


def test_dp_fit_reports_privacy_spent_within_budget(actg175_split: tuple[Dataset, Dataset],
                                                    holdout: pd.DataFrame) -> None:
    train, _ = actg175_split
    model = Flow(layers=4, hidden=(64, 64), epochs=1, epsilon=3.0, threads=1).fit(train)
    spent = model.privacy_spent
    assert spent is not None and 0 < spent["epsilon"] <= 3.0
    assert 0 < spent["delta"] < 1 / train.n_rows
    assert np.isfinite(model.log_prob(holdout.iloc[:50])).all()
    assert len(model.sample(100, seed=0)) == 100


def test_bad_scoring_input_raises(fitted: Flow, holdout: pd.DataFrame) -> None:
    rows = holdout.iloc[:10]
    with pytest.raises(GeneratorError, match="missing training column.*cd40"):
        fitted.log_prob(rows.drop(columns="cd40"))
    with pytest.raises(GeneratorError, match="unknown column.*pidnum.*columns_"):
        fitted.log_prob(rows.assign(pidnum=1))
    with pytest.raises(GeneratorError, match="DataFrame"):
        fitted.log_prob(rows.to_numpy())  # type: ignore[arg-type]
    with pytest.raises(GeneratorError, match="missing value.*cd40.*none in training"):
        fitted.log_prob(rows.assign(cd40=np.nan))
    with pytest.raises(GeneratorError, match="category .*55.* was not in the training data"):
        fitted.log_prob(rows.assign(karnof=55))
    with pytest.raises(GeneratorError, match="cannot encode"):
        fitted.log_prob(rows.assign(cd40="high"))
    with pytest.raises(GeneratorError, match="not fitted"):
        Flow().log_prob(rows)


@pytest.mark.parametrize("params, message", [
    ({"layers": 0}, "layers"), ({"hidden": ()}, "hidden"), ({"hidden": (64, 0)}, "hidden"),
    ({"scale_bound": 0}, "scale_bound"), ({"draws": 1.5}, "draws"),
])
def test_bad_parameters_raise_before_any_work(actg175: Dataset, params: dict, message: str) -> None:
    with pytest.raises(GeneratorError, match=message):
        Flow(**params).fit(actg175)
