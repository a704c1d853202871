"""MixedEncoder on real ACTG 175: blocks, round trips and the guarantees decoding gives every neural family."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hygeia.data.dataset import Dataset
from hygeia.errors import GeneratorError
from hygeia.generators.encoding import MixedEncoder


@pytest.fixture(scope="module")
def data(actg175: Dataset) -> Dataset:
    frame = actg175.modelled_frame().copy()
    frame["event_date"] = pd.Timestamp("1991-12-01") + pd.to_timedelta(frame["days"], unit="D")
    frame["site"] = [f"site-{i % 80:02d}" for i in range(len(frame))]  # 80 categories: above the cap below
    return Dataset.from_frame(frame, source="actg175 + derived")


@pytest.mark.parametrize("style", ["normal", "modes"])
def test_lossless_styles_round_trip_exactly(data: Dataset, style: str) -> None:
    frame = data.modelled_frame()
    enc = MixedEncoder(numeric=style, max_categories=100).fit(frame, data.schema)
    x = enc.transform(frame, np.random.default_rng(0))
    assert x.shape == (len(frame), enc.width_) and x.dtype == np.float32
    back = enc.inverse(x, np.random.default_rng(1))
    assert back.dtypes.to_dict() == frame.dtypes.to_dict()
    exact = ["age", "karnof", "gender", "event_date", "site", "cd40"] if style == "normal" else ["age", "karnof"]
    for col in exact:
        pd.testing.assert_series_equal(back[col], frame[col], check_names=False)
    pd.testing.assert_series_equal(back["cd496"].isna(), frame["cd496"].isna(), check_names=False)
    # Mode offsets lose a little precision on continuous labs, never the scale.
    assert (back["cd40"] - frame["cd40"]).abs().median() < 1.0


def test_blocks_tile_the_matrix_and_one_hot_rows_sum_to_one(data: Dataset) -> None:
    frame = data.modelled_frame()
    enc = MixedEncoder(numeric="modes").fit(frame, data.schema)
    starts = [b.start for b in enc.blocks_]
    assert starts[0] == 0 and all(a.stop == b.start for a, b in zip(enc.blocks_, enc.blocks_[1:]))
    assert enc.blocks_[-1].stop == enc.width_
    x = enc.transform(frame, np.random.default_rng(0))
    for block in enc.discrete_blocks:
        assert np.all(x[:, block.start:block.stop].sum(axis=1) == 1.0), block
    for block in enc.continuous_blocks:
        assert np.all(np.abs(x[:, block.start]) < 1.0), block  # mode offsets stay in (-1, 1)
    modes = [b for b in enc.blocks_ if b.role == "mode"]
    assert max(b.width for b in modes) > 1  # skewed labs need more than one mode


def test_high_cardinality_is_pooled_and_pooled_categories_come_back(data: Dataset) -> None:
    frame = data.modelled_frame()
    enc = MixedEncoder(max_categories=10).fit(frame, data.schema)
    site = next(b for b in enc.blocks_ if b.feature == "site")
    assert site.width == 11  # ten kept + one pooled slot, not 80 one-hot columns
    back = enc.inverse(enc.transform(frame, np.random.default_rng(0)), np.random.default_rng(1))
    assert back["site"].nunique() > 50  # the pooled slot decodes to all pooled sites by frequency
    assert set(back["site"]) <= set(frame["site"])


def test_bins_keep_marginals_and_ranges(data: Dataset) -> None:
    frame = data.modelled_frame()
    enc = MixedEncoder(numeric="bins", n_bins=20).fit(frame, data.schema)
    back = enc.inverse(enc.transform(frame, np.random.default_rng(0)), np.random.default_rng(1))
    for col in ["cd40", "wtkg", "age"]:
        real, got = frame[col], back[col]
        assert real.min() <= got.min() and got.max() <= real.max()
        assert abs(real.median() - got.median()) < 0.1 * real.std(), col


def test_inverse_reads_logits_and_rejects_a_wrong_width(data: Dataset) -> None:
    frame = data.modelled_frame()
    enc = MixedEncoder().fit(frame, data.schema)
    x = enc.transform(frame.head(50), np.random.default_rng(0))
    logits = x * 5.0 - 2.0  # one-hot scaled: the largest entry is still the category
    pd.testing.assert_series_equal(enc.inverse(logits, np.random.default_rng(0))["gender"], frame["gender"].head(50),
                                   check_names=False)
    with pytest.raises(GeneratorError, match=f"{enc.width_} columns"):
        enc.inverse(x[:, :-1], np.random.default_rng(0))


@pytest.mark.parametrize("params, message", [({"numeric": "quantile"}, "numeric encoding"),
                                             ({"max_categories": 0}, "max_categories"),
                                             ({"n_bins": 2.5}, "n_bins")])
def test_bad_settings_raise(data: Dataset, params: dict, message: str) -> None:
    with pytest.raises(GeneratorError, match=message):
        MixedEncoder(**params).fit(data.modelled_frame(), data.schema)


@pytest.mark.parametrize("style", ["bins", "normal", "modes"])
def test_slot_shares_from_the_fitted_encoder_match_the_encoded_rows(data: Dataset, style: str) -> None:
    frame = data.modelled_frame().copy()
    frame.loc[frame.index[::7], "gender"] = np.nan  # a categorical column with missing cells, too
    dataset = Dataset.from_frame(frame, source="actg175 with missing gender")
    enc = MixedEncoder(numeric=style, max_categories=40).fit(frame, dataset.schema)
    shares, observed = enc.slot_shares(), enc.transform(frame, np.random.default_rng(0)).mean(axis=0)
    for block in enc.blocks_:
        part = shares[block.start:block.stop]
        if block.kind == "continuous" or block.role == "mode":
            assert np.isnan(part).all(), block
            continue
        assert part.sum() == pytest.approx(1.0), block
        # Equal-probability bins hold their knots' share up to ties; categories and missing cells exactly.
        tolerance = 0.02 if block.role == "value" else 1e-6
        np.testing.assert_allclose(part, observed[block.start:block.stop], atol=tolerance, err_msg=block.feature)
