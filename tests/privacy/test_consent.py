"""Opt-out on ACTG 175: real patient ids leave the table before anything is fitted."""

from __future__ import annotations

import numpy as np
import pytest

from hygeia.errors import DataError
from hygeia.privacy import apply_opt_out, canonical_id, load_opt_out

FAKE = {"999001", "999002", "999003", "999004", "999005"}  # not ACTG 175 ids (those stop at 990077)


@pytest.fixture(scope="module")
def opted_out(actg175) -> list[int]:
    return np.random.default_rng(0).choice(actg175.frame["pidnum"].to_numpy(), 100, replace=False).tolist()


def test_remove_100_real_patients(actg175, opted_out):
    result = apply_opt_out(actg175, {str(p) for p in opted_out})
    assert result.id_column == "pidnum" and result.removed == 100 and result.not_found == 0
    assert result.dataset.n_rows == actg175.n_rows - 100
    assert not set(result.dataset.frame["pidnum"]) & set(opted_out)
    assert set(result.dataset.frame["pidnum"]) | set(opted_out) == set(actg175.frame["pidnum"])
    assert result.dataset.schema == actg175.schema and "consent" in result.dataset.notes[-1]


def test_ids_from_a_text_file(tmp_path, actg175, opted_out):
    path = tmp_path / "opt_out.txt"
    lines = ["# patients who withdrew consent", "", *[f"  {p}  " for p in opted_out], "", *sorted(FAKE)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    ids = load_opt_out(path)
    assert ids == {str(p) for p in opted_out} | FAKE
    result = apply_opt_out(actg175, ids)
    assert (result.removed, result.not_found) == (100, len(FAKE))


@pytest.mark.parametrize("header, row", [
    ("pidnum", "{p}"),
    ("patient_id,withdrawn_on", "{p},2024-03-01"),
    ("withdrawn_on;Patient ID;site", "2024-03-01;{p};Boston"),
])
def test_ids_from_a_csv(tmp_path, actg175, opted_out, header, row):
    path = tmp_path / "opt_out.csv"
    path.write_text("\n".join([header, *[row.format(p=p) for p in opted_out]]) + "\n", encoding="utf-8")
    assert load_opt_out(path) == {str(p) for p in opted_out}
    assert apply_opt_out(actg175, load_opt_out(path)).removed == 100


def test_ids_compare_as_canonical_text(actg175, opted_out):
    forms = {f" {opted_out[0]} ", f"0{opted_out[1]}", f"{opted_out[2]}.0", f"+{opted_out[3]}"}
    assert apply_opt_out(actg175, forms).removed == 4
    assert canonical_id(10056) == canonical_id("010056") == canonical_id(10056.0) == "10056"


def test_string_ids_in_the_data(actg175, opted_out):
    frame = actg175.frame.copy()
    frame["pidnum"] = "P-" + frame["pidnum"].astype(str)
    ds = actg175.replace_frame(frame)
    result = apply_opt_out(ds, {f"P-{p}" for p in opted_out[:10]} | {str(opted_out[10])})
    assert (result.removed, result.not_found) == (10, 1)


def test_explicit_id_column(actg175, opted_out):
    result = apply_opt_out(actg175, {str(p) for p in opted_out[:5]}, id_column="pidnum")
    assert result.removed == 5


def test_unknown_id_column(actg175):
    with pytest.raises(DataError, match="did you mean 'pidnum'"):
        apply_opt_out(actg175, {"10056"}, id_column="pidnun")


def test_no_match_suggests_id_column(actg175):
    with pytest.raises(DataError, match="--id-column"):
        apply_opt_out(actg175, FAKE)


def test_ambiguous_columns(actg175):
    # Ids 1..20 are both row numbers ("Unnamed: 0") and, in this copy, patient ids.
    frame = actg175.frame.copy()
    frame["pidnum"] = frame["Unnamed: 0"]
    with pytest.raises(DataError, match="equally"):
        apply_opt_out(actg175.replace_frame(frame), {str(i) for i in range(1, 21)})


@pytest.mark.parametrize("content", ["", "\n\n", "# nobody yet\n", "patient_id\n"])
def test_empty_files(tmp_path, content):
    path = tmp_path / "opt_out.txt"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match="opt_out.txt"):
        load_opt_out(path)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="not found"):
        load_opt_out(tmp_path / "absent.txt")


def test_csv_without_an_id_column(tmp_path):
    path = tmp_path / "opt_out.csv"
    path.write_text("site,withdrawn_on\nBoston,2024-03-01\n", encoding="utf-8")
    with pytest.raises(DataError, match="which holds the ids"):
        load_opt_out(path)


def test_empty_id_set(actg175):
    with pytest.raises(DataError, match="empty"):
        apply_opt_out(actg175, set())


def test_explicit_id_column_matching_nobody_is_refused(actg175, opted_out):
    with pytest.raises(DataError, match="none of the 5 opt-out ids"):
        apply_opt_out(actg175, {str(p) for p in opted_out[:5]}, id_column="age")
