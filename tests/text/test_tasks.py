"""Drafting tasks: sections per task, extractive output drawn only from the source (on our notes, Synthea notes
and MTS-Dialog conversations), and the measured reading grade of the patient-education sheet."""

from __future__ import annotations

import base64
import csv
import gzip
import json
import math
import re
from pathlib import Path

import pytest

from hygeia.errors import TextError
from hygeia.text.backends.openai import OpenAIBackend
from hygeia.text.drafting import draft
from hygeia.text.prompts import available, load_template
from hygeia.text.tasks import TASKS, body_text, get_task, reading_grade



import drafting_notes as notes  # noqa: E402
import chat_server  # noqa: E402  (tests/conftest.py puts tests/text on sys.path)
DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
DISCHARGE_SECTIONS = ["Reason for admission", "Hospital course", "Discharge medications", "Follow-up"]


SECTION_NAMES = {s[0] for name in available() for s in load_template(name).sections}


def sections_of(text: str) -> dict[str, list[str]]:
    """``{heading: [body lines]}`` of a drafted text (a heading is a template's section name and a colon)."""
    out: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        if line.strip()[:-1] in SECTION_NAMES and line.strip().endswith(":"):
            current = line.strip()[:-1]
            out[current] = []
        elif line.strip() and current is not None:
            out[current].append(line.strip())
    return out


def norm(text: str) -> str:
    return " ".join(text.split())


def assert_extractive(text: str, source: str) -> None:
    flat = norm(source)
    for heading, lines in sections_of(text).items():
        for line in lines:
            assert norm(line) in flat, f"{heading}: {line!r} is not a source sentence"


# -- the task table ------------------------------------------------------------------------------------------
def test_tasks_and_their_templates():
    assert list(TASKS) == ["discharge-summary", "note-summary", "patient-education"]
    for task in TASKS.values():
        assert task.template in available()
    assert [s[0] for s in load_template("discharge_summary").sections] == DISCHARGE_SECTIONS
    assert get_task("Discharge_Summary") is TASKS["discharge-summary"]
    with pytest.raises(TextError, match="unknown drafting task 'referral'; choose one of: discharge-summary"):
        get_task("referral")


# -- discharge summary ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["PNEUMONIA", "HEART_FAILURE", "ELECTROLYTES"])
def test_discharge_summary_has_the_four_sections_from_source_sentences(name):
    source = getattr(notes, name)
    result = draft("discharge-summary", source)
    assert list(sections_of(result.text)) == DISCHARGE_SECTIONS
    assert_extractive(result.text, source)


def test_discharge_summary_puts_each_part_of_the_note_in_its_section():
    parts = sections_of(draft("discharge-summary", notes.PNEUMONIA).text)
    assert any("community-acquired pneumonia" in line for line in parts["Reason for admission"])
    assert any("ceftriaxone and azithromycin" in line for line in parts["Hospital course"])
    assert parts["Discharge medications"] == [
        "Doxycycline 100 mg by mouth twice daily for 5 more days.", "Metoprolol tartrate 25 mg by mouth twice daily.",
        "Atorvastatin 40 mg by mouth at bedtime.", "Lisinopril 10 mg by mouth daily."]
    assert "Recheck potassium at that visit." in parts["Follow-up"]
    hf = sections_of(draft("discharge-summary", notes.HEART_FAILURE).text)  # Markdown headings
    assert any("Sacubitril/valsartan" in line for line in hf["Discharge medications"])
    assert hf["Reason for admission"][0] == "Shortness of breath and leg swelling for one week."


