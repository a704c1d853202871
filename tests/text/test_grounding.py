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


# ------------------------------------------------------------------- each rule: paraphrase passes, error caught
def _one(source: str, draft: str):
    [sentence] = check_grounding(source, draft).sentences
    return sentence


def test_nearest_evidence_decides_polarity_over_a_stray_mention():
    # "Smoking is gross." mentions smoking without the patient doing it; the answered question is nearer.
    source = "Doctor: Do you smoke?\nPatient: No, I don't. Smoking is gross.\nDoctor: Any alcohol?\nPatient: Rarely."
    assert _one(source, "She does not smoke.").supported
    bad = _one(source, "She does smoke.")
    assert not bad.supported and any(r.startswith("negation flipped: source denies") for r in bad.reasons)


def test_one_flipped_term_among_many_agreeing_is_caught():
    source = ("Doctor: Any fever or chills?\nPatient: No.\nDoctor: Any nausea or vomiting?\nPatient: No.\n"
              "Doctor: Any burning with urination?\nPatient: No, none.")
    assert _one(source, "Denies fever, chills, nausea, vomiting or dysuria.").supported
    bad = _one(source, "Denies fever, chills, nausea or vomiting, reports dysuria.")
    assert not bad.supported and any("dysuria" in r for r in bad.reasons)


def test_sentences_that_state_nothing_are_not_flagged():
    source = "Doctor: How is your knee?\nPatient: The right knee hurts when I climb stairs."
    assert _one(source, "Noncontributory.").supported
    assert _one(source, "Otherwise negative.").supported
    invented = _one(source, "She has a history of breast cancer treated with chemotherapy.")
    assert not invented.supported


def test_one_word_negations_are_read_as_negations():
    source = "Doctor: Any fever?\nPatient: No.\nDoctor: Do you smoke?\nPatient: No, never."
    assert _one(source, "Afebrile.").supported
    assert _one(source, "The patient is a nonsmoker.").supported
    bad = _one(source, "Febrile.")
    assert not bad.supported and any(r.startswith("negation flipped") for r in bad.reasons)

def test_a_lone_one_is_an_article_but_other_counts_are_checked():
    source = "Doctor: Any family history?\nPatient: My brother died of a heart attack at seventy two."
    assert _one(source, "One brother died of a heart attack at age 72.").supported
    bad = _one(source, "Two brothers died of a heart attack at age 72.")
    assert not bad.supported and any(r.startswith("number 2") for r in bad.reasons)


def test_evidence_of_a_question_shows_its_answer():
    source = "Doctor: Any chest pain?\nPatient: No.\nDoctor: Any cough?\nPatient: Yes, a dry cough."
    sentence = _one(source, "Denies chest pain.")
    assert sentence.supported
    assert "chest pain" in sentence.evidence[0].text and "No." in sentence.evidence[0].text
    assert not _one(source, "Reports chest pain.").supported

def test_a_body_site_is_not_a_flipped_negation():
    source = "Doctor: I do not see any deformity in the head or neck.\nPatient: Good."
    assert _one(source, "The head and neck showed no deformity.").supported
    bad = _one(source, "The head and neck showed deformity.")
    assert not bad.supported and any("deformity" in r for r in bad.reasons)

def test_a_no_to_any_other_leaves_the_named_complaint():
    source = ("Doctor: What brings you in?\nPatient: My left ankle pain is really bad since the fall.\n"
              "Doctor: Any other pain from the fall?\nPatient: No.")
    assert _one(source, "Presents with left ankle pain after a fall.").supported
    bad = _one(source, "Denies left ankle pain.")
    assert not bad.supported and any(r.startswith("negation flipped") for r in bad.reasons)

def test_a_what_about_question_takes_its_answer():
    source = "Doctor: What about surgeries.\nPatient: No, never.\nDoctor: Allergies?\nPatient: Penicillin."
    assert _one(source, "No prior surgeries.").supported
    bad = _one(source, "Prior surgeries.")
    assert not bad.supported and any(r.startswith("negation flipped") for r in bad.reasons)

def test_decades_are_checked_like_numbers():
    source = "Doctor: How did your father die?\nPatient: He passed away in his eighties, of a stroke."
    assert _one(source, "Father died of a stroke in his 80s.").supported
    bad = _one(source, "Father died of a stroke in his 70s.")
    assert not bad.supported and any(r.startswith("number 70") for r in bad.reasons)

def test_a_short_sentence_finds_its_sentence_in_a_long_turn():
    source = ("Doctor: Tell me about your home life.\nPatient: I work as a teacher at the middle school. "
              "I am married. My husband and I live downtown with our dog. We walk every evening.")
    sentence = _one(source, "She is married.")
    assert sentence.supported
    best = sentence.evidence[0]
    assert source[best.start: best.end] == best.text and "married" in best.text and "teacher" not in best.text


def test_section_headings_are_structure_not_claims():
    source = "Doctor: What brings you in?\nPatient: I have a cough and fever. They said it is pneumonia."
    draft = "Reason for admission:\nHe has pneumonia.\n## Discharge medications\nHospital course:"
    report = check_grounding(source, draft)
    assert [s.text for s in report.sentences] == ["He has pneumonia."]
    assert report.passed and report.supported_share == 1.0
    # A line with a number is a claim even when it ends like a heading, and is still checked.
    assert not _one(source, "Temperature 39 degrees:").supported


