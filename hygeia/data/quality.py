"""Data-quality checks on a real table, run before anything is fitted.

Each check returns :class:`Finding` objects; a policy can make any check blocking by its name in
:data:`CHECKS`, so those names are stable. Severities: ``error`` (the table is unfit as it is),
``warning`` (likely wrong, look at it), ``info`` (worth knowing).

Mixed types are detected on the *raw* values: :func:`hygeia.data.schema.infer_column` records
them in ``ColumnSpec.mixed`` before coercion turns ``"unknown"`` into a missing value; columns
that kept their text (categorical ones) are also scanned directly, which covers a
:class:`Dataset` built with a ready-made schema.

>>> findings = check_quality(load_demo("actg175"), target="cens")  # doctest: +SKIP
>>> [f.check for f in findings]  # doctest: +SKIP
['constant', 'possible_identifier', 'possible_identifier']
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from hygeia.data.dataset import Dataset
from hygeia.data.plausibility import plausible_range
from hygeia.data.schema import ColumnKind, ColumnSpec, find_mixed_values

CHECKS: tuple[str, ...] = ("duplicates", "constant", "mixed_types", "impossible_values", "heavy_missingness",
                           "all_missing", "label_leakage", "possible_identifier", "few_rows")
_SEVERITY_RANK = {"error": 0, "warning": 1, "info": 2}
HEAVY_MISSING = 0.5
LEAKAGE_SCORE = 0.95
_LEAKAGE_MAX_ROWS = 20_000


@dataclass(frozen=True)
class Finding:
    """One data-quality observation about the table or one column."""

    check: str
    severity: str
    column: str | None
    message: str
    count: int | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def check_quality(dataset: Dataset, *, target: str | None = None, min_rows: int = 50) -> list[Finding]:
    """Run every check; findings sorted by severity (errors first), then in check order.

    ``target`` enables the label-leakage check; an unknown name raises :class:`DataError`.
    """
    if target is not None:
        _check_target(dataset, target)
    findings = [*_few_rows(dataset, min_rows), *_missingness(dataset), *_constant(dataset), *_duplicates(dataset),
                *_mixed_types(dataset), *_impossible(dataset), *_identifiers(dataset)]
    if target is not None:
        findings += _label_leakage(dataset, target)
    return sorted(findings, key=lambda f: (_SEVERITY_RANK[f.severity], CHECKS.index(f.check)))


def leakage_scores(dataset: Dataset, target: str, *, seed: int = 0) -> dict[str, float]:
    """Cross-validated score of a shallow tree predicting ``target`` from each modelled column alone.

    The score is ROC AUC (macro one-vs-rest for several classes) for a categorical or boolean target and
    R² for a numeric one; the tree sees the column's values and whether each is missing, so a column filled
    only for some outcome (cause of death) scores near 1. NaN where the target cannot be scored.
    """
    from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score

    _check_target(dataset, target)
    frame = dataset.frame
    y = frame[target]
    keep = y.notna().to_numpy()
    classify = dataset.schema[target].kind in (ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN)
    if classify:
        y = y.astype(str)
    frame, y = frame[keep], y[keep]
    if len(frame) > _LEAKAGE_MAX_ROWS:  # a sample is enough to see a near-perfect predictor
        take = np.random.default_rng(seed).choice(len(frame), _LEAKAGE_MAX_ROWS, replace=False)
        frame, y = frame.iloc[take], y.iloc[take]
    columns = [c for c in dataset.schema.modelled if c != target]
    if classify:
        counts = y.value_counts()
        folds = int(min(5, counts.min())) if len(counts) >= 2 else 0
        splitter = StratifiedKFold(folds, shuffle=True, random_state=seed) if folds >= 2 else None
        scoring = "roc_auc" if len(counts) == 2 else "roc_auc_ovr"
    else:
        folds = min(5, len(y))
        splitter = KFold(folds, shuffle=True, random_state=seed) if folds >= 2 and y.nunique() > 1 else None
        scoring = "r2"
    if splitter is None:
        return {c: math.nan for c in columns}
    scores = {}
    for name in columns:
        X, model = _single_column_model(frame[name], classify, seed)
        scores[name] = float(np.mean(cross_val_score(model, X, y.to_numpy(), cv=splitter, scoring=scoring)))
    return scores


def _single_column_model(col: pd.Series, classify: bool, seed: int):
    """Features (value, is-missing) and a depth-3 tree; text categories are target-encoded inside each fold."""
    from sklearn.pipeline import make_pipeline
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    tree = (DecisionTreeClassifier if classify else DecisionTreeRegressor)(max_depth=3, random_state=seed)
    missing = col.isna().to_numpy(dtype=float)
    if pd.api.types.is_datetime64_any_dtype(col):
        col = col.dt.tz_localize(None) if getattr(col.dt, "tz", None) is not None else col
        col = (col - pd.Timestamp("1970-01-01")).dt.total_seconds()
    if pd.api.types.is_bool_dtype(col) or pd.api.types.is_numeric_dtype(col):
        values = col.astype(float)
        filled = values.fillna(values.median() if values.notna().any() else 0.0).to_numpy()
        return np.column_stack([filled, missing]), tree
    # Missing becomes its own category, so the encoder carries the missing indicator too.
    text = col.astype(object).where(col.notna(), "<missing>").astype(str).to_numpy().reshape(-1, 1)
    return text, make_pipeline(_target_encoder(classify, seed), tree)


def _target_encoder(classify: bool, seed: int):
    """Target encoding cross-fitted inside each training fold, so a category's own rows never score it."""
    import sklearn
    from sklearn.model_selection import KFold, StratifiedKFold
    from sklearn.preprocessing import TargetEncoder
    from sklearn.utils.fixes import parse_version

    if parse_version(sklearn.__version__) < parse_version("1.9"):  # before 1.9 `cv` took only a fold count
        return TargetEncoder(shuffle=True, random_state=seed)
    return TargetEncoder(cv=(StratifiedKFold if classify else KFold)(5, shuffle=True, random_state=seed))


