"""The `Generator` contract every model family honours, and the registry.

Like a scikit-learn estimator: ``__init__`` only stores parameters, ``fit`` learns state
into attributes ending in ``_`` and returns ``self``, ``sample`` draws new rows. Save and
load keep the learned state, so a fitted model can be re-sampled without the source data.

>>> from hygeia.generators import make_generator
>>> gen = make_generator("gaussian_copula").fit(dataset)  # doctest: +SKIP
>>> gen.sample(500, seed=7)  # doctest: +SKIP
"""

from __future__ import annotations

import inspect
import pickle
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar, Self

import pandas as pd

from hygeia.data.dataset import Dataset
from hygeia.errors import GeneratorError
from hygeia.registry import build_registered as _build

REGISTRY: dict[str, type[Generator]] = {}
_MAGIC = "hygeia-generator/1"


class Estimator:
    """What every learnt model shares: parameters, the fitted check, save and load."""

    #: Registry name, e.g. ``"gaussian_copula"``.
    name: ClassVar[str]
    #: One line for ``--help`` and the model card.
    summary: ClassVar[str] = ""

    def get_params(self) -> dict[str, Any]:
        """Constructor parameters, for provenance and the model card."""
        # A family may pass shared settings on with **kwargs; collect named parameters along the MRO.
        names: list[str] = []
        for klass in type(self).__mro__:
            if "__init__" in vars(klass) and klass is not object:
                for p in inspect.signature(klass.__init__).parameters.values():
                    if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and p.name not in names:
                        names.append(p.name)
        return {name: getattr(self, name) for name in names if hasattr(self, name)}

    def check_fitted(self) -> None:
        if not any(k.endswith("_") and not k.startswith("_") for k in vars(self)):
            raise GeneratorError(f"{self.name} is not fitted yet; call fit() before sample()")

    def save(self, path: str | Path) -> None:
        with open(path, "wb") as fh:
            pickle.dump({"magic": _MAGIC, "name": self.name, "state": self}, fh)

    @classmethod
    def load(cls, path: str | Path) -> Any:
        try:
            with open(path, "rb") as fh:
                payload = pickle.load(fh)
        except FileNotFoundError:
            raise GeneratorError(f"{path}: no saved generator there") from None
        except (pickle.UnpicklingError, EOFError, AttributeError):
            raise GeneratorError(f"{path}: not a saved Hygeia generator") from None
        if not isinstance(payload, dict) or payload.get("magic") != _MAGIC:
            raise GeneratorError(f"{path}: not a saved Hygeia generator")
        model = payload["state"]
        # A base class (Generator, SequenceGenerator) accepts any model of its kind; a concrete class only itself.
        if not isinstance(model, cls):
            wanted = getattr(cls, "name", cls.__name__)
            raise GeneratorError(f"{path}: holds a {payload['name']} generator, not {wanted}")
        return model

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"


class Generator(Estimator, ABC):
    """Learns a table's joint distribution and samples new rows from it."""

    @abstractmethod
    def fit(self, data: Dataset) -> Self:
        """Learn from the dataset's modelled columns (identifiers and free text are never seen)."""

    @abstractmethod
    def sample(self, n: int, seed: int | None = None) -> pd.DataFrame:
        """Draw ``n`` rows with the fitted columns, dtypes and missingness; same seed, same rows."""

    @property
    def privacy_spent(self) -> dict[str, float] | None:
        """``{"epsilon": ..., "delta": ...}`` for differentially private fits, else ``None``."""
        return None


def register(cls: type[Generator]) -> type[Generator]:
    """Class decorator: make a generator available by its ``name``."""
    REGISTRY[cls.name] = cls
    return cls


def make_generator(name: str, **params: Any) -> Generator:
    """Build a registered generator by name, with a helpful error for typos."""
    return build_registered(REGISTRY, name, params, "generator")


def build_registered(registry: dict[str, type], name: str, params: dict[str, Any], label: str) -> Any:
    """:func:`hygeia.registry.build_registered` with generator errors."""
    return _build(registry, name, params, label, GeneratorError)
