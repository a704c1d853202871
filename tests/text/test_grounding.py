"""The grounding check on real MTS-Dialog pairs (doctor-patient dialogue -> clinician-written summary).

The pairs are read from ../shared/data/mts-dialog (CC BY 4.0, Ben Abacha et al., EACL 2023); the MiniLM model is
loaded once per process by hygeia.text.embeddings.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from hygeia.errors import TextError
from hygeia.text.grounding import GroundingReport, check_grounding

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "mts-dialog" / "MTS-Dialog-ValidationSet.csv"


@pytest.fixture(scope="module")
def pairs() -> pd.DataFrame:
    if not DATA.is_file():
        pytest.skip(f"MTS-Dialog not found at {DATA} (the shared data folder sits beside the repository)")
    return pd.read_csv(DATA).set_index("ID")


def _changed(report: GroundingReport, needle: str):
    [sentence] = [s for s in report.sentences if needle in s.text]
    return sentence


# ------------------------------------------------------------------------------------------ untouched pass
@pytest.mark.parametrize("row", [1, 3, 28, 87])
def test_untouched_summaries_pass(pairs, row):
    dialogue, summary = pairs.dialogue[row], pairs.section_text[row]
    report = check_grounding(dialogue, summary)
    assert report.passed, report.to_dict()
    assert report.supported_share == 1.0, [s.reasons for s in report.sentences]


# ----------------------------------------------------------------------------------------- injected errors
def test_changed_number_is_caught(pairs):
    dialogue, summary = pairs.dialogue[0], pairs.section_text[0]
    bad = summary.replace("26-year-old", "36-year-old")
    sentence = _changed(check_grounding(dialogue, bad), "36-year-old")
    assert not sentence.supported and sentence.critical
    assert any("36" in r and "not in source" in r for r in sentence.reasons)


def test_changed_date_is_caught(pairs):
    dialogue, summary = pairs.dialogue[0], pairs.section_text[0]
    report = check_grounding(dialogue, summary.replace("02/10/09", "02/17/09"))
    assert not _changed(report, "02/17/09").supported
    assert not report.passed


def test_swapped_drug_is_caught(pairs):
    report = check_grounding(pairs.dialogue[3], "Warfarin.")
    [sentence] = report.sentences
    assert sentence.critical and not report.passed
    assert sentence.reasons[0] == "drug Warfarin not in source"


def test_brand_in_source_backs_its_generic_in_draft(pairs):
    report = check_grounding(pairs.dialogue[3], "Isotretinoin.")  # the dialogue says Accutane
    assert report.passed


@pytest.mark.parametrize(("row", "old", "new"), [
    (1, "No wheezing or shortness of breath.", "Wheezing or shortness of breath."),
    (1, "Notes itchy rash", "Denies itchy rash"),
])
def test_flipped_negation_is_caught(pairs, row, old, new):
    report = check_grounding(pairs.dialogue[row], pairs.section_text[row].replace(old, new))
    sentence = _changed(report, new)
    assert not sentence.supported and sentence.critical
    assert any(r.startswith("negation flipped") for r in sentence.reasons)


@pytest.mark.parametrize("row", [28, 87])
def test_switched_side_is_caught(pairs, row):
    bad = pairs.section_text[row].replace("left", "right")
    sentence = _changed(check_grounding(pairs.dialogue[row], bad), "right")
    assert not sentence.supported and sentence.critical
    assert any(r.startswith("laterality") for r in sentence.reasons)


def test_invented_sentence_has_no_support(pairs):
    invented = "She was admitted last year for a kidney stone and has chronic atrial fibrillation."
    report = check_grounding(pairs.dialogue[1], pairs.section_text[1] + " " + invented)
    sentence = _changed(report, "kidney stone")
    assert not sentence.supported
    assert any(r.startswith("no supporting sentence") for r in sentence.reasons)
    assert all(s.supported for s in report.sentences if s is not sentence)


# ------------------------------------------------------------------------------------------------ evidence
def test_evidence_offsets_point_at_the_supporting_turns(pairs):
    dialogue = pairs.dialogue[1]
    report = check_grounding(dialogue, "No wheezing or shortness of breath.")
    best = report.sentences[0].evidence[0]
    assert dialogue[best.start: best.end] == best.text
    assert "wheezing" in best.text and "No." in best.text  # the question and the patient's "No."
    assert 0.0 < best.similarity <= 1.0


def test_draft_spans_and_report_serialise(pairs):
    draft = pairs.section_text[1]
    report = check_grounding(pairs.dialogue[1], draft)
    assert all(draft[s.start: s.end] == s.text for s in report.sentences)
    data = json.loads(json.dumps(report.to_dict()))
    assert data["passed"] is True and len(data["sentences"]) == len(report.sentences)


def test_prose_source_works_too():
    note = "Patient has hypertension. Takes lisinopril 10 mg daily. No chest pain. Right knee pain for 2 weeks."
    assert check_grounding(note, "On lisinopril 10 mg daily for hypertension.").passed
    assert not check_grounding(note, "On lisinopril 20 mg daily for hypertension.").passed
    assert not check_grounding(note, "Left knee pain for 2 weeks.").passed
    assert not check_grounding(note, "Reports chest pain.").passed


# --------------------------------------------------------------------------------------------- bad input
def test_bad_input_raises_text_error():
    with pytest.raises(TextError, match="as text"):
        check_grounding(None, "No fever.")  # type: ignore[arg-type]
    with pytest.raises(TextError, match="source text is empty"):
        check_grounding("   ", "No fever.")


def test_empty_draft_passes_with_nothing_to_check():
    report = check_grounding("Doctor: Any fever? Patient: No.", "")
    assert report.sentences == () and report.passed and report.supported_share == 1.0
