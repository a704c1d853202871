"""Column kinds, schema inference and YAML overrides.

Inference is deliberately conservative about identifiers: a column that *might* point at a
person is never modelled, because a generator that learns a record number or a name can
only copy it. A YAML file (``--schema``) overrides any decision::

    columns:
      karnof: {kind: integer, min: 0, max: 100}
      site_code: categorical
    drop: [free_text_notes]
"""

from __future__ import annotations

import difflib
import re
from enum import StrEnum
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from hygeia.errors import SchemaError


class ColumnKind(StrEnum):
    """What a column holds, which decides how it is modelled and compared."""

    NUMERIC = "numeric"
    INTEGER = "integer"
    CATEGORICAL = "categorical"
    BOOLEAN = "boolean"
    DATETIME = "datetime"
    IDENTIFIER = "identifier"
    TEXT = "text"


#: Kinds a generator learns; identifiers and free text are never modelled.
MODELLED_KINDS = frozenset(
    {ColumnKind.NUMERIC, ColumnKind.INTEGER, ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN, ColumnKind.DATETIME}
)
#: Numeric columns with at most this many distinct values are treated as coded categories.
MAX_CODED_LEVELS = 10

_ALWAYS_ID_TOKENS = {"mrn", "ssn", "uuid", "guid", "npi", "pidnum", "phone", "telephone", "tel", "fax", "email",
                     "mail", "address", "street", "url", "ip", "surname", "firstname", "lastname", "fullname"}
_UNIQUE_ID_TOKENS = {"id", "pid", "key", "number", "no", "num", "record", "account", "acct", "identifier"}
_PERSON_TOKENS = {"patient", "first", "last", "full", "given", "family", "middle", "maiden", "person"}
_VALUE_PATTERNS = {
    "e-mail addresses": re.compile(r"^[\w.+-]+@[\w-]+\.[\w.-]+$"),
    # SSN before phone: an SSN also matches the looser phone pattern.
    "SSN-like numbers": re.compile(r"^\d{3}-\d{2}-\d{4}$"),
    "phone numbers": re.compile(r"^\+?[\d\s().-]{7,}\d$"),
    "URLs": re.compile(r"^(https?://|www\.)\S+$", re.IGNORECASE),
    "IP addresses": re.compile(r"^\d{1,3}(\.\d{1,3}){3}$"),
}
_BOOL_WORDS = {"true", "false", "yes", "no", "y", "n", "t", "f"}


class MixedValues(BaseModel):
    """Raw text values of one column that only partly parse as numbers (or, for a date column, as dates).

    Recorded at inference, *before* coercion turns the unparsed values into missing ones, so the
    data-quality check can still say that ``"unknown"`` stood among the numbers.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    parsed_as: str  # "number" or "date"
    parsed: int
    unparsed: int
    examples: list[str] = []

    @property
    def share_unparsed(self) -> float:
        return self.unparsed / max(self.parsed + self.unparsed, 1)


class ColumnSpec(BaseModel):
    """One column's kind, optional plausible bounds, and why the kind was chosen."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    kind: ColumnKind
    min: float | None = None
    max: float | None = None
    reason: str = ""
    mixed: MixedValues | None = None

    @property
    def modelled(self) -> bool:
        return self.kind in MODELLED_KINDS


