"""Names in any letter case, clinical words kept (the name recognizer alone, without spaCy)."""

from __future__ import annotations

import pytest

from hygeia.privacy.deid.names import NameRecognizer


@pytest.fixture(scope="module")
def names() -> NameRecognizer:
    return NameRecognizer()


def found(rec: NameRecognizer, text: str) -> list[str]:
    return [text[a:b] for a, b, _ in rec.find(text)]


@pytest.mark.parametrize("text, expected", [
    ("PT SEEN BY DR KOWALSKI. WIFE MARY AT BEDSIDE.", ["KOWALSKI", "MARY"]),
    ("daughter mary called; spoke with jose garcia about discharge.", ["mary", "jose garcia"]),
    ("Mr. John Q. Smith was seen by Anna Lopez, MD.", ["John Q. Smith", "Anna Lopez"]),
    ("Discussed with Dr. O'Neil and her NP, Tran.", ["O'Neil", "Tran"]),
    ("Note written by J. Hartley, RN.", ["J. Hartley"]),
    ("SMITH, JOHN  DOB unknown", ["SMITH, JOHN"]),
])
def test_names_in_any_case(names: NameRecognizer, text: str, expected: list[str]) -> None:
    assert found(names, text) == expected


@pytest.mark.parametrize("text", [
    "History of Parkinson disease and Crohn's disease; Foley catheter in place; Babinski negative.",
    "FOLEY CATHETER IN PLACE, BABINSKI NEG, GLASGOW COMA SCALE 15.",
    "GI, CV, BP, ABG, PRN, QID, PERRLA, HEENT within normal limits.",
    "Jones fracture of the left foot; Murphy's sign positive.",
    "Started camila 0.35 mg daily and lasix 40 mg.",
    "Will follow up. May need more labs. Hope to discharge tomorrow.",
    "PATIENT WILL BE SEEN IN CLINIC; MAY GO HOME.",
])
def test_clinical_words_and_plain_words_are_kept(names: NameRecognizer, text: str) -> None:
    assert found(names, text) == []


def test_title_overrides_the_allow_list(names: NameRecognizer) -> None:
    assert found(names, "Seen by Dr. Foley this morning.") == ["Foley"]


def test_spacy_person_spans_are_filtered_by_the_allow_list(names: NameRecognizer) -> None:
    text = "Lasix given; Kowalczyk at bedside."
    persons = [(0, 5), (13, 22)]  # what spaCy's NER marks as PERSON in such a sentence
    assert found(names, text) == ["Kowalczyk"]
    assert [text[a:b] for a, b, _ in names.find(text, persons)] == ["Kowalczyk"]