# -- the checks ----------------------------------------------------------------------------------
def _few_rows(ds: Dataset, min_rows: int) -> list[Finding]:
    if ds.n_rows >= min_rows:
        return []
    return [Finding("few_rows", "error", None, f"the table has only {ds.n_rows} rows; at least {min_rows} are needed "
                    "to learn from and to keep a holdout", ds.n_rows)]


def _missingness(ds: Dataset) -> list[Finding]:
    out = []
    n = ds.n_rows
    for name in ds.schema.names:
        missing = int(ds.frame[name].isna().sum())
        if n and missing == n:
            out.append(Finding("all_missing", "error", name, f"{name!r} is empty in all {n} rows; drop it "
                               "(schema file `drop:`) or fix the export", missing))
        elif n and missing / n > HEAVY_MISSING:
            out.append(Finding("heavy_missingness", "warning", name, f"{name!r} is missing in {missing} of {n} rows "
                               f"({missing / n:.0%}); the generator learns mostly the gaps", missing))
    return out


def _constant(ds: Dataset) -> list[Finding]:
    out = []
    for name in ds.schema.names:
        col = ds.frame[name]
        values = col.dropna()
        if values.empty or values.nunique() != 1:
            continue
        value = values.iloc[0]
        value = value.item() if isinstance(value, np.generic) else value  # show 1, not np.int64(1)
        missing = int(col.isna().sum())
        if missing:
            out.append(Finding("constant", "info", name, f"{name!r} holds only {value!r} apart from {missing} missing "
                               "values; it records only whether a value is present", len(values)))
        else:
            out.append(Finding("constant", "warning", name, f"{name!r} holds the same value {value!r} in all "
                               f"{len(col)} rows and carries no information; drop it", len(col)))
    return out


def _duplicates(ds: Dataset) -> list[Finding]:
    modelled = ds.modelled_frame()
    if modelled.shape[1] == 0 or modelled.empty:
        return []
    dupes = int(modelled.duplicated().sum())
    if not dupes:
        return []
    return [Finding("duplicates", "warning", None, f"{dupes} of {len(modelled)} rows repeat an earlier row exactly on "
                    f"all {modelled.shape[1]} modelled columns; check for double entry before learning from them",
                    dupes)]


def _mixed_types(ds: Dataset) -> list[Finding]:
    out = []
    for spec in ds.schema.columns:
        if spec.kind is ColumnKind.TEXT:
            continue
        mixed = spec.mixed
        col = ds.frame[spec.name]
        if mixed is None and (pd.api.types.is_object_dtype(col) or pd.api.types.is_string_dtype(col)):
            mixed = find_mixed_values(col)
        if mixed is not None:
            out.append(_mixed_finding(spec, mixed))
    return out


def _mixed_finding(spec: ColumnSpec, mixed) -> Finding:
    total = mixed.parsed + mixed.unparsed
    examples = ", ".join(repr(e) for e in mixed.examples)
    coerced = spec.kind in (ColumnKind.NUMERIC, ColumnKind.INTEGER, ColumnKind.DATETIME)
    if coerced:
        what = (f"{mixed.unparsed} of {total} values ({mixed.share_unparsed:.1%}) are not {mixed.parsed_as}s "
                f"(e.g. {examples}) and were read as missing")
        severity = "warning"
    else:
        what = (f"{mixed.parsed} of {total} values ({1 - mixed.share_unparsed:.1%}) are numbers and {mixed.unparsed} "
                f"are not (e.g. {examples}), so the column is treated as {spec.kind.value}")
        severity = "warning" if mixed.share_unparsed <= 0.5 and spec.modelled else "info"
    return Finding("mixed_types", severity, spec.name, f"{spec.name!r}: {what}; clean the values or set the kind "
                   "in a schema file", mixed.unparsed)


