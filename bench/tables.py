"""The real clinical tables of the benchmark and the one train/holdout split every method shares.

Every table ships inside a package installed in ``bench/.venv``: three in the lifelines wheel
(MIT) and the serum free light chain study in scikit-survival's (GPL-3). scikit-survival is
imported here only, inside the benchmark's own environment; nothing under ``hygeia/`` does.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import metadata
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
    package: str  # the package whose wheel ships the data (its version goes into results.md)


TABLES: dict[str, Table] = {
    "flchain": Table("flchain", "death", ("sex", "age"),
                     "serum free light chain study, Olmsted County (scikit-survival `load_flchain`; "
                     "Dispenzieri et al. 2012)", "scikit-survival"),
    "actg175": Table("actg175", "cens", ("gender", "race", "age"),
                     "ACTG 175 HIV trial (lifelines; Hammer et al. 1996)", "lifelines"),
    "gbsg2": Table("gbsg2", "cens", ("age", "menostat"),
                   "German Breast Cancer Study Group 2 (lifelines gbsg2.csv)", "lifelines"),
    "lung": Table("lung", "status", ("sex", "age"),
                  "NCCTG advanced lung cancer (lifelines lung.csv)", "lifelines"),
}

#: What `make bench` runs: one large (>= 5,000 rows), one mid-size and one small (< 700 rows) table.
#: `lung` (228 rows) stays available with --tables; a fourth table does not fit the 45-minute budget.
DEFAULT_TABLES = ("flchain", "actg175", "gbsg2")
#: The quick development run: the smallest table.
QUICK_TABLE = "lung"


def _lifelines_file(name: str) -> Path:
    import lifelines

    return Path(lifelines.__file__).parent / "datasets" / name


def _flchain() -> Dataset:
    """flchain with its survival outcome as two columns; the cause-of-death chapter is dropped.

    ``chapter`` is filled only for the patients who died, so it alone predicts ``death``: a
    utility score on a table that keeps it measures that leak, not the generator.
    """
    from sksurv.datasets import load_flchain

    x, y = load_flchain()
    frame = x.drop(columns=["chapter"]).copy()
    for name in ("flc.grp", "sample.yr"):  # numbers stored as categories
        frame[name] = frame[name].astype(int)
    for name in ("sex", "mgus"):  # plain strings, as a CSV reader would give them
        frame[name] = frame[name].astype(str)
    frame["age"] = frame["age"].astype(int)
    frame["futime"] = y["futime"].astype(int)
    frame["death"] = y["death"].astype(int)
    version = metadata.version("scikit-survival")
    return Dataset.from_frame(frame, source=f"scikit-survival {version}: sksurv.datasets.load_flchain")


@cache
def load(name: str) -> Dataset:
    """The whole table as Hygeia reads it (cached per process)."""
    if name == "actg175":
        return load_demo("actg175")
    if name == "flchain":
        return _flchain()
    return read_dataset(_lifelines_file(f"{name}.csv"))


def split(name: str, seed: int) -> tuple[Dataset, pd.DataFrame, pd.DataFrame, Schema]:
    """(train Dataset, train frame, holdout frame, modelled schema): the same for every method at one seed."""
    dataset = load(name)
    train, holdout = split_holdout(dataset.modelled_frame(), HOLDOUT_FRACTION, seed, TABLES[name].target)
    schema = dataset.schema.subset(dataset.schema.modelled)
    return dataset.replace_frame(train), train, holdout, schema