def test_evidence_is_the_tightest_supporting_sentence():
    source = ("Doctor: How are things at home?\nPatient: I work as a teacher at the middle school. I am married. "
              "My husband and I live downtown with our dog. We walk every evening.\nDoctor: Any chest pain?\n"
              "Patient: No.\nDoctor: Do you smoke?\nPatient: Yes, about a pack a day for ten years, since college.")
    report = check_grounding(source, "She is married. Denies chest pain. She smokes a pack a day.")
    for sentence in report.sentences:
        assert sentence.supported, sentence.reasons
        for ev in sentence.evidence:
            assert source[ev.start: ev.end] == ev.text and len(ev.text) <= 300
            assert ev.text.count("\n") <= 1  # at most a question and its answer, never a window of turns
    married, chest, smoke = (s.evidence[0].text for s in report.sentences)
    assert married == "I am married."
    assert "chest pain" in chest and "No." in chest and "smoke" not in chest
    assert "pack a day" in smoke and "married" not in smoke


def test_each_side_is_tied_to_its_body_part():
    source = ("Doctor: Where does it hurt?\nPatient: My left knee is swollen and painful, and my right shoulder aches "
              "a bit.\nDoctor: Okay.")
    assert _one(source, "Left knee swelling and pain; right shoulder aches.").supported
    assert _one(source, "She has left knee swelling and pain.").supported
    # The source names both sides, so only tying each side to its part shows these are wrong.
    assert not _one(source, "She has right knee swelling and pain.").supported
    assert not _one(source, "Right knee swelling and pain; left shoulder aches.").supported

def test_polarity_is_judged_by_the_nearest_clause_of_a_turn():
    # The turn says "fever" both ways; its sentence nearest the drafted one decides.
    source = "Doctor: How is the fever?\nPatient: The fever is gone now. I had a high fever on Monday.\nDoctor: Okay."
    assert _one(source, "She had a high fever on Monday.").supported
    assert _one(source, "Her fever is gone now.").supported
    bad = _one(source, "She had no fever on Monday.")
    assert not bad.supported and any(r.startswith("negation flipped") for r in bad.reasons)


def test_a_section_label_before_a_claim_is_not_part_of_the_claim():
    source = "Doctor: Are you working right now?\nPatient: No, I am on sick leave since my surgery."
    assert _one(source, "Work status: on sick leave.").supported
    assert not _one(source, "Work status: not on sick leave.").supported



# Each case: a source, a supported paraphrase that must pass, and a corrupted version that must be flagged with
# a reason starting as given.
PAIRS = {
    "month_year_dates_are_dates_not_numbers": (
        "Doctor: When was the surgery?\nPatient: In July two thousand six, and again in August two thousand seven.",
        "Surgeries in 07/06 and 08/07.",
        "Surgeries in 07/06 and 09/07.", "date 09/07"),
    "negative_for_each_finding_in_a_review_of_systems": (
        "Doctor: Any ringing in the ears?\nPatient: No.\nDoctor: Any vertigo?\nPatient: No, never.",
        "EARS: Negative tinnitus, negative vertigo.",
        "EARS: Vertigo.", "negation flipped"),
    "a_question_ending_in_a_period_takes_its_answer": (
        "Doctor: Have you had any bladder dysfunction.\nPatient: No.\nDoctor: Okay.\nPatient: Thanks.",
        "No bladder dysfunction.",
        "Bladder dysfunction.", "negation flipped"),
    "a_no_to_do_you_need_does_not_deny_the_complaint": (
        "Doctor: How are you?\nPatient: I have a bad cough and a sore throat.\n"
        "Doctor: Do you need anything for the cough?\nPatient: No, I'm fine.",
        "She has a cough and a sore throat.",
        "She denies cough.", "negation flipped"),
    "lexicon_maps_lay_words_to_clinical_terms": (
        "Doctor: Do you have any eye problems?\nPatient: None.\nDoctor: Siblings?\nPatient: I have no siblings.",
        "No ophthalmologic problems.",
        "Prior ophthalmologic problems.", "negation flipped"),
    "a_digit_one_is_checked": (
        "Doctor: Do you have children?\nPatient: Yes, we have two kids, both grown.",
        "She has 2 children.",
        "She has 1 child.", "number 1"),
    "a_sentence_naming_both_sides_mirrored_whole_is_caught": (
        "Doctor: Which foot?\nPatient: The bunion is on my left foot, and the second toe on my right foot hurts too.",
        "Bunion deformity on the left foot and pain in the second toe of the right foot.",
        "Bunion deformity on the right foot and pain in the second toe of the left foot.", "laterality"),
}


@pytest.mark.parametrize("source, good, bad, reason", PAIRS.values(), ids=PAIRS.keys())
def test_supported_paraphrase_passes_and_corruption_is_flagged(source, good, bad, reason):
    assert _one(source, good).supported
    flagged = _one(source, bad)
    assert not flagged.supported and any(r.startswith(reason) for r in flagged.reasons), flagged.reasons
