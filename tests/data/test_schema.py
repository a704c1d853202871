"""Schema inference on ACTG 175 and on columns of real-looking identifiers, dates and text; YAML overrides."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hygeia.data.demo import DEMO_TABLES
from hygeia.data.readers import read_dataset
from hygeia.data.schema import ColumnKind, SchemaOverrides, coerce_frame, infer_column, infer_schema
from hygeia.errors import SchemaError

N = 150
RNG = np.random.default_rng(7)
FIRST = ["Maria", "James", "Aisha", "Wei", "Olga", "Carlos", "Fatima", "John", "Priya", "Kwame", "Sofía", "Liam"]
LAST = ["Garcia", "Smith", "Okafor", "Chen", "Ivanova", "Silva", "Haddad", "Nguyen", "Patel", "Müller", "Kowalski"]
DAYS = pd.Timestamp("2018-01-01") + pd.to_timedelta(RNG.integers(0, 1500, N), unit="D")


def _kind(name: str, values) -> ColumnKind:
    return infer_column(pd.Series(values, name=name)).kind


def test_actg175_kinds(actg175):
    schema = actg175.schema
    assert schema["Unnamed: 0"].kind is ColumnKind.IDENTIFIER and "row number" in schema["Unnamed: 0"].reason
    assert schema["pidnum"].kind is ColumnKind.IDENTIFIER
    for name in ("hemo", "homo", "drugs", "race", "gender", "treat", "cens", "r"):
        assert schema[name].kind is ColumnKind.BOOLEAN, name
    for name in ("cd40", "cd420", "cd80", "age", "days"):
        assert schema[name].kind is ColumnKind.INTEGER, name
    assert schema["cd496"].kind is ColumnKind.INTEGER  # whole numbers with gaps (37% missing) stay integer
    assert schema["wtkg"].kind is ColumnKind.NUMERIC
    assert schema["arms"].kind is ColumnKind.CATEGORICAL
    assert "pidnum" not in schema.modelled and "Unnamed: 0" not in schema.modelled
    assert len(schema.modelled) == 26


@pytest.mark.parametrize("name, values, kind", [
    ("contact", [f"{f.lower()}.{l.lower()}{i}@example-clinic.org" for i, (f, l) in
                 enumerate(zip(RNG.choice(FIRST, N), RNG.choice(LAST, N)))], ColumnKind.IDENTIFIER),
    ("callback", [f"+1 (617) 555-{i:04d}" for i in RNG.choice(10_000, N, replace=False)], ColumnKind.IDENTIFIER),
    ("next_of_kin", [f"617-555-{i:04d}" for i in RNG.choice(10_000, N, replace=False)], ColumnKind.IDENTIFIER),
    ("patient_name", [f"{f} {l}" for f, l in zip(RNG.choice(FIRST, N), RNG.choice(LAST, N))], ColumnKind.IDENTIFIER),
    ("notes", [f"Seen in clinic; reports {w} since the last visit, continue current regimen and recheck in "
               f"{RNG.integers(2, 12)} weeks." for w in RNG.choice(["mild cough", "fatigue", "no complaints"], N)],
     ColumnKind.TEXT),
    ("admit_date", DAYS.strftime("%Y-%m-%d"), ColumnKind.DATETIME),  # once misread as phone numbers
    ("visit_date", DAYS.strftime("%m/%d/%Y"), ColumnKind.DATETIME),
    ("exam_date", DAYS.strftime("%d.%m.%Y"), ColumnKind.DATETIME),
    ("seen_at", DAYS.strftime("%Y-%m-%dT%H:%M:%S"), ColumnKind.DATETIME),
    ("drug_name", RNG.choice(["zidovudine", "didanosine", "zalcitabine"], N), ColumnKind.CATEGORICAL),
    ("ssn_copy", [f"{a}-{b}-{c}" for a, b, c in zip(RNG.integers(100, 900, N), RNG.integers(10, 99, N),
                                                    RNG.integers(1000, 9999, N))], ColumnKind.IDENTIFIER),
])
def test_crafted_columns(name, values, kind):
    assert _kind(name, list(values)) is kind


def test_ssn_is_named_as_such():
    values = [f"{a}-{b}-{c}" for a, b, c in zip(RNG.integers(100, 900, N), RNG.integers(10, 99, N),
                                                RNG.integers(1000, 9999, N))]
    assert "SSN" in infer_column(pd.Series(values, name="x")).reason


def test_phone_numbers_are_not_dates():
    values = [f"617.555.{i:04d}" for i in RNG.choice(10_000, N, replace=False)]
    assert _kind("contact", values) is ColumnKind.IDENTIFIER


def test_numbers_with_a_few_words_are_numbers_and_the_words_are_recorded(actg175):
    raw = actg175.frame["cd40"].astype(str).to_numpy(dtype=object)
    raw[[3, 50, 99]] = ["unknown", "not done", "unknown"]
    spec = infer_column(pd.Series(raw, name="cd40"))
    assert spec.kind is ColumnKind.INTEGER
    assert spec.mixed is not None and spec.mixed.unparsed == 3 and spec.mixed.parsed == len(raw) - 3
    assert spec.mixed.examples[0] == "unknown" and "read as missing" in spec.reason
    coerced = coerce_frame(pd.DataFrame({"cd40": raw}), infer_schema(pd.DataFrame({"cd40": raw})))
    assert coerced["cd40"].isna().sum() == 3


def test_clean_columns_record_no_mixed_values(actg175):
    assert all(spec.mixed is None for spec in actg175.schema.columns)


# -- overrides ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def actg_path():
    return DEMO_TABLES["actg175"].path()


def _yaml(tmp_path, text: str):
    path = tmp_path / "schema.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_override_changes_kind_sets_bounds_and_drops(tmp_path, actg_path):
    path = _yaml(tmp_path, "columns:\n  karnof: {kind: integer, min: 0, max: 100}\n  strat: numeric\ndrop: [pidnum]\n")
    ds = read_dataset(actg_path, schema_file=path)
    assert ds.schema["karnof"].kind is ColumnKind.INTEGER and ds.schema["karnof"].max == 100
    assert ds.schema["strat"].kind is ColumnKind.NUMERIC
    assert "pidnum" not in ds.schema and "pidnum" not in ds.frame.columns
    assert ds.schema["karnof"].reason == "set in schema file"


@pytest.mark.parametrize("text, expected", [
    ("columns:\n  karnoff: integer\n", "did you mean 'karnof'"),
    ("drop: [pidnun]\n", "did you mean 'pidnum'"),
    ("colums:\n  karnof: integer\n", "colums"),
    ("columns:\n  karnof: {kind: integer, maximum: 100}\n", "maximum"),
    ("columns:\n  karnof: integr\n", "karnof"),
    ("columns:\n  karnof: {kind: integer, min: 100, max: 0}\n", "min 100 above max 0"),
    ("columns: [karnof\n", "not valid YAML"),
    ("- karnof\n", "must be a mapping"),
])
def test_bad_override_files(tmp_path, actg_path, text, expected):
    with pytest.raises(SchemaError, match=expected):
        read_dataset(actg_path, schema_file=_yaml(tmp_path, text))


def test_missing_override_file(tmp_path):
    with pytest.raises(SchemaError, match="not found"):
        SchemaOverrides.load(tmp_path / "absent.yaml")


def test_override_keeps_the_record_of_unparsed_values(actg175):
    raw = actg175.frame[["age", "karnof"]].astype(str).copy()
    raw.loc[raw.index[:40], "karnof"] = "unknown"
    overrides = SchemaOverrides.model_validate({"columns": {"karnof": {"kind": "integer"}}})
    spec = infer_schema(raw).with_overrides(overrides)["karnof"]
    assert spec.kind is ColumnKind.INTEGER and spec.mixed is not None and spec.mixed.unparsed == 40


def test_infinite_values_are_read_as_missing_and_said_so():
    import lifelines.datasets as lds
    from pathlib import Path

    from hygeia.data.readers import read_dataset

    ds = read_dataset(Path(lds.__file__).parent / "mice.csv")  # interval-censored: upper bound inf when open
    spec = ds.schema["u"]
    assert spec.kind in (ColumnKind.INTEGER, ColumnKind.NUMERIC)
    assert "infinite value(s) read as missing" in spec.reason
    assert not np.isinf(ds.frame["u"].dropna()).any() and ds.frame["u"].isna().sum() > 0
