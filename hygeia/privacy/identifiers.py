"""Structured identifiers in the released table: fresh surrogates or nothing, never real values.

Generators never see identifier or free-text columns. To keep the released table's shape, an
identifier column can be refilled with *surrogates*: fresh, unique, obviously synthetic values
(``SYN-3f9a0c12e4b7``) drawn at random, unrelated to any real value. Free text is always dropped.

>>> plan = plan_identifiers(dataset.schema)                         # doctest: +SKIP
>>> apply_identifier_plan(synthetic, plan, dataset.schema.names, seed=0).columns[:2].tolist()  # doctest: +SKIP
['Unnamed: 0', 'pidnum']
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from hygeia.data.schema import ColumnKind, Schema
from hygeia.errors import DataError, PolicyError

MODES = ("surrogate", "drop")
SURROGATE_PREFIX = "SYN-"
_HEX_DIGITS = 12  # 48 random bits per value


@dataclass(frozen=True)
class IdentifierAction:
    """What happens to one non-modelled column in the released table."""

    column: str
    kind: str
    action: str  # "surrogate" | "dropped"
    reason: str

    def to_dict(self) -> dict:
        return asdict(self)


def plan_identifiers(schema: Schema, mode: str = "surrogate") -> list[IdentifierAction]:
    """Decide, per identifier or free-text column, whether it gets surrogates or is dropped.

    Identifier columns get surrogates (``mode="surrogate"``) or are dropped (``mode="drop"``);
    free text is always dropped, since a surrogate sentence would be either empty or invented.
    """
    if mode not in MODES:
        raise PolicyError(f"unknown identifier mode {mode!r}; use 'surrogate' or 'drop'")
    plan = []
    for spec in schema.columns:
        if spec.kind is ColumnKind.IDENTIFIER:
            if mode == "surrogate":
                plan.append(IdentifierAction(spec.name, spec.kind.value, "surrogate", f"identifier ({spec.reason}): "
                                             "replaced by random values unrelated to any patient"))
            else:
                plan.append(IdentifierAction(spec.name, spec.kind.value, "dropped",
                                             f"identifier ({spec.reason}): left out, as the policy asks"))
        elif spec.kind is ColumnKind.TEXT:
            plan.append(IdentifierAction(spec.name, spec.kind.value, "dropped",
                                         f"free text ({spec.reason}): may name people or dates, never released"))
    return plan


def apply_identifier_plan(synthetic: pd.DataFrame, plan: list[IdentifierAction], column_order: list[str], *,
                          seed: int | None = None) -> pd.DataFrame:
    """Return the synthetic table with surrogate columns inserted in their original place.

    ``column_order`` is the real table's column order (``dataset.schema.names``); dropped columns are
    absent; a synthetic column not in ``column_order`` keeps its place at the end. With a ``seed`` the
    surrogates are reproducible.
    """
    rng = np.random.default_rng(seed)
    actions = {a.column: a for a in plan}

    def column(name: str) -> pd.Series:  # keeps the dtype (categories, dates) and drops the old index
        return synthetic[name].reset_index(drop=True)

    out: dict[str, pd.Series | np.ndarray] = {}
    for name in column_order:
        action = actions.get(name)
        if action is not None and action.action == "surrogate":
            out[name] = surrogates(len(synthetic), rng)
        elif action is not None and action.action == "dropped":
            continue
        elif name in synthetic.columns:
            out[name] = column(name)
        else:
            raise DataError(f"column {name!r} is neither in the synthetic table nor planned as an identifier; "
                            "the generator did not produce every modelled column")
    for name in synthetic.columns:
        if name not in out and name not in actions:
            out[name] = column(name)
    return pd.DataFrame(out, index=pd.RangeIndex(len(synthetic)))


def surrogates(n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` distinct values like ``SYN-3f9a0c12e4b7``; redraws the (astronomically rare) repeats."""
    values: list[str] = []
    seen: set[str] = set()
    while len(values) < n:
        draws = rng.integers(0, 16 ** _HEX_DIGITS, size=n - len(values), dtype=np.int64)
        for d in draws:
            value = f"{SURROGATE_PREFIX}{int(d):0{_HEX_DIGITS}x}"
            if value not in seen:
                seen.add(value)
                values.append(value)
    return np.array(values, dtype=object)
