"""One way to turn real, holdout and synthetic frames into numbers, learned from the real train table.

Every metric reads columns through an :class:`Encoding` so that the same value means the same
thing everywhere: ``90`` and ``90.0`` are one category, a category the real data never had is
"other" (never silently merged with a real one), and dates are days since 1970.

>>> enc = Encoding.fit(train, schema)                   # doctest: +SKIP
>>> X = enc.numeric(synthetic)                          # model-ready matrix (categories as codes)
>>> D = enc.gower(synthetic)                            # rows whose Manhattan distance is Gower's
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from hygeia.data.schema import ColumnKind, Schema

#: Kinds compared as distributions of numbers (KS, Spearman); the rest are compared as categories.
CONTINUOUS_KINDS = frozenset({ColumnKind.NUMERIC, ColumnKind.INTEGER, ColumnKind.DATETIME})
#: Label of a missing value wherever missingness is its own category.
MISSING = "<missing>"
#: Quantile bins of the real data used to put a continuous column into a contingency table.
#: Five keeps joint tables small enough that a few hundred rows still fill them.
N_BINS = 5
#: HistGradientBoosting's native categorical support needs codes below its 255 bins.
_MAX_NATIVE_LEVELS = 254
_NS_PER_DAY = 86_400e9


@dataclass(frozen=True)
class Encoding:
    """Per-column code books and scales, fitted on the real train table.

    ``levels`` lists the categories of each categorical/boolean column as seen in the real
    train table; any other label gets the code ``len(levels)`` ("other"). ``edges`` are the
    inner quantile edges used to bin continuous columns; ``low``/``span`` scale them for
    Gower distances.
    """

    columns: tuple[str, ...]
    kinds: dict[str, ColumnKind]
    levels: dict[str, tuple[str, ...]]
    edges: dict[str, np.ndarray]
    low: dict[str, float]
    span: dict[str, float]

    @classmethod
    def fit(cls, real: pd.DataFrame, schema: Schema, columns: list[str] | None = None) -> Encoding:
        """Learn code books and scales from ``real`` for ``columns`` (default: the schema's modelled ones)."""
        columns = list(columns if columns is not None else [c for c in schema.modelled if c in real])
        kinds = {c: schema[c].kind for c in columns}
        levels, edges, low, span = {}, {}, {}, {}
        for col in columns:
            if kinds[col] in CONTINUOUS_KINDS:
                values = continuous_values(real[col], kinds[col])
                values = values[~np.isnan(values)]
                if values.size:
                    inner = np.quantile(values, np.linspace(0, 1, N_BINS + 1)[1:-1])
                    edges[col] = np.unique(inner)
                    low[col] = float(values.min())
                    spread = float(values.max() - values.min())
                else:
                    edges[col], low[col], spread = np.array([]), 0.0, 0.0
                span[col] = spread if spread > 0 else 1.0
            else:
                seen = labels(real[col], kinds[col])
                levels[col] = tuple(sorted(set(seen[seen != MISSING])))
        return cls(tuple(columns), kinds, levels, edges, low, span)

    def continuous(self, col: str) -> bool:
        return self.kinds[col] in CONTINUOUS_KINDS

    def subset(self, columns: list[str]) -> Encoding:
        """The same code books restricted to ``columns`` (e.g. the features without the target)."""
        keep = [c for c in self.columns if c in columns]
        return Encoding(tuple(keep), {c: self.kinds[c] for c in keep},
                        {c: v for c, v in self.levels.items() if c in keep},
                        {c: v for c, v in self.edges.items() if c in keep},
                        {c: v for c, v in self.low.items() if c in keep},
                        {c: v for c, v in self.span.items() if c in keep})

    def labels(self, frame: pd.DataFrame, col: str) -> pd.Series:
        """Canonical string labels; missing values are :data:`MISSING`."""
        return labels(frame[col], self.kinds[col])

    def values(self, frame: pd.DataFrame, col: str) -> np.ndarray:
        """Float values of a continuous column (dates as days since 1970), NaN where missing."""
        return continuous_values(frame[col], self.kinds[col])

    def codes(self, frame: pd.DataFrame, col: str) -> np.ndarray:
        """Category codes as floats: real levels ``0..k-1``, anything else ``k``, missing NaN."""
        known = {level: i for i, level in enumerate(self.levels[col])}
        lab = self.labels(frame, col)
        out = lab.map(known).astype(float).to_numpy()
        out[np.isnan(out)] = len(known)
        out[(lab == MISSING).to_numpy()] = np.nan
        return out

    def discrete(self, frame: pd.DataFrame, col: str) -> tuple[np.ndarray, int]:
        """Integer codes for contingency tables and how many codes there can be.

        Continuous columns fall into the real data's quantile bins; missing values and unseen
        categories get codes of their own, so they count as a difference, not as noise.
        """
        if self.continuous(col):
            v = self.values(frame, col)
            n_bins = len(self.edges[col]) + 1
            codes = np.searchsorted(self.edges[col], v, side="right")
            codes[np.isnan(v)] = n_bins
            return codes.astype(np.int64), n_bins + 1
        c = self.codes(frame, col)
        k = len(self.levels[col]) + 1
        c[np.isnan(c)] = k
        return c.astype(np.int64), k + 1

    def numeric(self, frame: pd.DataFrame, columns: list[str] | None = None) -> pd.DataFrame:
        """Model-ready matrix: continuous values and category codes, NaN where missing or absent."""
        cols = list(columns or self.columns)
        absent = np.full(len(frame), np.nan)  # a column the frame lacks is all missing
        data = {c: absent if c not in frame else self.values(frame, c) if self.continuous(c) else self.codes(frame, c)
                for c in cols}
        return pd.DataFrame(data, index=frame.index, columns=cols)

    def native_categorical(self, columns: list[str]) -> np.ndarray:
        """Mask for ``HistGradientBoosting*(categorical_features=...)`` over ``columns``."""
        return np.array([not self.continuous(c) and len(self.levels[c]) < _MAX_NATIVE_LEVELS for c in columns])

    def gower(self, frame: pd.DataFrame) -> np.ndarray:
        """Rows embedded so that the Manhattan distance between two rows is a Gower-like distance.

        Continuous columns are divided by the real range (a difference of the whole range
        counts 1), each with a 0/0.5 missing indicator and the gap filled at the real minimum;
        categories are one-hot with weight 0.5, so a mismatch counts 1. The sum is divided by
        the number of columns, giving a mean distance of about 0 (same) to 1 (nothing alike).
        """
        parts = []
        for col in self.columns:
            if self.continuous(col):
                v = (self.values(frame, col) - self.low[col]) / self.span[col]
                missing = np.isnan(v)
                parts += [np.where(missing, 0.0, v), 0.5 * missing]
            else:
                codes, k = self.discrete(frame, col)
                parts.append(0.5 * np.eye(k)[codes].T)
        stacked = np.vstack([np.atleast_2d(p) for p in parts]).T if parts else np.zeros((len(frame), 0))
        return stacked / max(len(self.columns), 1)

    def row_keys(self, frame: pd.DataFrame, columns: list[str] | None = None) -> np.ndarray:
        """One hash per row over the encoded ``columns``, equal exactly when the rows are equal."""
        matrix = self.numeric(frame, columns).round(9).fillna(np.inf)
        return pd.util.hash_pandas_object(matrix, index=False).to_numpy()


def labels(series: pd.Series, kind: ColumnKind) -> pd.Series:
    """Canonical labels: whole numbers without ``.0``, booleans ``1``/``0``, text stripped."""
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
        out = _number_labels(series.to_numpy(dtype=float, na_value=np.nan))  # True/False become 1/0
    elif pd.api.types.is_datetime64_any_dtype(series):
        out = series.dt.strftime("%Y-%m-%dT%H:%M:%S").to_numpy(dtype=object)
    else:
        out = np.array([_object_label(v) for v in series], dtype=object)
        if kind is ColumnKind.BOOLEAN:
            # True/False written out as text by another tool are the 1/0 a CSV reader gives.
            words = {"True": "1", "False": "0", "true": "1", "false": "0"}
            out = np.array([words.get(v, v) if isinstance(v, str) else v for v in out], dtype=object)
    out[series.isna().to_numpy()] = MISSING
    return pd.Series(out, index=series.index, dtype=object)


def continuous_values(series: pd.Series, kind: ColumnKind) -> np.ndarray:
    """Float array of a numeric, integer or datetime column; unparseable values become NaN."""
    if kind is ColumnKind.DATETIME or pd.api.types.is_datetime64_any_dtype(series):
        stamps = pd.to_datetime(series, errors="coerce", format="mixed") if not \
            pd.api.types.is_datetime64_any_dtype(series) else series
        stamps = stamps.dt.tz_localize(None) if getattr(stamps.dt, "tz", None) is not None else stamps
        days = stamps.to_numpy(dtype="datetime64[ns]").astype("int64") / _NS_PER_DAY
        return np.where(stamps.isna().to_numpy(), np.nan, days)
    if pd.api.types.is_bool_dtype(series):
        return series.astype(float).to_numpy()
    return pd.to_numeric(series, errors="coerce").astype(float).to_numpy()


def _number_labels(values: np.ndarray) -> np.ndarray:
    """Vectorised :func:`_number_label` (this runs for every column of every subgroup)."""
    out = np.full(values.shape, np.nan, dtype=object)
    whole = np.isfinite(values) & (values == np.round(values))
    out[whole] = values[whole].astype(np.int64).astype(str)
    rest = ~whole & ~np.isnan(values)
    out[rest] = [f"{v:.10g}" for v in values[rest]]
    return out


def _number_label(value: object) -> object:
    if pd.isna(value):
        return value
    number = float(value)  # type: ignore[arg-type]
    return str(int(number)) if number.is_integer() else f"{number:.10g}"


def _object_label(value: object) -> object:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return value
    if isinstance(value, (bool, np.bool_)):
        return "1" if value else "0"
    if isinstance(value, (int, float, np.integer, np.floating)):
        return _number_label(value)
    return str(value).strip()
