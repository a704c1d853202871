"""Public API: consistent surrogates per patient, intervals kept, shapes kept, clear errors, no PHI leaks."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from hygeia.errors import DeidError
from hygeia.privacy import deidentify, detect_phi
from hygeia.privacy.deid import Deidentifier
from hygeia.privacy.phi import PhiCategory as C

KEY = "test key, not a real secret"
FIRST = "PT SEEN BY DR KOWALSKI ON 3/1/2089. WIFE MARY AT BEDSIDE."
SECOND = "Dr. Kowalski saw her again on 4/15/2089; Mary Kowalski drove."


@pytest.fixture(scope="module")
def deid() -> Deidentifier:
    return Deidentifier(key=KEY)


def test_same_patient_same_surrogates_across_notes(deid: Deidentifier) -> None:
    a, b = deid.deidentify_batch([FIRST, SECOND], patients=["p1", "p1"])
    assert "KOWALSKI" not in a.text and "Kowalski" not in b.text and "MARY" not in a.text
    doc_a = re.search(r"DR (\w+)", a.text).group(1)
    doc_b = re.search(r"Dr\. (\w+)", b.text).group(1)
    assert doc_a.isupper() and doc_b.istitle() and doc_a.lower() == doc_b.lower()


def test_another_patient_gets_other_surrogates(deid: Deidentifier) -> None:
    one = deid.deidentify(FIRST, patient="p1").text
    two = deid.deidentify(FIRST, patient="p2").text
    assert re.search(r"DR (\w+)", one).group(1) != re.search(r"DR (\w+)", two).group(1)


def test_date_intervals_survive(deid: Deidentifier) -> None:
    a, b = deid.deidentify_batch([FIRST, SECOND], patients=["p3", "p3"])
    da, db = (dt.datetime.strptime(re.search(r"\d+/\d+/\d{4}", r.text).group(), "%m/%d/%Y").date() for r in (a, b))
    assert (db - da).days == 45 and da != dt.date(2089, 3, 1)


def test_same_key_reproduces_and_reidentify_restores(deid: Deidentifier) -> None:
    again = Deidentifier(key=KEY).deidentify(FIRST, patient="p1")
    first = deid.deidentify(FIRST, patient="p1")
    assert again.text == first.text
    assert first.reidentify(first.text) == FIRST
    assert first.counts() == {"DATE": 1, "NAME": 2}


def test_initials_stay_initials(deid: Deidentifier) -> None:
    result = deid.deidentify("Note by J.K. Rowling, RN.", patient="p4")
    assert re.fullmatch(r"Note by [A-Z]\.[A-Z]\. [A-Z][a-z]+, RN\.", result.text)


def test_a_name_found_in_an_earlier_note_is_found_later_without_a_cue(deid: Deidentifier) -> None:
    deid.deidentify("Seen by Dr. Zbigniewa today.", patient="p5")
    assert "Zbigniewa" not in deid.deidentify("Zbigniewa called back.", patient="p5").text


def test_module_functions_and_empty_text() -> None:
    assert detect_phi("") == [] and deidentify("").text == ""
    assert deidentify(FIRST, patient="p1", key=KEY).text == Deidentifier(KEY).deidentify(FIRST, patient="p1").text


@pytest.mark.parametrize("bad", [None, 42, b"bytes note", ["a list"]])
def test_bad_input_gives_a_clear_error(bad) -> None:
    with pytest.raises(DeidError, match="str|text"):
        detect_phi(bad)
    with pytest.raises(DeidError):
        deidentify(bad)


def test_bad_arguments_give_clear_errors() -> None:
    with pytest.raises(DeidError, match="key"):
        Deidentifier(key=b"")
    with pytest.raises(DeidError, match="patient"):
        Deidentifier(KEY).deidentify("text", patient=12)
    with pytest.raises(DeidError, match="one per text"):
        Deidentifier(KEY).deidentify_batch(["a", "b"], patients=["p1"])


def test_no_phi_in_reprs(deid: Deidentifier) -> None:
    result = deid.deidentify(FIRST, patient="p1")
    shown = repr(result) + repr(result.spans) + repr(deid)
    assert "KOWALSKI" not in shown and "MARY" not in shown and "3/1/2089" not in shown
    assert {s.category for s in result.spans} == {C.NAME, C.DATE}