class Schema(BaseModel):
    """Ordered column specs of a table."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    columns: list[ColumnSpec]

    def __getitem__(self, name: str) -> ColumnSpec:
        for spec in self.columns:
            if spec.name == name:
                return spec
        raise SchemaError(f"unknown column {name!r}{_did_you_mean(name, self.names)}")

    def __contains__(self, name: object) -> bool:
        return any(spec.name == name for spec in self.columns)

    @property
    def names(self) -> list[str]:
        return [spec.name for spec in self.columns]

    @property
    def modelled(self) -> list[str]:
        """Names of the columns a generator learns, in table order."""
        return [spec.name for spec in self.columns if spec.modelled]

    def of_kind(self, *kinds: ColumnKind) -> list[str]:
        return [spec.name for spec in self.columns if spec.kind in kinds]

    def subset(self, names: list[str]) -> Schema:
        return Schema(columns=[self[name] for name in names])

    def with_overrides(self, overrides: SchemaOverrides) -> Schema:
        """Apply a validated override file; unknown column names are an error."""
        for name in [*overrides.columns, *overrides.drop]:
            if name not in self:
                raise SchemaError(
                    f"schema file names column {name!r}, which the data does not have{_did_you_mean(name, self.names)}"
                )
        specs = []
        for spec in self.columns:
            if spec.name in overrides.drop:
                continue
            override = overrides.columns.get(spec.name)
            if override is not None:
                if override.min is not None and override.max is not None and override.min > override.max:
                    raise SchemaError(f"schema file gives column {spec.name!r} min {override.min:g} above max "
                                      f"{override.max:g}; swap them")
                # Keep what inference saw in the raw values: the override changes the kind, not the file.
                spec = ColumnSpec(name=spec.name, kind=override.kind, min=override.min, max=override.max,
                                  reason="set in schema file", mixed=spec.mixed)
            specs.append(spec)
        return Schema(columns=specs)


class ColumnOverride(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: ColumnKind
    min: float | None = None
    max: float | None = None


class SchemaOverrides(BaseModel):
    """The YAML override file: per-column kinds/bounds and columns to drop."""

    model_config = ConfigDict(extra="forbid")

    columns: dict[str, ColumnOverride] = {}
    drop: list[str] = []

    @classmethod
    def load(cls, path: str | Path) -> SchemaOverrides:
        path = Path(path)
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except FileNotFoundError:
            raise SchemaError(f"schema file {path} not found; check the path given to --schema") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise SchemaError(f"schema file {path} cannot be read ({type(exc).__name__}); "
                              "give a UTF-8 YAML file") from None
        except yaml.YAMLError as exc:
            raise SchemaError(f"schema file {path} is not valid YAML ({_first_line(exc)}); fix the syntax") from None
        if not isinstance(raw, dict):
            raise SchemaError(f"schema file {path} must be a mapping with 'columns' and/or 'drop'")
        # Allow the short form `age: integer`.
        columns = raw.get("columns") or {}
        if isinstance(columns, dict):
            raw["columns"] = {k: ({"kind": v} if isinstance(v, str) else v) for k, v in columns.items()}
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"])
            raise SchemaError(f"schema file {path}: {where}: {err['msg']}") from None


def infer_schema(frame: pd.DataFrame) -> Schema:
    """Infer a :class:`Schema` from a DataFrame.

    >>> infer_schema(pd.DataFrame({"age": [34, 51, 67], "sex": ["F", "M", "F"]})).names
    ['age', 'sex']
    """
    return Schema(columns=[infer_column(frame[name]) for name in frame.columns])


def infer_column(series: pd.Series) -> ColumnSpec:
    """Infer one column's kind from its name and values.

    For a text column, also record values that do not parse like the rest (``"unknown"`` among
    numbers); coercion would otherwise turn them into missing values without a trace.
    """
    if pd.api.types.is_float_dtype(series) and np.isinf(series).any():
        # inf is a sentinel (an open interval bound, "not measured"), not a value a model can learn.
        infinite = int(np.isinf(series).sum())
        spec = _infer_kind(series.replace([np.inf, -np.inf], np.nan))
        return spec.model_copy(update={"reason": f"{spec.reason}; {infinite} infinite value(s) read as missing"})
    spec = _infer_kind(series)
    if series.dtype != object and not pd.api.types.is_string_dtype(series):
        return spec
    as_dates = spec.kind is ColumnKind.DATETIME
    mixed = find_mixed_values(series, dates=as_dates)
    if mixed is None:
        return spec
    reason = spec.reason
    if spec.kind in (ColumnKind.NUMERIC, ColumnKind.INTEGER, ColumnKind.DATETIME):
        reason += (f"; {mixed.unparsed} value(s) that are not {mixed.parsed_as}s "
                   f"(e.g. {', '.join(map(repr, mixed.examples))}) read as missing")
    return spec.model_copy(update={"mixed": mixed, "reason": reason})


def find_mixed_values(series: pd.Series, *, dates: bool = False, n_examples: int = 3) -> MixedValues | None:
    """Count non-missing values that parse as numbers (or dates) and those that do not; None unless both occur.

    >>> find_mixed_values(pd.Series(["12", "15", "unknown"])).examples
    ['unknown']
    """
    text = series.dropna().astype(str).str.strip()
    text = text[text != ""]
    if text.empty:
        return None
    # Parse each distinct value once: date parsing with format="mixed" is slow per element.
    distinct = pd.Series(text.unique())
    parsed_distinct = _to_datetime(distinct) if dates else pd.to_numeric(distinct, errors="coerce")
    ok = text.map(dict(zip(distinct, parsed_distinct.notna()))).astype(bool)
    parsed = int(ok.sum())
    if parsed == 0 or parsed == len(text):
        return None
    examples = text[~ok].value_counts().index[:n_examples].tolist()
    return MixedValues(parsed_as="date" if dates else "number", parsed=parsed, unparsed=len(text) - parsed,
                       examples=examples)


def _infer_kind(series: pd.Series) -> ColumnSpec:
    name = str(series.name)
    values = series.dropna()
    n = len(values)
    tokens = _name_tokens(name)

    def spec(kind: ColumnKind, reason: str) -> ColumnSpec:
        return ColumnSpec(name=name, kind=kind, reason=reason)

    if n == 0:
        return spec(ColumnKind.NUMERIC, "no values at all")
    unique = values.nunique()
    unique_ratio = unique / n
    if tokens & _ALWAYS_ID_TOKENS and unique > 1:
        return spec(ColumnKind.IDENTIFIER, f"name suggests a direct identifier ({', '.join(sorted(tokens & _ALWAYS_ID_TOKENS))})")
    if pd.api.types.is_bool_dtype(series):
        return spec(ColumnKind.BOOLEAN, "boolean values")
    if pd.api.types.is_datetime64_any_dtype(series):
        return spec(ColumnKind.DATETIME, "date/time values")
    if pd.api.types.is_numeric_dtype(series):
        return _infer_numeric(name, values, tokens, unique, unique_ratio)

    text = values.astype(str).str.strip()
    if unique == 2 and set(text.str.lower().unique()) <= _BOOL_WORDS:
        return spec(ColumnKind.BOOLEAN, "two yes/no-like values")
    numeric = pd.to_numeric(text, errors="coerce")
    if numeric.notna().mean() >= 0.95:
        return _infer_numeric(name, numeric.dropna(), tokens, numeric.nunique(), numeric.nunique() / max(numeric.notna().sum(), 1))
    # Dates first: ISO (2021-03-15) and dotted (15.03.2021) dates also match the phone pattern, while
    # phone numbers, SSNs and IP addresses do not parse as dates.
    if _parses_as_dates(text):
        return spec(ColumnKind.DATETIME, "values parse as dates")
    for what, pattern in _VALUE_PATTERNS.items():
        if text.head(500).str.match(pattern).mean() >= 0.8:
            return spec(ColumnKind.IDENTIFIER, f"values look like {what}")
    if _looks_like_person_field(tokens) and unique_ratio >= 0.05 and unique > 1:
        return spec(ColumnKind.IDENTIFIER, "name suggests a person's name or identifier")
    if tokens & _UNIQUE_ID_TOKENS and unique_ratio >= 0.5:
        return spec(ColumnKind.IDENTIFIER, "name suggests an identifier and values are mostly unique")
    words = text.str.split().str.len()
    if text.str.len().mean() >= 40 or words.mean() >= 6:
        return spec(ColumnKind.TEXT, "long free text")
    if unique <= 50 or unique_ratio <= 0.5:
        return spec(ColumnKind.CATEGORICAL, f"{unique} distinct values")
    return spec(ColumnKind.IDENTIFIER, f"{unique} distinct short strings in {n} rows (too unique to be a category)")


def coerce_frame(frame: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """Return a copy whose dtypes match the schema (numbers parsed, dates parsed)."""
    out = frame.copy()
    for spec in schema.columns:
        col = out[spec.name]
        if spec.kind in (ColumnKind.NUMERIC, ColumnKind.INTEGER):
            if not pd.api.types.is_numeric_dtype(col):
                col = pd.to_numeric(col.astype("string").str.strip(), errors="coerce")
            out[spec.name] = col.replace([np.inf, -np.inf], np.nan) if pd.api.types.is_float_dtype(col) else col
        elif spec.kind is ColumnKind.DATETIME and not pd.api.types.is_datetime64_any_dtype(col):
            out[spec.name] = _to_datetime(col)
    return out


def _infer_numeric(name: str, values: pd.Series, tokens: set[str], unique: int, unique_ratio: float) -> ColumnSpec:
    as_float = values.astype(float)
    integral = bool(np.all(np.isclose(as_float, np.round(as_float))))
    n = len(values)
    if integral and n >= 20 and unique == n:
        ordered = np.sort(as_float.to_numpy())
        if np.all(np.diff(ordered) == 1):
            return ColumnSpec(name=name, kind=ColumnKind.IDENTIFIER, reason="consecutive unique integers (a row number)")
    if integral and tokens & _UNIQUE_ID_TOKENS and unique_ratio >= 0.5:
        return ColumnSpec(name=name, kind=ColumnKind.IDENTIFIER, reason="name suggests an identifier and values are mostly unique")
    if unique <= 2 and set(as_float.unique()) <= {0.0, 1.0}:
        return ColumnSpec(name=name, kind=ColumnKind.BOOLEAN, reason="0/1 values")
    if integral and unique <= MAX_CODED_LEVELS:
        return ColumnSpec(name=name, kind=ColumnKind.CATEGORICAL, reason=f"{unique} distinct integer codes")
    if integral:
        return ColumnSpec(name=name, kind=ColumnKind.INTEGER, reason="whole numbers")
    return ColumnSpec(name=name, kind=ColumnKind.NUMERIC, reason="real numbers")


def _name_tokens(name: str) -> set[str]:
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", name)
    return {t for t in re.split(r"[^a-z0-9]+", spaced.lower()) if t}


def _looks_like_person_field(tokens: set[str]) -> bool:
    return "name" in tokens and (tokens == {"name"} or bool(tokens & _PERSON_TOKENS))


def _parses_as_dates(text: pd.Series) -> bool:
    sample = text.head(500)
    # Dates need digits and a separator; this keeps words like "May" or codes like "A1" out.
    # A few entries such as "unknown" do not stop a date column from being one (they are reported as mixed).
    if sample.str.contains(r"\d", regex=True).mean() < 0.95 or sample.str.contains(r"[-/.: ]", regex=True).mean() < 0.95:
        return False
    return _to_datetime(sample).notna().mean() >= 0.95


def _to_datetime(col: pd.Series) -> pd.Series:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pd.to_datetime(col, errors="coerce", format="mixed")


def _did_you_mean(name: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(name, choices, n=1)
    return f" (did you mean {close[0]!r}?)" if close else f"; known columns: {', '.join(choices[:20])}"


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0]

