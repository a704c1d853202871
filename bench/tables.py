"""The real clinical tables of the benchmark and the one train/holdout split every method shares."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pandas as pd

from hygeia.data.dataset import Dataset
from hygeia.data.demo import load_demo
from hygeia.data.readers import read_dataset
from hygeia.data.schema import Schema
from hygeia.governance.synthesize import split_holdout

HOLDOUT_FRACTION = 0.3


@dataclass(frozen=True)
class Table:
    name: str
    target: str
    sensitive: tuple[str, ...]
    description: str


TABLES: dict[str, Table] = {
    "actg175": Table("actg175", "cens", ("gender", "race", "age"),
                     "ACTG 175 HIV trial (lifelines; Hammer et al. 1996)"),
    "gbsg2": Table("gbsg2", "cens", ("age", "menostat"),
                   "German Breast Cancer Study Group 2 (lifelines gbsg2.csv)"),
    "lung": Table("lung", "status", ("sex", "age"),
                  "NCCTG advanced lung cancer (lifelines lung.csv)"),
}


def _lifelines_file(name: str) -> Path:
    import lifelines

    return Path(lifelines.__file__).parent / "datasets" / name


@cache
def load(name: str) -> Dataset:
    """The whole table as Hygeia reads it (cached per process)."""
    if name == "actg175":
        return load_demo("actg175")
    return read_dataset(_lifelines_file(f"{name}.csv"))


def split(name: str, seed: int) -> tuple[Dataset, pd.DataFrame, pd.DataFrame, Schema]:
    """(train Dataset, train frame, holdout frame, modelled schema): the same for every method at one seed."""
    dataset = load(name)
    train, holdout = split_holdout(dataset.modelled_frame(), HOLDOUT_FRACTION, seed, TABLES[name].target)
    schema = dataset.schema.subset(dataset.schema.modelled)
    return dataset.replace_frame(train), train, holdout, schema
