"""Consent: remove patients who opted out, before anything is fitted or scored.

Ids are compared as text after trimming spaces, with integer forms made canonical, so ``10056``,
``"10056"``, ``" 10056 "``, ``"10056.0"`` and ``"010056"`` all match. Dropping leading zeros can
only make two ids match that differ by them; for an opt-out that errs on the side of removing.

>>> ids = load_opt_out("opt_out.txt")                        # doctest: +SKIP
>>> result = apply_opt_out(dataset, ids)                     # doctest: +SKIP
>>> result.id_column, result.removed, result.not_found       # doctest: +SKIP
('pidnum', 100, 0)
"""

from __future__ import annotations

import csv
import difflib
import io
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from hygeia.data.dataset import Dataset
from hygeia.data.readers import decode_text
from hygeia.data.schema import ColumnKind, _name_tokens
from hygeia.errors import DataError

#: Header names, in order of preference, for the id column of a CSV opt-out file.
ID_HEADERS = ("id", "patient_id", "patientid", "pidnum", "pid", "mrn", "subject_id", "person_id", "record_id")
_ID_TOKENS = {"id", "pid", "pidnum", "mrn", "patient", "subject", "person", "record", "identifier"}
_INTEGER_ID = r"^\+?0*(\d+)(?:\.0*)?$"  # 010056, +10056, 10056.0 -> 10056


@dataclass(frozen=True)
class ConsentResult:
    """The dataset without opted-out patients, and what happened."""

    dataset: Dataset
    id_column: str
    removed: int  # rows removed (a patient may have several)
    not_found: int  # opt-out ids that match no row


def load_opt_out(path: str | Path) -> set[str]:
    """Read opted-out ids: a text file with one id per line (blank lines and ``#`` comments skipped),
    or a CSV with a header whose single column, or whose id-like column (``id``, ``patient_id``...), holds them.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"opt-out file {path} not found; check the path given to --opt-out")
    text = decode_text(path.read_bytes(), str(path))
    lines = [line.strip() for line in text.splitlines()]
    lines = [line for line in lines if line and not line.startswith("#")]
    if not lines:
        raise DataError(f"opt-out file {path} is empty; give one patient id per line")
    try:
        delimiter = csv.Sniffer().sniff(lines[0], delimiters=",;\t|").delimiter
    except csv.Error:
        delimiter = ","
    rows = [row for row in csv.reader(io.StringIO("\n".join(lines)), delimiter=delimiter) if row]
    if len(rows[0]) > 1:
        values = _id_column_values(rows, path)
    else:
        values = [row[0] for row in rows]
        if _is_header(values):
            values = values[1:]
    ids = {v.strip() for v in values if v.strip()}
    if not ids:
        raise DataError(f"opt-out file {path} holds a header but no ids; give one patient id per line")
    return ids


def apply_opt_out(dataset: Dataset, ids: set[str], *, id_column: str | None = None) -> ConsentResult:
    """Remove every row whose id is in ``ids``; detect the id column unless ``id_column`` names it.

    Detection picks, among identifier columns, the one that holds the most of the ids.
    """
    wanted = {canonical_id(i) for i in ids} - {""}
    if not wanted:
        raise DataError("the opt-out list is empty; give at least one patient id")
    frame = dataset.frame
    if id_column is None:
        id_column = _detect_id_column(dataset, wanted)
    elif id_column not in frame.columns:
        close = difflib.get_close_matches(id_column, list(frame.columns), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else f"; columns: {', '.join(map(str, frame.columns[:20]))}"
        raise DataError(f"--id-column {id_column!r} is not a column of {dataset.source}{hint}")
    keys = _canonical_column(frame[id_column])
    opted_out = keys.isin(wanted).to_numpy()
    removed = int(opted_out.sum())
    if removed == 0:
        # A list that matches nobody is almost always the wrong column or file; fitting anyway would
        # silently ignore every patient's objection.
        raise DataError(f"none of the {len(wanted)} opt-out ids occurs in column {id_column!r}; "
                        "check the opt-out file and --id-column")
    not_found = len(wanted - set(keys[opted_out]))
    kept = dataset.replace_frame(frame[~opted_out], note=f"consent: removed {removed} row(s) of opted-out patients "
                                 f"matched on {id_column!r}; {not_found} opt-out id(s) not in the data")
    return ConsentResult(dataset=kept, id_column=id_column, removed=removed, not_found=not_found)


def canonical_id(value: object) -> str:
    """The form ids are compared in: trimmed text, integers without sign, leading zeros or ``.0``."""
    key = _canonical_column(pd.Series([value], dtype=object)).iloc[0]
    return "" if pd.isna(key) else str(key)


def _canonical_column(col: pd.Series) -> pd.Series:
    text = col.astype(object).where(col.notna(), None).astype("string").str.strip()
    return text.str.replace(_INTEGER_ID, r"\1", regex=True)


def _detect_id_column(dataset: Dataset, wanted: set[str]) -> str:
    candidates = dataset.schema.of_kind(ColumnKind.IDENTIFIER)
    if not candidates:
        raise DataError(f"{dataset.source} has no identifier column to match opt-out ids against; "
                        "name the id column with --id-column")
    hits = {name: len(wanted & set(_canonical_column(dataset.frame[name]).dropna())) for name in candidates}
    ranked = sorted(hits.items(), key=lambda kv: -kv[1])
    best, n_best = ranked[0]
    if n_best == 0:
        raise DataError(f"none of the {len(wanted)} opt-out ids appears in the identifier column(s) "
                        f"{', '.join(candidates)}; name the id column with --id-column")
    if len(ranked) > 1 and ranked[1][1] == n_best:
        raise DataError(f"opt-out ids match columns {best!r} and {ranked[1][0]!r} equally ({n_best} each); "
                        "name the id column with --id-column")
    return best


def _is_header(values: list[str]) -> bool:
    """A single-column file starts with a header when its first line is an id-like name, or is text above numbers."""
    first = values[0].strip()
    if first.lower() in ID_HEADERS or _name_tokens(first) & _ID_TOKENS and not any(ch.isdigit() for ch in first):
        return True
    rest = pd.to_numeric(pd.Series(values[1:], dtype=object), errors="coerce")
    return len(values) > 1 and pd.isna(pd.to_numeric(first, errors="coerce")) and rest.notna().mean() >= 0.9


def _id_column_values(rows: list[list[str]], path: Path) -> list[str]:
    header = [h.strip() for h in rows[0]]
    lower = [h.lower() for h in header]
    for name in ID_HEADERS:
        if name in lower:
            index = lower.index(name)
            break
    else:
        matches = [i for i, h in enumerate(header) if _name_tokens(h) & _ID_TOKENS]
        if len(matches) != 1:
            raise DataError(f"opt-out file {path} has columns {', '.join(header)}; cannot tell which holds the ids — "
                            "keep only that column or name it 'id'")
        index = matches[0]
    return [row[index] for row in rows[1:] if len(row) > index]