def _impossible(ds: Dataset) -> list[Finding]:
    """Values outside schema-file bounds (error), outside physiologic ranges (warning), impossible dates (warning)."""
    out = []
    for spec in ds.schema.columns:
        col = ds.frame[spec.name]
        if spec.kind is ColumnKind.DATETIME and pd.api.types.is_datetime64_any_dtype(col):
            out += _impossible_dates(spec.name, col)
            continue
        numeric = pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)
        if not numeric or spec.kind not in (ColumnKind.NUMERIC, ColumnKind.INTEGER, ColumnKind.CATEGORICAL):
            continue
        values = col.dropna().astype(float)
        if values.empty:
            continue
        if spec.min is not None or spec.max is not None:  # the user's own bounds win over the built-in table
            low, high, severity = spec.min, spec.max, "error"
            where = f"the bounds set in the schema file ({_range_text(low, high)})"
        else:
            rule = plausible_range(spec.name)
            # The median must sit inside the range: else the column is in other units (height in metres)
            # and the whole column would be "impossible".
            if rule is None or not _inside(values.median(), rule.low, rule.high):
                continue
            low, high, severity = rule.low, rule.high, "warning"
            where = f"the plausible range of {rule.measure} ({_range_text(low, high, rule.unit)})"
        bad = values[~_inside(values, low, high)]
        if bad.empty:
            continue
        examples = ", ".join(f"{v:g}" for v in sorted(set(bad.tolist()), key=lambda v: -abs(v))[:3])
        out.append(Finding("impossible_values", severity, spec.name, f"{spec.name!r}: {len(bad)} value(s) outside "
                           f"{where}, e.g. {examples}; correct them or set them missing", len(bad)))
    return out


def _impossible_dates(name: str, col: pd.Series) -> list[Finding]:
    values = col.dropna()
    if getattr(values.dt, "tz", None) is not None:
        values = values.dt.tz_convert("UTC").dt.tz_localize(None)
    future = values[values > pd.Timestamp.now()]
    early = values[values < pd.Timestamp("1900-01-01")]
    parts = []
    if len(future):
        parts.append(f"{len(future)} in the future (latest {future.max():%Y-%m-%d})")
    if len(early):
        parts.append(f"{len(early)} before 1900 (earliest {early.min():%Y-%m-%d})")
    if not parts:
        return []
    return [Finding("impossible_values", "warning", name, f"{name!r} has impossible dates: {' and '.join(parts)}; "
                    "correct them or set them missing", len(future) + len(early))]


def _inside(values, low: float | None, high: float | None):
    ok = values >= low if low is not None else values == values
    return ok & (values <= high) if high is not None else ok


def _range_text(low: float | None, high: float | None, unit: str = "") -> str:
    text = f"at least {low:g}" if high is None else f"at most {high:g}" if low is None else f"{low:g}–{high:g}"
    return f"{text} {unit}".rstrip()


def _identifiers(ds: Dataset) -> list[Finding]:
    out = []
    for spec in ds.schema.columns:
        if spec.kind is ColumnKind.IDENTIFIER:
            out.append(Finding("possible_identifier", "info", spec.name, f"{spec.name!r} may identify a person "
                               f"({spec.reason}); it is never modelled"))
        elif spec.kind is ColumnKind.TEXT:
            out.append(Finding("possible_identifier", "info", spec.name, f"{spec.name!r} is free text ({spec.reason}) "
                               "that may name people or dates; it is never modelled and is dropped from the output"))
    return out


def _label_leakage(ds: Dataset, target: str) -> list[Finding]:
    scores = leakage_scores(ds, target)
    kind = ds.schema[target].kind
    metric = "ROC AUC" if kind in (ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN) else "R²"
    if scores and all(math.isnan(v) for v in scores.values()):
        return [Finding("label_leakage", "info", target, f"label leakage not checked: target {target!r} has too few "
                        "rows per value to cross-validate")]
    return [Finding("label_leakage", "warning", name, f"{name!r} alone predicts {target!r} with cross-validated "
                    f"{metric} {score:.3f} (shallow tree on its values and missingness); a column recorded after the "
                    "outcome makes utility look perfect — drop it or check how it was recorded")
            for name, score in scores.items() if score >= LEAKAGE_SCORE]


def _check_target(ds: Dataset, target: str) -> None:
    ds.require_modelled(target, "target")
