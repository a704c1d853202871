"""Shared fixtures: real clinical tables, never toy frames, for behaviour tests."""

from __future__ import annotations

import pytest

from hygeia.data.dataset import Dataset
from hygeia.data.demo import load_demo


@pytest.fixture(scope="session")
def actg175() -> Dataset:
    """ACTG 175 HIV trial (2,139 x 28), shipped in the lifelines wheel."""
    return load_demo("actg175")


@pytest.fixture(scope="session")
def actg175_split(actg175: Dataset) -> tuple[Dataset, Dataset]:
    """A fixed 70/30 train/holdout split of ACTG 175 (modelled columns only)."""
    frame = actg175.modelled_frame().sample(frac=1.0, random_state=0).reset_index(drop=True)
    cut = int(len(frame) * 0.7)
    return (actg175.replace_frame(frame.iloc[:cut]), actg175.replace_frame(frame.iloc[cut:]))
