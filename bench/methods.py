"""The generators compared, each as one fit-and-sample call on the same train split.

Every library is imported inside its own function, so a worker process loads only what the
method it times needs (the peak memory of a Hygeia run carries no torch, an SDV run does).
The worker imports ``Method.imports`` before it starts the clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from hygeia.data.dataset import Dataset

#: Deep-model epochs: SDV's default is 300 for both; fewer keep the whole run inside ~15 minutes on 2 cores.
DEFAULT_EPOCHS = {"ctgan": 100, "tvae": 300}


@dataclass(frozen=True)
class Method:
    name: str
    label: str
    library: str  # "hygeia" or the peer's package name
    run: Callable[[Dataset, pd.DataFrame, int, int, dict[str, Any]], pd.DataFrame]
    params: dict[str, Any] = field(default_factory=dict)
    #: Imported before the clock starts: import time is not fit time (its memory still counts in the peak).
    imports: tuple[str, ...] = ()

    @property
    def is_peer(self) -> bool:
        return self.library != "hygeia"


def _hygeia(name: str) -> Callable[..., pd.DataFrame]:
    def run(train_ds: Dataset, train: pd.DataFrame, n: int, seed: int, params: dict[str, Any]) -> pd.DataFrame:
        from hygeia.generators import make_generator

        return make_generator(name, **params).fit(train_ds).sample(n, seed=seed)
    return run


def _sdv(class_name: str) -> Callable[..., pd.DataFrame]:
    """Default SDV usage: metadata detected from the train frame, then fit and sample (counted in the time)."""
    def run(train_ds: Dataset, train: pd.DataFrame, n: int, seed: int, params: dict[str, Any]) -> pd.DataFrame:
        import sdv
        from sdv import single_table
        from sdv.metadata import Metadata

        _seed_everything(seed)
        synth_cls = getattr(single_table, class_name)
        if int(sdv.__version__.split(".")[0]) >= 2:  # 2.x takes and returns {table name: frame}
            metadata = Metadata.detect_from_dataframes({"table": train})
            synth = synth_cls(metadata, **params)
            synth.fit({"table": train})
            out = synth.sample(n)
            return out["table"] if isinstance(out, dict) else out
        metadata = Metadata.detect_from_dataframe(train, table_name="table")
        synth = synth_cls(metadata, **params)
        synth.fit(train)
        return synth.sample(n)
    return run


def _seed_everything(seed: int) -> None:
    # SDV seeds its own sampling; the fit draws from numpy's and torch's global generators.
    import random

    import numpy as np

    random.seed(seed)
    np.random.seed(seed)
    try:
        import torch

        torch.manual_seed(seed)
    except ImportError:
        pass


_HYGEIA = ("hygeia.generators",)
_SDV = ("sdv", "sdv.single_table", "sdv.metadata", "torch")


def build_methods(epochs: dict[str, int] | None = None) -> dict[str, Method]:
    epochs = {**DEFAULT_EPOCHS, **(epochs or {})}
    methods = [
        Method("hygeia_gaussian_copula", "Hygeia gaussian_copula", "hygeia", _hygeia("gaussian_copula"),
               imports=_HYGEIA),
        Method("hygeia_independent", "Hygeia independent_marginals", "hygeia", _hygeia("independent_marginals"),
               imports=_HYGEIA),
        Method("sdv_gaussian_copula", "SDV GaussianCopulaSynthesizer", "sdv", _sdv("GaussianCopulaSynthesizer"),
               imports=_SDV),
        Method("sdv_ctgan", f"SDV CTGANSynthesizer ({epochs['ctgan']} ep)", "sdv", _sdv("CTGANSynthesizer"),
               {"epochs": epochs["ctgan"]}, _SDV),
        Method("sdv_tvae", f"SDV TVAESynthesizer ({epochs['tvae']} ep)", "sdv", _sdv("TVAESynthesizer"),
               {"epochs": epochs["tvae"]}, _SDV),
    ]
    return {m.name: m for m in methods}


def to_train_dtypes(synthetic: pd.DataFrame, train: pd.DataFrame) -> pd.DataFrame:
    """Give a peer's output the train frame's columns and dtypes, so every method is scored on equal terms.

    Integers come back as floats when a column has gaps; those keep a float dtype (rounded)
    rather than inventing a fill value.
    """
    out = pd.DataFrame(index=range(len(synthetic)))
    for name in train.columns:
        col = synthetic[name].reset_index(drop=True) if name in synthetic.columns else pd.Series([pd.NA] * len(out))
        dtype = train[name].dtype
        if pd.api.types.is_integer_dtype(dtype):
            col = pd.to_numeric(col, errors="coerce").round()
            col = col.astype(dtype) if col.notna().all() else col.astype("float64")
        elif pd.api.types.is_float_dtype(dtype):
            col = pd.to_numeric(col, errors="coerce").astype(dtype)
        elif pd.api.types.is_bool_dtype(dtype):
            col = col.astype(dtype) if col.notna().all() else col.astype(object)
        else:
            col = col.astype(object)
        out[name] = col
    return out
