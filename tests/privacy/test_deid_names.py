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
    "Febrile to 39.2 C overnight; spoke to 2 nurses.",  # a unit after a number is no initial
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


def test_drug_and_unit_words_of_lower_case_medication_lists_are_kept(names: NameRecognizer) -> None:
    text = ("# medications\nepoetin alfa 4000 unt/ml injection; insulin isophane, human 70 unt/ml; "
            "hx of otitis media\nseen by dr kowalski")
    assert found(names, text) == ["kowalski"]


@pytest.mark.parametrize("text, expected", [
    ("History of Present Illness\nMarek Dvorsky is a 51 year-old man.", ["Marek Dvorsky"]),
    ("KESSANDRA ULMO IS A 72 YO F WITH CHF", ["KESSANDRA ULMO"]),
    ("Zuberi is a 45-year-old man", ["Zuberi"]),
])
def test_the_person_introduced_with_an_age(names: NameRecognizer, text: str, expected: list[str]) -> None:
    assert found(names, text) == expected


@pytest.mark.parametrize("text", ["The patient is a 45 year-old man.", "HPI: Pt is a 62 yo M with CHF.",
                                  "Labs today is a 3 year trend."])
def test_no_name_before_an_age_without_one(names: NameRecognizer, text: str) -> None:
    assert found(names, text) == []
