"""Read CSV (any common encoding, BOM, sniffed delimiter), Parquet and DataFrames.

Every failure a user can cause becomes a one-line :class:`DataError` that says what to do.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd
from charset_normalizer import from_bytes

from hygeia.data.dataset import Dataset, file_sha256
from hygeia.data.schema import SchemaOverrides
from hygeia.errors import DataError

_PARQUET_MAGIC = b"PAR1"
_DELIMITERS = ",;\t|"


def read_dataset(path: str | Path, *, schema_file: str | Path | None = None) -> Dataset:
    """Read a CSV or Parquet file into a :class:`Dataset` with an inferred schema.

    >>> ds = read_dataset("patients.csv")  # doctest: +SKIP
    >>> ds.schema.modelled  # doctest: +SKIP
    """
    path = Path(path)
    frame = read_table(path)
    overrides = SchemaOverrides.load(schema_file) if schema_file else None
    return Dataset.from_frame(frame, source=str(path), sha256=file_sha256(str(path)), overrides=overrides)


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a file into a DataFrame, refusing empty, binary or header-only input."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: file not found; check the path")
    if path.is_dir():
        raise DataError(f"{path}: is a folder; give a CSV or Parquet file")
    raw = path.read_bytes()
    if not raw.strip():
        raise DataError(f"{path}: file is empty; export the table again with a header row and data rows")
    if raw[:4] == _PARQUET_MAGIC or path.suffix.lower() in {".parquet", ".pq"}:
        frame = _read_parquet(path)
    else:
        frame = _read_csv(path, raw)
    if frame.shape[1] == 0:
        raise DataError(f"{path}: no columns found; is this a table with a header row?")
    if len(frame) == 0:
        raise DataError(f"{path}: has a header but no data rows; a table needs rows to learn from")
    duplicated = [c for c in frame.columns if str(c).endswith(".1") and str(c)[:-2] in frame.columns]
    if duplicated:
        raise DataError(f"{path}: column name {str(duplicated[0])[:-2]!r} appears twice; rename one of them")
    return frame


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises many types for a damaged file
        raise DataError(f"{path}: not a readable Parquet file ({type(exc).__name__}); export it again") from None


def _read_csv(path: Path, raw: bytes) -> pd.DataFrame:
    text = decode_text(raw, str(path))
    sample = text[:65536]
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=_DELIMITERS).delimiter
    except csv.Error:
        delimiter = ","
    try:
        return pd.read_csv(io.StringIO(text), sep=delimiter, na_values=["", "NA", "N/A", "NaN", "nan", "null", "NULL", "?"],
                           keep_default_na=True, skipinitialspace=True, low_memory=False)
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: no table found in the file; export it again with a header row") from None
    except pd.errors.ParserError as exc:
        detail = str(exc).strip().splitlines()[-1]
        raise DataError(f"{path}: rows do not line up with the header ({detail}); check the delimiter and quoting") from None


def decode_text(raw: bytes, name: str) -> str:
    """Decode bytes as UTF-8 (with or without BOM, or UTF-16 with BOM), else the best-guess legacy encoding."""
    if b"\x00" in raw[:8192] and not raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise DataError(f"{name}: looks like a binary file, not a CSV; give a CSV or Parquet file")
    for encoding in ("utf-8-sig", "utf-16"):
        if encoding == "utf-16" and not raw.startswith((b"\xff\xfe", b"\xfe\xff")):
            continue
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            pass
    best = from_bytes(raw[:1 << 20]).best()
    if best is None or best.encoding is None:
        raise DataError(f"{name}: cannot tell the text encoding; save the file as UTF-8")
    try:
        return raw.decode(best.encoding)
    except (UnicodeDecodeError, LookupError):
        raise DataError(f"{name}: not valid {best.encoding} text; save the file as UTF-8") from None
