"""Reading real rows of ACTG 175 back from the files people actually send: odd encodings, delimiters, damage.

Each good file is written from the real table (plus a column of accented patient names, the part
encodings get wrong) and must read back value for value; each bad file must fail with a
``DataError`` that names the file and says what to do.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hygeia.data.dataset import file_sha256
from hygeia.data.readers import read_dataset, read_table
from hygeia.errors import DataError

# Latin-1 letters that legacy code pages disagree on (ã, ï, ø, å, ð... are different letters in cp1250).
NAMES = ["José Núñez", "François Lefèvre", "João Gonçalves", "Anaïs Dupré", "Søren Ågård", "Zoë Brontë",
         "Björk Guðmundsdóttir", "Renée Müller", "Íñigo Ibáñez", "Maël Bézier"]


@pytest.fixture(scope="module")
def table(actg175) -> pd.DataFrame:
    frame = actg175.frame[["pidnum", "age", "wtkg", "karnof", "cd40", "cd496", "cens"]].head(60).copy()
    frame.insert(1, "patient_name", [NAMES[i % len(NAMES)] for i in range(len(frame))])
    return frame


def _same(read: pd.DataFrame, expected: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(read.reset_index(drop=True), expected.reset_index(drop=True), check_dtype=False)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "latin-1", "cp1252", "utf-16"])
def test_encodings_round_trip_accented_names(tmp_path, table, encoding):
    path = tmp_path / f"{encoding}.csv"
    table.to_csv(path, index=False, encoding=encoding)
    _same(read_table(path), table)


def test_utf16_without_bom_is_read(tmp_path, table):
    path = tmp_path / "utf16le.csv"
    path.write_bytes(table.to_csv(index=False, sep="\t").encode("utf-16-le"))
    _same(read_table(path), table)


@pytest.mark.parametrize("sep", [";", "\t", "|"])
def test_other_delimiters(tmp_path, table, sep):
    path = tmp_path / "semi.csv"
    table.to_csv(path, index=False, sep=sep)
    _same(read_table(path), table)


def test_semicolon_file_with_decimal_commas_reads_numbers(tmp_path, table):
    path = tmp_path / "european.csv"
    table.to_csv(path, index=False, sep=";", decimal=",", encoding="cp1252")
    read = read_table(path)
    assert pd.api.types.is_float_dtype(read["wtkg"])
    _same(read, table)


def test_parquet_round_trip_matches_csv(tmp_path, table):
    table.to_parquet(tmp_path / "t.parquet", index=False)
    table.to_csv(tmp_path / "t.csv", index=False)
    from_parquet, from_csv = read_dataset(tmp_path / "t.parquet"), read_dataset(tmp_path / "t.csv")
    _same(from_parquet.frame, table)
    assert from_parquet.schema.model_dump() == from_csv.schema.model_dump()
    assert from_parquet.sha256 == file_sha256(str(tmp_path / "t.parquet"))


def test_one_row_reads(tmp_path, table):
    path = tmp_path / "one.csv"
    table.head(1).to_csv(path, index=False)
    _same(read_table(path), table.head(1))


def test_trailing_delimiter_on_each_row_does_not_shift_values(tmp_path, table):
    body = table.head(5).to_csv(index=False).splitlines()
    path = tmp_path / "trailing.csv"
    path.write_text("\n".join([body[0], *[line + "," for line in body[1:]]]) + "\n", encoding="utf-8")
    _same(read_table(path), table.head(5))


def _bad(path, content: bytes | None):
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(DataError) as err:
        read_table(path)
    message = str(err.value)
    assert str(path) in message and "\n" not in message
    return message


def test_missing_file(tmp_path):
    assert "not found" in _bad(tmp_path / "nope.csv", None)


def test_folder(tmp_path):
    assert "folder" in _bad(tmp_path, None)


@pytest.mark.parametrize("content", [b"", b"   \n\n\t \r\n"], ids=["empty", "whitespace"])
def test_empty_or_blank_file(tmp_path, content):
    assert "empty" in _bad(tmp_path / "empty.csv", content)


@pytest.mark.parametrize("size", [64, 4096])
def test_random_bytes(tmp_path, size):
    assert "binary" in _bad(tmp_path / "noise.csv", np.random.default_rng(size).bytes(size))


@pytest.mark.parametrize("content, word", [
    (b"\x89PNG\r\n\x1a\n", "PNG"),  # the signature alone has no NUL byte to give it away
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00\x00\x00\x01\x00\x08\x02", "PNG"),
    (b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00", "Excel"),
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "PDF"),
], ids=["png-signature", "png-header", "xlsx", "pdf"])
def test_known_binary_formats_are_named(tmp_path, content, word):
    assert word in _bad(tmp_path / "upload.csv", content)


def test_header_only(tmp_path, table):
    assert "no data rows" in _bad(tmp_path / "header.csv", (",".join(table.columns) + "\n").encode())


def test_ragged_row(tmp_path, table):
    lines = table.head(4).to_csv(index=False).splitlines()
    lines[2] += ",999"
    assert "line up" in _bad(tmp_path / "ragged.csv", "\n".join(lines).encode())


def test_every_row_longer_than_header_is_refused_not_shifted(tmp_path, table):
    lines = table.head(4).to_csv(index=False).splitlines()
    content = "\n".join([lines[0], *[line + ",999" for line in lines[1:]]])
    assert "more fields than the header" in _bad(tmp_path / "shifted.csv", content.encode())


def test_duplicate_column_name(tmp_path, table):
    frame = table.head(3).rename(columns={"karnof": "age"})
    assert "appears twice" in _bad(tmp_path / "dup.csv", frame.to_csv(index=False).encode())


def test_csv_named_parquet(tmp_path, table):
    assert "Parquet" in _bad(tmp_path / "t.parquet", table.to_csv(index=False).encode())
