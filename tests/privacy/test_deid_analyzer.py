"""The whole detector (Presidio + spaCy + Hygeia's recognizers) on realistic notes, and what it must keep."""

from __future__ import annotations

import pytest

from hygeia.privacy import detect_phi
from hygeia.privacy.deid import detect_phi_batch
from hygeia.privacy.deid.analyzer import SPACY_MODEL, UNUSED_PIPES, analyzer
from hygeia.privacy.phi import PhiCategory as C

# ALL-CAPS nursing notes and lower-case messages: the names a de-identifier must not leak
CAPS_NOTES = [
    ("PT SEEN BY DR KOWALSKI THIS AM. WIFE MARY AT BEDSIDE, AWARE OF PLAN.", ["KOWALSKI", "MARY"]),
    ("SPOKE WITH DAUGHTER ROSALIND OKAFOR RE: DISCHARGE. DR NGUYEN AWARE.", ["ROSALIND", "OKAFOR", "NGUYEN"]),
    ("daughter mary kowalski called, spoke with dr ferreira about her mother.", ["mary", "kowalski", "ferreira"]),
]


def leaked(detector, notes) -> list[str]:
    """Gold names that the detector's spans do not cover."""
    out = []
    for text, names in notes:
        spans = detector(text)
        for name in names:
            start = text.index(name)
            if not any(s <= start and start + len(name) <= e for s, e in spans):
                out.append(name)
    return out


def ours(text: str) -> list[tuple[int, int]]:
    return [(s.start, s.end) for s in detect_phi(text)]


@pytest.fixture(scope="module")
def stock():
    """Presidio's stock analyzer on the same spaCy model, without Hygeia's clinical recognizers."""
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import SpacyNlpEngine

    engine = AnalyzerEngine(nlp_engine=SpacyNlpEngine(models=[{"lang_code": "en", "model_name": SPACY_MODEL}]))
    return lambda text: [(r.start, r.end) for r in engine.analyze(text, "en", entities=["PERSON"])]


def test_stock_presidio_leaks_caps_and_lowercase_names_that_ours_finds(stock) -> None:
    assert leaked(stock, CAPS_NOTES), "the stock analyzer should miss some ALL-CAPS / lower-case names"
    assert leaked(ours, CAPS_NOTES) == []


def test_engine_runs_only_the_ner_pipe() -> None:
    nlp = analyzer().nlp_engine.get_nlp("en")
    assert nlp.pipe_names == ["ner"] and not set(UNUSED_PIPES) & set(nlp.pipe_names)


NOTE = """DISCHARGE SUMMARY
Patient: Rosalind Okafor    MRN: 4417203    Acct# A99812
Admitted 8/14/2089, discharged August 19th, 2089. Ms. Okafor is a 92 yo woman from Worcester, MA 01604,
followed by Dr. Ferreira at Mercy Medical Center (phone 508-555-0199, fax 508-555-0100).
Address: 12 Elm Street, Apt 4. Email rokafor@example.com; portal www.mercyportal.org.
Her son Tomasz called on 14-Aug. SSN 123-45-6789. Pacemaker serial PJN443812.
"""


def test_every_category_in_a_discharge_summary() -> None:
    spans = detect_phi(NOTE)
    got = {(NOTE[s.start:s.end], s.category) for s in spans}
    for expected in [("Rosalind Okafor", C.NAME), ("4417203", C.MRN), ("A99812", C.ACCOUNT), ("8/14/2089", C.DATE),
                     ("August 19th, 2089", C.DATE), ("Okafor", C.NAME), ("92", C.AGE), ("Worcester", C.CITY),
                     ("01604", C.ZIP), ("Ferreira", C.NAME), ("Mercy Medical Center", C.HOSPITAL),
                     ("508-555-0199", C.PHONE), ("508-555-0100", C.FAX), ("12 Elm Street, Apt 4", C.STREET),
                     ("rokafor@example.com", C.EMAIL), ("www.mercyportal.org", C.URL), ("Tomasz", C.NAME),
                     ("14-Aug", C.DATE), ("123-45-6789", C.SSN), ("PJN443812", C.DEVICE)]:
        assert expected in got, expected


HARD_NEGATIVES = """Hx of Parkinson's disease, Crohn disease and Hodgkin lymphoma. Foley catheter removed.
Babinski negative, Glasgow Coma Scale 15. GI, CV, BP, ABG reviewed; PRN and QID meds.
Metoprolol 25 mg BID, lasix 40 mg. Strength 5/5 throughout, pain 3/10, BP 120/80.
She felt better yesterday. Smoker since 1998. A 45 yo woman; her mother died at 89.
WBC 12.3, platelets 250000 cells, Na 138."""


def test_hard_negatives_are_kept() -> None:
    assert [(HARD_NEGATIVES[s.start:s.end], s.category.value) for s in detect_phi(HARD_NEGATIVES)] == []


def test_batch_equals_single_and_empty_text_has_no_spans() -> None:
    texts = [NOTE, "", "   ", CAPS_NOTES[0][0]]
    batch = detect_phi_batch(texts)
    assert batch[1] == [] and batch[2] == []
    assert batch[0] == detect_phi(NOTE) and batch[3] == detect_phi(CAPS_NOTES[0][0])


def test_ner_reads_only_windows_and_maps_entities_back() -> None:
    from hygeia.privacy.deid.analyzer import CompactText, Entity, ner_windows

    note = "PT SEEN BY DR KOWALSKI. WIFE AT BEDSIDE.\nTransferred from Quillfeather Infirmary today.\nBP 120/80."
    windows = ner_windows(note)
    assert windows and all(a >= note.index("\n") for a, _ in windows)  # the ALL-CAPS line is left to the rules
    compact = CompactText.of(note)
    assert len(compact.text) < len(note)
    start = compact.text.index("Quillfeather")
    back = compact.to_note([Entity(start, start + len("Quillfeather"), "ORG")])
    assert [note[e.start_char:e.end_char] for e in back] == ["Quillfeather"]


def test_ner_skips_labels_abbreviations_and_titles() -> None:
    from hygeia.privacy.deid.analyzer import ner_windows

    assert ner_windows("TECHNIQUE: images obtained. RV and LV normal. Dr and MD present. Seen on Aug 3.") == []


def test_caseless_twin_gives_the_same_matches() -> None:
    import re

    from hygeia.privacy.deid import caseless

    pattern = re.compile(r"\b(?:mrn|acct)\s*[:#]?\s*(?P<phi>[A-Z0-9]{4,})", re.IGNORECASE)
    text = "MRN: AB1234, acct# x9912, Mrn 7781"
    assert [m.span("phi") for m in caseless.finditer(pattern, text)] == [m.span("phi") for m in pattern.finditer(text)]
    assert caseless.lowered_twin(re.compile(r"(?-i:AB)c", re.IGNORECASE)) is None  # a case-sensitive part: no twin


@pytest.mark.parametrize("text", [
    "## Allergies\nSulfa drugs (rash).\n",
    "History of present illness: fever to 39.2 C, cough with green sputum.",
    "Vitamin D 25 nmol/L. Hep B surface antibody positive.",
])
def test_clinical_content_that_reads_like_names_or_places_is_kept(text: str) -> None:
    # Each of these was once replaced: an allergy turned into a place, a temperature unit into an initial.
    assert [text[s.start:s.end] for s in detect_phi(text)] == []