def _synthea_notes(count: int) -> list[str]:
    path = DATA / "synthea-bulk-10" / "DocumentReference.000.ndjson.gz"
    if not path.exists():
        pytest.skip(f"{path} not present (see ../shared/data/README.md)")
    texts = []
    with gzip.open(path, "rt") as fh:
        for line in fh:
            for content in json.loads(line).get("content", []):
                if "data" in content["attachment"]:
                    texts.append(base64.b64decode(content["attachment"]["data"]).decode())
    return texts[:: max(1, len(texts) // count)][:count]


def test_synthea_notes_discharge_summaries_are_extractive_and_find_the_medication_list():
    with_meds = 0
    for note in _synthea_notes(30):
        parts = sections_of(draft("discharge-summary", note).text)
        assert list(parts) == DISCHARGE_SECTIONS
        assert_extractive("\n".join(f"{k}:\n" + "\n".join(v) for k, v in parts.items()), note)
        listed = re.search(r"# Medications\n(.+)", note)
        if listed and "No Active" not in listed.group(1):
            with_meds += 1
            assert parts["Discharge medications"], "the note's # Medications section was not used"
            assert norm(parts["Discharge medications"][0]) in norm(listed.group(1))
    assert with_meds >= 5


# -- note / conversation summary -----------------------------------------------------------------------------
def test_conversation_summary_keeps_the_statements_not_the_questions():
    text = draft("note-summary", notes.CONVERSATION).text
    lines = sections_of(text)["Summary"]
    assert 1 <= len(lines) <= 5 and not any(line.endswith("?") for line in lines)
    assert any("omeprazole 20 mg" in line for line in lines)
    assert_extractive(text, notes.CONVERSATION)


def test_mts_dialog_conversations_are_summarised_from_their_own_sentences():
    path = DATA / "mts-dialog" / "MTS-Dialog-ValidationSet.csv"
    if not path.exists():
        pytest.skip(f"{path} not present (see ../shared/data/README.md)")
    with open(path, newline="", encoding="utf-8") as fh:
        dialogues = [row["dialogue"] for row in csv.DictReader(fh)][:40]
    for dialogue in dialogues:
        text = draft("note-summary", dialogue).text
        assert sections_of(text)["Summary"], dialogue[:80]
        assert_extractive(text, dialogue)
        assert not re.search(r"^(Doctor|Patient):", text, re.MULTILINE)  # speaker tags are not content


# -- patient education and its reading grade ----------------------------------------------------------------
def test_reading_grade_ranks_plain_language_below_clinical_prose():
    plain = "You had a chest infection. We gave you medicine. Take one pill two times a day. Call us if you feel worse."
    dense = ("The patient was hospitalised with community-acquired pneumonia complicated by hypokalaemia requiring "
             "intravenous repletion and was transitioned to oral doxycycline prior to discharge.")
    assert reading_grade(plain) < 4
    assert reading_grade(dense) > 12
    assert math.isnan(reading_grade("What happened:\n"))


def test_headings_do_not_count_toward_the_grade():
    assert body_text("What happened:\nYou had an infection.\n\n# Your medicines\nTake it daily.") == \
        "You had an infection.\nTake it daily."
    assert reading_grade("What to do at home:\nRest.") == reading_grade("Rest.")


def test_education_sheet_reports_its_measured_grade_for_the_gate():
    plain = ("What happened:\nYou had a lung infection.\n\n"
             "Your medicines:\nTake doxycycline 100 mg two times a day.\n\n"
             "When to get help:\nCall us if you have a fever.")
    dense = ("What happened:\nYou were hospitalised with community-acquired pneumonia complicated by hypokalaemia "
             "requiring intravenous electrolyte repletion and subsequent antimicrobial de-escalation.")
    with chat_server.ChatServer(reply=plain) as server:
        backend = OpenAIBackend(server.base_url, model="m", backoff=0.0)
        good = draft("patient-education", notes.PNEUMONIA, backend, target_grade=6)
        server.reply = dense
        bad = draft("patient-education", notes.PNEUMONIA, backend, target_grade=6)
        sent = server.requests[0].body["messages"]
    assert good.metrics["target_grade"] == 6.0 and good.metrics["reading_grade"] == round(reading_grade(plain), 2)
    assert good.metrics["reading_grade"] <= 6 < bad.metrics["reading_grade"]
    assert "grade 6" in sent[0]["content"] and "grade 6" in sent[1]["content"]


def test_education_target_grade_is_validated():
    with pytest.raises(TextError, match="target_grade must be a school grade between 1 and 16"):
        draft("patient-education", notes.PNEUMONIA, target_grade=40)
    with pytest.raises(TextError, match="task 'discharge-summary' takes no option 'target_grade'"):
        draft("discharge-summary", notes.PNEUMONIA, target_grade=6)
