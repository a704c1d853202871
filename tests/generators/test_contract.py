"""The contract every registered generator honours (like scikit-learn's ``check_estimator``).

Each generator is fitted once on the real ACTG 175 table, extended with two columns built from
its own values: an event date (enrolment + ``days``) and a string risk group with a category in
fewer than 1% of rows. ACTG 175 itself brings a partly missing lab (``cd496``), a constant
column (``zprior``), integer codes with a rare level (``karnof`` = 70) and 0/1 columns.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hygeia.data.dataset import Dataset
from hygeia.data.schema import ColumnKind
from hygeia.errors import GeneratorError
from hygeia.generators import REGISTRY, Generator, make_generator

NAMES = sorted(REGISTRY)
RARE = "haemophilia+msm"
BIG = 20_000


@pytest.fixture(scope="module")
def data(actg175: Dataset) -> Dataset:
    frame = actg175.modelled_frame().copy()
    frame["event_date"] = pd.Timestamp("1991-12-01") + pd.to_timedelta(frame["days"], unit="D")
    frame["risk_group"] = np.select(
        [(frame.hemo == 1) & (frame.homo == 1), frame.hemo == 1, frame.homo == 1, frame.drugs == 1],
        [RARE, "haemophilia", "msm", "idu"], default="other")
    ds = Dataset.from_frame(frame, source="actg175 + derived columns")
    assert ds.schema["event_date"].kind is ColumnKind.DATETIME
    assert ds.schema["risk_group"].kind is ColumnKind.CATEGORICAL
    assert 0 < (ds.frame["risk_group"] == RARE).mean() < 0.01
    return ds


def quick(name: str) -> dict:
    """A family's settings for a quick fit (fewer epochs): the contract is about behaviour, not quality."""
    return dict(getattr(REGISTRY[name], "quick_params", {}))


@pytest.fixture(scope="module", params=NAMES)
def fitted(request: pytest.FixtureRequest, data: Dataset) -> Generator:
    return make_generator(request.param, **quick(request.param)).fit(data)


@pytest.fixture(scope="module")
def big(fitted: Generator) -> pd.DataFrame:
    return fitted.sample(BIG, seed=11)


def test_registry_entry_is_complete(fitted: Generator) -> None:
    assert REGISTRY[fitted.name] is type(fitted)
    assert fitted.summary.strip()
    rebuilt = make_generator(fitted.name, **fitted.get_params())
    assert rebuilt.get_params() == fitted.get_params()


def test_sample_has_rows_columns_and_dtypes(fitted: Generator, data: Dataset) -> None:
    real = data.modelled_frame()
    synthetic = fitted.sample(500, seed=0)
    assert len(synthetic) == 500
    assert list(synthetic.columns) == list(real.columns)
    assert synthetic.dtypes.to_dict() == real.dtypes.to_dict()


def test_same_seed_same_rows_other_seed_other_rows(fitted: Generator) -> None:
    first = fitted.sample(300, seed=5)
    pd.testing.assert_frame_equal(first, fitted.sample(300, seed=5))
    assert not first.equals(fitted.sample(300, seed=6))


def test_save_load_round_trip(fitted: Generator, tmp_path) -> None:
    path = tmp_path / "model.pkl"
    fitted.save(path)
    loaded = Generator.load(path)
    assert type(loaded) is type(fitted)
    pd.testing.assert_frame_equal(loaded.sample(300, seed=3), fitted.sample(300, seed=3))
    assert isinstance(type(fitted).load(path), type(fitted))


def test_missing_rate_is_kept(big: pd.DataFrame, data: Dataset) -> None:
    real_rate = data.frame["cd496"].isna().mean()
    assert 0.3 < real_rate < 0.45  # ACTG 175's week-96 CD4 is missing for about 37%
    assert abs(big["cd496"].isna().mean() - real_rate) < 0.03
    observed_only = [c for c in data.schema.modelled if data.frame[c].notna().all()]
    assert big[observed_only].notna().all().all()


def test_numbers_and_dates_stay_integral_and_in_range(big: pd.DataFrame, data: Dataset) -> None:
    kinds = (ColumnKind.NUMERIC, ColumnKind.INTEGER, ColumnKind.DATETIME)
    for col in data.schema.of_kind(*kinds):
        real, synth = data.frame[col].dropna(), big[col].dropna()
        assert real.min() <= synth.min() and synth.max() <= real.max(), col
    for col in data.schema.of_kind(ColumnKind.INTEGER):
        values = big[col].dropna().to_numpy(dtype=float)
        assert np.array_equal(values, np.round(values)), col
    dates = big["event_date"]
    assert (dates == dates.dt.normalize()).all()  # date-only training values stay dates


def test_categories_come_from_training_and_rare_ones_survive(big: pd.DataFrame, data: Dataset) -> None:
    for col in data.schema.of_kind(ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN):
        assert set(big[col].dropna()) <= set(data.frame[col].dropna()), col
    assert (big["risk_group"] == RARE).sum() > 0
    assert (data.frame["karnof"] == 70).mean() < 0.01 and (big["karnof"] == 70).sum() > 0
    assert big["zprior"].nunique() == 1


@pytest.mark.parametrize("name", NAMES)
def test_sample_before_fit_raises(name: str) -> None:
    with pytest.raises(GeneratorError, match="not fitted"):
        make_generator(name).sample(10)


@pytest.mark.parametrize("n", [0, -5, 2.5, True])
def test_bad_row_count_raises(fitted: Generator, n: object) -> None:
    with pytest.raises(GeneratorError, match="rows to sample"):
        fitted.sample(n)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", NAMES)
def test_unfit_inputs_raise(name: str, actg175: Dataset) -> None:
    with pytest.raises(GeneratorError, match="Dataset.from_frame"):
        make_generator(name).fit(actg175.frame)  # type: ignore[arg-type]
    identifiers_only = Dataset.from_frame(actg175.frame[["pidnum"]], source="ids")
    with pytest.raises(GeneratorError, match="no modelled column"):
        make_generator(name).fit(identifiers_only)
    with pytest.raises(GeneratorError, match="no rows"):
        make_generator(name).fit(actg175.replace_frame(actg175.frame.iloc[:0]))


def test_unknown_generator_name_raises() -> None:
    with pytest.raises(GeneratorError, match="unknown generator 'gausian_copula'.*gaussian_copula"):
        make_generator("gausian_copula")
    with pytest.raises(GeneratorError, match="gaussian_copula"):
        make_generator("gaussian_copula", no_such_param=1)
