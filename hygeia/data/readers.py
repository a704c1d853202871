"""Read CSV (any common encoding, BOM, sniffed delimiter), Parquet and DataFrames.

Every failure a user can cause becomes a one-line :class:`DataError` that says what to do.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import warnings
from pathlib import Path

import pandas as pd
from charset_normalizer import from_bytes

from hygeia.data.dataset import Dataset
from hygeia.data.schema import SchemaOverrides
from hygeia.errors import DataError

_PARQUET_MAGIC = b"PAR1"
_DELIMITERS = ",;\t|"
#: Leading bytes of files people pick by mistake; named so the message says what the file is.
_SIGNATURES = {
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"%PDF": "a PDF document",
    b"PK\x03\x04": "a ZIP archive or an Excel .xlsx workbook (export the sheet as CSV)",
    b"\xd0\xcf\x11\xe0": "an old Excel .xls or Word file (export the sheet as CSV)",
    b"\x1f\x8b": "a gzip-compressed file (decompress it first)",
    b"SQLite format 3": "a SQLite database",
}
_NA_VALUES = ["", "NA", "N/A", "NaN", "nan", "null", "NULL", "?"]
# "70,5" in a ;- or tab-separated file is a decimal comma (a comma-separated file would have to quote it).
_DECIMAL_COMMA = re.compile(r"^[+-]?(\d+|\d*,\d+)$")


def read_dataset(path: str | Path, *, schema_file: str | Path | None = None) -> Dataset:
    """Read a CSV or Parquet file into a :class:`Dataset` with an inferred schema.

    >>> ds = read_dataset("patients.csv")  # doctest: +SKIP
    >>> ds.schema.modelled  # doctest: +SKIP
    """
    path = Path(path)
    frame, raw = _read_table(path)
    overrides = SchemaOverrides.load(schema_file) if schema_file else None
    # Hash the bytes that were parsed (no second read, and no race with a file changing in between).
    return Dataset.from_frame(frame, source=str(path), sha256=hashlib.sha256(raw).hexdigest(), overrides=overrides)


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a file into a DataFrame, refusing empty, binary or header-only input."""
    return _read_table(Path(path))[0]


def _read_table(path: Path) -> tuple[pd.DataFrame, bytes]:
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
    return frame, raw


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
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", pd.errors.ParserWarning)
            # index_col=False: without it, rows with one field more than the header silently turn the
            # first column into the index and shift every value one column left.
            frame = pd.read_csv(io.StringIO(text), sep=delimiter, na_values=_NA_VALUES, keep_default_na=True,
                                skipinitialspace=True, low_memory=False, index_col=False)
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: no table found in the file; export it again with a header row") from None
    except pd.errors.ParserError as exc:
        detail = str(exc).strip().splitlines()[-1]
        raise DataError(f"{path}: rows do not line up with the header ({detail}); check the delimiter and quoting") from None
    if any(issubclass(w.category, pd.errors.ParserWarning) and "does not match" in str(w.message) for w in caught):
        raise DataError(f"{path}: data rows have more fields than the header, so values would be lost; "
                        "name every column in the header or check the delimiter and quoting")
    return _decimal_commas(frame) if delimiter != "," else frame


def _decimal_commas(frame: pd.DataFrame) -> pd.DataFrame:
    """Parse text columns written with a decimal comma ("70,5") as numbers."""
    for name in frame.columns:
        col = frame[name]
        if col.dtype != object:
            continue
        text = col.dropna().astype(str).str.strip()
        if len(text) and text.str.contains(",", regex=False).any() and text.str.match(_DECIMAL_COMMA).all():
            dotted = col.astype(str).str.strip().str.replace(",", ".", regex=False)
            frame[name] = pd.to_numeric(dotted.where(col.notna()))
    return frame


def decode_text(raw: bytes, name: str) -> str:
    """Decode bytes as UTF-8 (with or without BOM) or UTF-16/32, else the best-guess legacy encoding.

    Among legacy code pages that fit equally well, Windows-1252 wins: on short files charset-normalizer
    cannot tell cp1252 from cp1250 and would turn "João" into "Joăo".
    """
    for signature, what in _SIGNATURES.items():
        if raw.startswith(signature):
            raise DataError(f"{name}: looks like a binary file ({what}), not a CSV; give a CSV or Parquet file")
    bom_encoding = _bom_encoding(raw) or _utf16_without_bom(raw[:8192])
    if bom_encoding:
        try:
            return raw.decode(bom_encoding)
        except UnicodeDecodeError:
            raise DataError(f"{name}: not valid {bom_encoding} text; save the file as UTF-8") from None
    if b"\x00" in raw[:8192]:
        raise DataError(f"{name}: looks like a binary file, not a CSV; give a CSV or Parquet file")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    matches = list(from_bytes(raw[:1 << 20]))
    if not matches:
        raise DataError(f"{name}: looks like a binary file or an unknown text encoding; save the table as a UTF-8 CSV")
    best = matches[0]
    tied = [m.encoding for m in matches if m.chaos <= best.chaos + 1e-9 and m.coherence >= best.coherence - 1e-9]
    encoding = "cp1252" if "cp1252" in tied else best.encoding
    try:
        text = raw.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        raise DataError(f"{name}: not valid {encoding} text; save the file as UTF-8") from None
    if _control_share(text) > 0.01:
        raise DataError(f"{name}: looks like a binary file, not a CSV; give a CSV or Parquet file")
    return text


def _bom_encoding(raw: bytes) -> str | None:
    # UTF-32 first: its little-endian BOM begins with the UTF-16 one.
    if raw.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        return "utf-32"
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    return None


def _utf16_without_bom(sample: bytes) -> str | None:
    """UTF-16 text of Latin letters has a zero in every second byte; tell which half."""
    even, odd = sample[0::2], sample[1::2]
    if len(sample) < 4 or len(sample) % 2:
        return None
    if odd.count(0) >= 0.9 * len(odd) and even.count(0) <= 0.1 * len(even):
        return "utf-16-le"
    if even.count(0) >= 0.9 * len(even) and odd.count(0) <= 0.1 * len(odd):
        return "utf-16-be"
    return None


def _control_share(text: str) -> float:
    sample = text[:65536]
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\t\r\n\f")
    return controls / max(len(sample), 1)
