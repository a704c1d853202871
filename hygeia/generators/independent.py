"""Independent marginals: the honest baseline every other generator must beat.

Each column (and each missing indicator) is drawn alone from its fitted empirical marginal,
so single-column statistics are right and every relation between columns is gone. A model
whose synthetic data is no more useful than this one has learned nothing about the joint
distribution.

>>> IndependentMarginals().fit(dataset).sample(500, seed=1)  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Self

import numpy as np
import pandas as pd

from hygeia.data.dataset import Dataset
from hygeia.generators.base import Generator, register
from hygeia.generators.transforms import TableEncoder, check_sample_size, training_frame


@register
class IndependentMarginals(Generator):
    """Every column sampled independently from its own empirical marginal.

    Parameters:
        max_categories: categories kept as their own slice per column; rarer ones share a pooled slice.
    """

    name = "independent_marginals"
    summary = "Each column drawn independently from its empirical marginal; the no-dependence baseline"

    def __init__(self, max_categories: int = 100) -> None:
        self.max_categories = max_categories

    def fit(self, data: Dataset) -> Self:
        frame = training_frame(data)
        self.encoder_ = TableEncoder(self.max_categories).fit(frame, data.schema)
        self.columns_ = list(frame.columns)
        return self

    def sample(self, n: int, seed: int | None = None) -> pd.DataFrame:
        self.check_fitted()
        check_sample_size(n)
        rng = np.random.default_rng(seed)
        # Uniform scores in every feature, drawn independently: the marginals and nothing else.
        return self.encoder_.from_uniform(rng.uniform(size=(n, len(self.encoder_.features_))))
