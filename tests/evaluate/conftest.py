"""Candidates for the evaluation tests, all made of real ACTG 175 rows.

The train table of ``actg175_split`` is cut in two: ``fit`` plays the rows a generator learned
from and ``fresh`` the output of a perfect generator (real rows it never saw, from the same
population). Bad candidates are built from these by shuffling, copying or dropping.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from hygeia.evaluate.encoding import Encoding


@pytest.fixture(scope="session")
def real(actg175_split) -> SimpleNamespace:
    train_ds, holdout_ds = actg175_split
    train, holdout = train_ds.frame, holdout_ds.frame
    half = len(train) // 2
    fit, fresh = train.iloc[:half].reset_index(drop=True), train.iloc[half:].reset_index(drop=True)
    return SimpleNamespace(train=train, holdout=holdout, fit=fit, fresh=fresh, schema=train_ds.schema,
                           enc=Encoding.fit(fit, train_ds.schema))


@pytest.fixture(scope="session")
def shuffle():
    """``shuffle(frame, rows=None, keep=())``: columns permuted independently (within ``rows``)."""
    return _shuffle_columns


def _shuffle_columns(frame: pd.DataFrame, rows: pd.Series | None = None, keep: tuple[str, ...] = (),
                     seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    out = frame.copy()
    mask = np.ones(len(out), dtype=bool) if rows is None else rows.to_numpy()
    for col in out.columns:
        if col not in keep:
            out.loc[mask, col] = rng.permutation(out.loc[mask, col].to_numpy())
    return out
