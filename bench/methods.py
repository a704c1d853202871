"""The generators compared, each as one fit-and-sample call on the same train split.

Hygeia's side is every family in ``hygeia.generators.REGISTRY`` at its defaults, found at run
time, so a family added to the package joins the benchmark without a line here. The peers
are SDV 2.0 (GaussianCopula, CTGAN, TVAE) and MOSTLY AI's engine (TabularARGN).

Every peer library is imported inside its own function, so a worker process loads only what
the method it times needs. The worker imports ``Method.imports`` before it starts the clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from hygeia.data.dataset import Dataset

#: SDV's default is 300 epochs for both; CTGAN gets 100 so the whole run stays inside 60 minutes on 2 cores.
DEFAULT_EPOCHS = {"ctgan": 100, "tvae": 300}
#: Training seconds (``max_time``) for Hygeia's neural families in `make bench`. At their defaults they took
#: 27-136 CPU s per fit of flchain's 5,511 train rows (one thread), five families × three seeds: without a cap
#: they alone would take over half of the 60-minute budget. The peers keep their defaults (CTGAN aside).
HYGEIA_MAX_TIME = 40.0
#: Epochs of the quick development run (`--quick`), for every peer that counts epochs.
QUICK_EPOCHS = 3
#: Hygeia's trivial baseline: reported, never picked as "Hygeia's best".
BASELINES = frozenset({"independent_marginals"})


@dataclass(frozen=True)
class Settings:
    """Everything that shapes the methods; the runner hands it to every worker as JSON."""

    threads: int
    quick: bool = False
    ctgan_epochs: int = DEFAULT_EPOCHS["ctgan"]
    tvae_epochs: int = DEFAULT_EPOCHS["tvae"]
    #: Training seconds for Hygeia's families that take ``max_time`` (None = their default, no cap).
    hygeia_max_time: float | None = HYGEIA_MAX_TIME
    #: Training seconds for MOSTLY AI (its ``max_training_time``, in minutes there); None = its default.
    mostly_max_time: float | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Method:
    name: str
    label: str
    library: str  # "hygeia" or the peer's package name
    run: Callable[[Dataset, pd.DataFrame, int, int, dict[str, Any]], pd.DataFrame]
    params: dict[str, Any] = field(default_factory=dict)
    #: Imported before the clock starts: import time is not fit time (its memory still counts in the peak).
    imports: tuple[str, ...] = ()
    baseline: bool = False

    @property
    def is_peer(self) -> bool:
        return self.library != "hygeia"


# -- Hygeia ---------------------------------------------------------------------------------------
def _hygeia(name: str, accepts_seed: bool) -> Callable[..., pd.DataFrame]:
    def run(train_ds: Dataset, train: pd.DataFrame, n: int, seed: int, params: dict[str, Any]) -> pd.DataFrame:
        from hygeia.generators import make_generator

        seeded = {"random_state": seed} if accepts_seed else {}
        return make_generator(name, **params, **seeded).fit(train_ds).sample(n, seed=seed)
    return run


def _hygeia_methods(settings: Settings) -> list[Method]:
    from hygeia.generators import REGISTRY

    methods = []
    for name in sorted(REGISTRY):
        cls = REGISTRY[name]
        accepted = cls().get_params()  # constructor parameters, along the MRO
        params = dict(getattr(cls, "quick_params", {})) if settings.quick else {}
        if "threads" in accepted:
            params["threads"] = settings.threads
        if settings.hygeia_max_time is not None and "max_time" in accepted:
            own = accepted["max_time"]  # a family's own default budget wins when it is tighter
            params["max_time"] = settings.hygeia_max_time if own is None else min(own, settings.hygeia_max_time)
        shown = {k: v for k, v in params.items() if k != "threads"}
        label = f"Hygeia {name}" + (f" ({_short(shown)})" if shown else "")
        methods.append(Method(f"hygeia_{name}", label, "hygeia", _hygeia(name, "random_state" in accepted),
                              params, ("hygeia.generators",), baseline=name in BASELINES))
    return methods


def _short(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items())


# -- SDV ------------------------------------------------------------------------------------------
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
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


# -- MOSTLY AI ------------------------------------------------------------------------------------
def _mostlyai(train_ds: Dataset, train: pd.DataFrame, n: int, seed: int, params: dict[str, Any]) -> pd.DataFrame:
    """TabularARGN as its README shows it: a scikit-learn style fit on the frame, then sample."""
    from mostlyai.engine import TabularARGN

    model = TabularARGN(random_state=seed, device="cpu", verbose=0, **params)
    try:
        model.fit(train)
        return model.sample(n_samples=n)
    finally:
        model.close()  # removes its workspace folder


_SDV = ("sdv", "sdv.single_table", "sdv.metadata", "torch")
_MOSTLYAI = ("mostlyai.engine", "torch")


def _peer_methods(settings: Settings) -> list[Method]:
    ctgan = QUICK_EPOCHS if settings.quick else settings.ctgan_epochs
    tvae = QUICK_EPOCHS if settings.quick else settings.tvae_epochs
    mostly: dict[str, Any] = {"max_epochs": QUICK_EPOCHS} if settings.quick else {}
    if settings.mostly_max_time is not None:
        mostly["max_training_time"] = settings.mostly_max_time / 60  # the engine counts minutes
    return [
        Method("sdv_gaussian_copula", "SDV GaussianCopulaSynthesizer", "sdv", _sdv("GaussianCopulaSynthesizer"),
               imports=_SDV),
        Method("sdv_ctgan", f"SDV CTGANSynthesizer ({ctgan} ep)", "sdv", _sdv("CTGANSynthesizer"),
               {"epochs": ctgan}, _SDV),
        Method("sdv_tvae", f"SDV TVAESynthesizer ({tvae} ep)", "sdv", _sdv("TVAESynthesizer"),
               {"epochs": tvae}, _SDV),
        Method("mostlyai_tabular_argn", "MOSTLY AI TabularARGN" + (f" ({_short(mostly)})" if mostly else ""),
               "mostlyai-engine", _mostlyai, mostly, _MOSTLYAI),
    ]


def build_methods(settings: Settings) -> dict[str, Method]:
    """Every method of one run, Hygeia's first."""
    return {m.name: m for m in [*_hygeia_methods(settings), *_peer_methods(settings)]}


