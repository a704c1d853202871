"""The autoregressive family on real ACTG 175: conditional sampling, its errors, and DP-SGD.

In ACTG 175 ``gender`` is coded 0 = female (368 patients), 1 = male. Women in the trial were
rarely men who have sex with men (``homo`` 3% against 66% overall) and weighed less (68 kg
against 75 kg); patients aged 25 or less were often haemophiliacs (``hemo`` 38% against 8%).
A model that conditions well moves those columns the real way.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hygeia.data.dataset import Dataset
from hygeia.errors import GeneratorError
from hygeia.generators import Generator
from hygeia.generators.autoregressive import Autoregressive

FEMALE = 0


@pytest.fixture(scope="module")
def fitted(actg175: Dataset) -> Autoregressive:
    # Twice the contract's quick fit: conditionals given one or two columns are the last to be learnt.
    return Autoregressive(epochs=80, patience=0, threads=1).fit(actg175)


@pytest.fixture(scope="module")
def unconditional(fitted: Autoregressive) -> pd.DataFrame:
    return fitted.sample(3000, seed=1)


@pytest.fixture(scope="module")
def small(actg175: Dataset) -> Autoregressive:
    """A short fit on a few columns, with a date and pooled rare categories: for exactness, not quality."""
    frame = actg175.modelled_frame()[["age", "wtkg", "gender", "karnof", "cd496", "days"]].copy()
    frame["event_date"] = pd.Timestamp("1991-12-01") + pd.to_timedelta(frame["days"], unit="D")
    # max_categories=2 keeps karnof 100 and 90; 80 and the rare 70 share the pooled slot.
    return Autoregressive(epochs=3, max_categories=2, threads=1).fit(Dataset.from_frame(frame, source="actg175 cut"))


def test_female_patients_aged_60_to_70_satisfy_both_conditions(fitted: Autoregressive, actg175: Dataset) -> None:
    real = actg175.frame
    assert set(real["gender"]) == {0, 1} and (real["gender"] == FEMALE).sum() == 368
    rows = fitted.sample(500, seed=3, conditions={"gender": FEMALE, "age": (60, 70)})
    assert len(rows) == 500 and list(rows.columns) == list(actg175.modelled_frame().columns)
    assert (rows["gender"] == FEMALE).all()
    assert rows["age"].between(60, 70).all()
    assert rows["age"].dtype == real["age"].dtype
    assert rows["age"].nunique() > 3  # spread over the range, not pinned to one end


def test_conditioning_on_sex_moves_other_columns_the_real_way(fitted: Autoregressive, unconditional: pd.DataFrame,
                                                             actg175: Dataset) -> None:
    real = actg175.frame
    women = fitted.sample(3000, seed=2, conditions={"gender": FEMALE})
    assert (women["gender"] == FEMALE).all()
    for column in ("homo", "wtkg"):
        target = real.loc[real["gender"] == FEMALE, column].mean()
        assert abs(women[column].mean() - target) < abs(unconditional[column].mean() - target) / 2, column
    assert women["homo"].mean() < 0.2  # 3% in the real women, 66% overall


def test_conditioning_on_an_age_range_moves_other_columns_the_real_way(
        fitted: Autoregressive, unconditional: pd.DataFrame, actg175: Dataset) -> None:
    real = actg175.frame
    young = fitted.sample(3000, seed=4, conditions={"age": (None, 25)})
    assert young["age"].max() <= 25 and young["age"].min() >= real["age"].min()
    target = real.loc[real["age"] <= 25, "hemo"].mean()
    assert young["hemo"].mean() > unconditional["hemo"].mean() + 0.1
    assert abs(young["hemo"].mean() - target) < abs(unconditional["hemo"].mean() - target) / 2


def test_conditional_samples_are_seeded(fitted: Autoregressive) -> None:
    conditions = {"gender": FEMALE, "age": (40, 50)}
    first = fitted.sample(200, seed=9, conditions=conditions)
    pd.testing.assert_frame_equal(first, fitted.sample(200, seed=9, conditions=conditions))
    assert not first.equals(fitted.sample(200, seed=10, conditions=conditions))
    pd.testing.assert_frame_equal(fitted.sample(50, seed=9, conditions={}), fitted.sample(50, seed=9))


def test_values_lists_dates_missing_cells_and_pooled_categories_are_exact(small: Autoregressive) -> None:
    rows = small.sample(2000, seed=0, conditions={"karnof": 70})  # rare, and pooled with 80
    assert (rows["karnof"] == 70).all()
    rows = small.sample(2000, seed=0, conditions={"karnof": [80, 100], "gender": [1]})
    assert set(rows["karnof"]) == {80, 100} and (rows["gender"] == 1).all()
    rows = small.sample(1000, seed=0, conditions={"karnof": (75, 95)})  # a range over number codes: 80 and 90
    assert set(rows["karnof"]) <= {80, 90}
    rows = small.sample(1000, seed=0, conditions={"event_date": ("1993-01-01", "1993-06-30")})
    assert rows["event_date"].between(pd.Timestamp("1993-01-01"), pd.Timestamp("1993-06-30")).all()
    assert (rows["event_date"] == rows["event_date"].dt.normalize()).all()  # dates stay dates
    assert rows["cd496"].isna().mean() > 0  # unconditioned columns keep their missingness
    assert small.sample(300, seed=0, conditions={"cd496": None})["cd496"].isna().all()
    ranged = small.sample(1000, seed=0, conditions={"cd496": (200, 400), "age": [30, 41]})
    assert ranged["cd496"].between(200, 400).all() and set(ranged["age"]) == {30, 41}
    weight = float(small.encoder_.table_.encoders_["wtkg"].knots_[100])  # a real value of a real-valued column
    assert (small.sample(200, seed=0, conditions={"wtkg": weight})["wtkg"] == weight).all()


def test_conditional_sampling_survives_save_and_load(small: Autoregressive, tmp_path) -> None:
    small.save(tmp_path / "ar.pkl")
    loaded = Generator.load(tmp_path / "ar.pkl")
    conditions = {"age": (50, 60), "gender": 0}
    pd.testing.assert_frame_equal(loaded.sample(100, seed=1, conditions=conditions),
                                  small.sample(100, seed=1, conditions=conditions))


@pytest.mark.parametrize("conditions, message", [
    ({"no_such_column": 1}, "unknown column 'no_such_column'.*age"),
    ({"age": (200, 300)}, r"no value of 'age' in \[200, 300\] can be generated; training values span 12"),
    ({"age": (40.2, 40.8)}, "no value of 'age'"),
    ({"gender": "female"}, "'gender' never takes the value 'female'.*seen: 0, 1"),
    ({"karnof": (101, 200)}, "no category of 'karnof' lies in"),
    ({"age": (70, 60)}, "low 70 is above high 60"),
    ({"age": (1, 2, 3)}, "a range is"),
    ({"age": "old"}, "'age' is numeric; condition on numbers"),
    ({"age": []}, "lists no value"),
    ({"cd496": [None, 300]}, "mixes missing"),
    ({"age": None}, "'age' is never missing"),
])
def test_bad_conditions_raise_one_clear_error(small: Autoregressive, conditions: dict, message: str) -> None:
    with pytest.raises(GeneratorError, match=message):
        small.sample(10, seed=0, conditions=conditions)


def test_bad_parameters_and_conditions_type_raise(small: Autoregressive, actg175: Dataset) -> None:
    with pytest.raises(GeneratorError, match="conditions must map"):
        small.sample(10, conditions=[("age", 40)])  # type: ignore[arg-type]
    with pytest.raises(GeneratorError, match="hidden"):
        Autoregressive(hidden=()).fit(actg175)
    with pytest.raises(GeneratorError, match="dropout"):
        Autoregressive(dropout=1.5).fit(actg175)


def test_dp_sgd_fit_reports_its_budget_and_still_conditions(actg175: Dataset) -> None:
    model = Autoregressive(epochs=2, batch_size=256, epsilon=3.0, threads=1).fit(actg175)
    spent = model.privacy_spent
    assert spent is not None and 0.5 < spent["epsilon"] <= 3.0
    assert 0 < spent["delta"] < 1 / actg175.n_rows
    rows = model.sample(300, seed=0, conditions={"gender": FEMALE, "age": (30, 40)})
    assert (rows["gender"] == FEMALE).all() and rows["age"].between(30, 40).all()
    assert np.isfinite(rows["wtkg"]).all()
