"""Differential-privacy building blocks (hygeia.privacy.dp) on the real ACTG 175 table.

The noise scale is checked against its promise: Laplace noise of scale ``columns / ε`` on each
histogram cell, which shows up in how much a column's share varies from run to run.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from hygeia.data.dataset import Dataset
from hygeia.data.schema import ColumnKind
from hygeia.errors import GeneratorError
from hygeia.privacy.dp import PrivacyBudget, compose, default_delta, noisy_marginals_frame

RUNS = 200


@pytest.fixture(scope="module")
def frame(actg175: Dataset) -> pd.DataFrame:
    return actg175.modelled_frame()


# -- budgets --------------------------------------------------------------------------------------

def test_budget_split_gives_share_of_epsilon_and_all_delta_to_the_rest() -> None:
    budget = PrivacyBudget(3.0, 1e-6)
    first, rest = budget.split(0.25)
    assert first.as_dict() == {"epsilon": 0.75, "delta": 0.0}
    assert rest.as_dict() == {"epsilon": 2.25, "delta": 1e-6}
    assert compose(first, rest).as_dict() == budget.as_dict()


def test_compose_adds_epsilon_and_delta() -> None:
    total = compose(PrivacyBudget(0.5), PrivacyBudget(1.0, 1e-6), PrivacyBudget(2.0, 2e-6))
    assert total.epsilon == pytest.approx(3.5) and total.delta == pytest.approx(3e-6)


@pytest.mark.parametrize("n", [10, 299, 2139, 100_000])
def test_default_delta_is_well_below_one_over_n(n: int) -> None:
    delta = default_delta(n)
    assert 0 < delta <= 1e-5 and delta < 1 / (10 * n)
    assert default_delta(n * 10) < delta or delta == 1e-5 and default_delta(n * 10) <= delta


@pytest.mark.parametrize("epsilon, delta, word", [
    (0, 0.0, "epsilon"), (-1.0, 0.0, "epsilon"), (True, 0.0, "epsilon"), ("3", 0.0, "epsilon"),
    (math.nan, 0.0, "epsilon"), (1.0, 1.0, "delta"), (1.0, -1e-6, "delta"), (1.0, False, "delta"),
])
def test_bad_budgets_are_refused_with_the_parameter_named(epsilon, delta, word: str) -> None:
    with pytest.raises(GeneratorError, match=word):
        PrivacyBudget(epsilon, delta)


@pytest.mark.parametrize("epsilon", [0, -0.5, math.nan])
def test_noisy_marginals_refuse_a_budget_that_is_not_positive(frame: pd.DataFrame, actg175: Dataset,
                                                             epsilon: float) -> None:
    with pytest.raises(GeneratorError, match="epsilon"):
        noisy_marginals_frame(frame, actg175.schema, epsilon, np.random.default_rng(0))


# -- noisy marginals ------------------------------------------------------------------------------

def _share_spread(frame: pd.DataFrame, actg175: Dataset, columns: list[str], epsilon: float) -> float:
    """Standard deviation, over independent runs, of the share of women (gender = 0) in the noisy frame."""
    sub = frame[columns]
    shares = [float((noisy_marginals_frame(sub, actg175.schema, epsilon, np.random.default_rng(seed))["gender"]
                     == 0).mean()) for seed in range(RUNS)]
    return float(np.std(shares))


def _expected_spread(p: float, n: int, scale: float) -> float:
    """Laplace(scale) on both cells of a two-cell histogram, then n draws from it (delta method)."""
    noise = 2 * scale**2 * ((1 - p) ** 2 + p**2) / n**2
    return math.sqrt(p * (1 - p) / n + noise)


def test_noise_scale_is_columns_over_epsilon(frame: pd.DataFrame, actg175: Dataset) -> None:
    n, p = len(frame), float((frame["gender"] == 0).mean())
    epsilon = 0.1
    alone = _share_spread(frame, actg175, ["gender"], epsilon)
    four = _share_spread(frame, actg175, ["gender", "race", "hemo", "homo"], epsilon)
    # One column: scale 1/ε. Four columns share ε, so each histogram gets four times the noise.
    assert alone == pytest.approx(_expected_spread(p, n, 1 / epsilon), rel=0.2)
    assert four == pytest.approx(_expected_spread(p, n, 4 / epsilon), rel=0.2)
    assert four > 2 * alone


def test_large_budget_reproduces_every_marginal(frame: pd.DataFrame, actg175: Dataset) -> None:
    noisy = noisy_marginals_frame(frame, actg175.schema, 1e6, np.random.default_rng(0))
    assert list(noisy.columns) == list(frame.columns) and len(noisy) == len(frame)
    assert noisy.dtypes.to_dict() == frame.dtypes.to_dict()
    for col in ["karnof", "strat", "race", "gender", "cens"]:
        real, fake = frame[col].value_counts(normalize=True), noisy[col].value_counts(normalize=True)
        assert (real - fake.reindex(real.index, fill_value=0)).abs().sum() / 2 < 0.03, col
    for col in ["age", "cd40", "days"]:
        # A resample of 64-bin histograms: sampling error and half a bin's width.
        assert abs(noisy[col].median() - frame[col].median()) < 0.1 * frame[col].std(), col
    assert noisy["cd496"].isna().mean() == pytest.approx(frame["cd496"].isna().mean(), abs=0.03)


def test_range_ends_get_cells_of_their_own(frame: pd.DataFrame, actg175: Dataset) -> None:
    """preanti (days of prior antiretroviral therapy) is exactly 0 for about 40% of patients. In one
    equal-width bin of 0..45 days that mass would be spread over the bin; in its own cell it stays 0."""
    real = frame["preanti"]
    assert (real == real.min()).mean() > 0.3
    noisy = noisy_marginals_frame(frame, actg175.schema, 1e6, np.random.default_rng(4))
    for col in ["preanti", "cd40", "wtkg"]:
        for end in (frame[col].min(), frame[col].max()):
            assert (noisy[col] == end).mean() == pytest.approx((frame[col] == end).mean(), abs=0.02), (col, end)


def test_small_budget_keeps_the_public_shape(frame: pd.DataFrame, actg175: Dataset) -> None:
    """Columns, categories, ranges and 'can be missing' survive even when the counts are drowned in noise."""
    noisy = noisy_marginals_frame(frame, actg175.schema, 0.01, np.random.default_rng(1))
    for col in frame.columns:
        real = frame[col].dropna()
        kind = actg175.schema[col].kind
        if kind in (ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN):
            assert set(noisy[col].dropna()) == set(real), col  # every category, and no new one
        else:
            assert noisy[col].min() == real.min() and noisy[col].max() == real.max(), col
    integral = ["age", "preanti", "cd40"]
    assert all(np.array_equal(noisy[c], np.round(noisy[c])) for c in integral)
    assert noisy["cd496"].isna().any()  # it can be missing, so the noisy frame says so


def test_never_missing_column_stays_complete_under_heavy_noise(frame: pd.DataFrame, actg175: Dataset) -> None:
    noisy = noisy_marginals_frame(frame, actg175.schema, 0.01, np.random.default_rng(1))
    complete = [c for c in frame.columns if frame[c].notna().all()]
    assert [c for c in complete if noisy[c].isna().any()] == []


def test_dates_keep_their_range_and_dtype(frame: pd.DataFrame) -> None:
    dated = frame[["days", "cd496"]].assign(event=pd.Timestamp("1991-12-01") + pd.to_timedelta(frame["days"], "D"))
    ds = Dataset.from_frame(dated, source="actg175 + event date")
    noisy = noisy_marginals_frame(dated, ds.schema, 1.0, np.random.default_rng(2))
    assert noisy["event"].dtype == dated["event"].dtype
    assert noisy["event"].min() == dated["event"].min() and noisy["event"].max() == dated["event"].max()


def test_all_missing_column_passes_through(frame: pd.DataFrame, actg175: Dataset) -> None:
    blank = frame[["age", "cd496"]].assign(cd496=np.nan)
    noisy = noisy_marginals_frame(blank, actg175.schema, 1.0, np.random.default_rng(3))
    assert noisy["cd496"].isna().all() and noisy["age"].notna().all()