def get_method(settings: Settings, name: str) -> Method:
    """One method; a peer's worker never imports Hygeia's generators (nor their torch)."""
    found = _hygeia_methods(settings) if name.startswith("hygeia_") else _peer_methods(settings)
    return {m.name: m for m in found}[name]


def to_train_dtypes(synthetic: pd.DataFrame, train: pd.DataFrame) -> pd.DataFrame:
    """Give a peer's output the train frame's columns and dtypes, so every method is scored on equal terms.

    Integers come back as floats when a column has gaps; those keep a float dtype (rounded)
    rather than inventing a fill value. Nullable extension dtypes (MOSTLY AI returns ``Int64``)
    become plain numpy ones the same way.
    """
    out = pd.DataFrame(index=range(len(synthetic)))
    for name in train.columns:
        col = synthetic[name].reset_index(drop=True) if name in synthetic.columns else pd.Series([pd.NA] * len(out))
        dtype = train[name].dtype
        if pd.api.types.is_integer_dtype(dtype):
            col = pd.to_numeric(col, errors="coerce").astype("float64").round()
            col = col.astype(dtype) if col.notna().all() else col
        elif pd.api.types.is_float_dtype(dtype):
            col = pd.to_numeric(col, errors="coerce").astype(dtype)
        elif pd.api.types.is_bool_dtype(dtype):
            col = col.astype(dtype) if col.notna().all() else col.astype(object)
        else:
            col = col.astype(object).where(col.notna(), np.nan)  # pd.NA breaks sklearn's encoders
        out[name] = col
    return out


