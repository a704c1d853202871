"""Safety flags: each one found on a realistic note that has the problem, and NOT raised on a clean one."""

from __future__ import annotations

import base64
import gzip
import json
import re
from pathlib import Path

import pytest

from hygeia.text.flags import (
    abnormal_without_follow_up,
    allergy_classes,
    allergy_conflicts,
    check_flags,
    listed_allergies,
    missing_medications,
    source_medications,
)



import drafting_notes as notes  # noqa: E402
SYNTHEA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "synthea-bulk-10" / \
    "DocumentReference.000.ndjson.gz"


def kinds(flags):
    return sorted((f.kind, f.item) for f in flags)


# -- clean notes raise nothing ------------------------------------------------------------------------------
def test_a_complete_summary_of_a_clean_note_raises_no_flag():
    # Sulfa allergy with furosemide (a non-antibiotic sulfonamide) and amoxicillin is no conflict.
    assert check_flags(notes.HEART_FAILURE, notes.HEART_FAILURE_SUMMARY) == []


def test_a_draft_that_carries_everything_over_raises_no_flag():
    assert check_flags(notes.PNEUMONIA, notes.PNEUMONIA) == []
    assert check_flags(notes.ELECTROLYTES, notes.ELECTROLYTES) == []


# -- missing medications ------------------------------------------------------------------------------------
def test_a_dropped_medication_is_flagged_and_only_that_one():
    draft = notes.HEART_FAILURE_SUMMARY.replace("spironolactone 25 mg daily, ", "")
    draft = draft.replace(" Spironolactone started.", "")
    flags = missing_medications(notes.HEART_FAILURE, draft)
    assert kinds(flags) == [("missing_medication", "spironolactone")]
    assert "spironolactone" in flags[0].evidence.lower()  # the source sentence that names it


def test_a_brand_name_in_the_draft_counts_as_the_drug():
    draft = notes.HEART_FAILURE_SUMMARY.replace("sacubitril/valsartan", "Entresto").replace("Furosemide", "Lasix")
    assert missing_medications(notes.HEART_FAILURE, draft) == []


def test_a_drug_not_in_the_lexicon_is_found_by_its_dose_in_a_medication_list():
    source = "Discharge medications:\nZorvatide 5 mg by mouth daily.\nMetformin 500 mg twice daily."
    assert set(source_medications(source)) == {"zorvatide", "metformin"}
    assert kinds(missing_medications(source, "Continue metformin.")) == [("missing_medication", "zorvatide")]


def test_allergy_statements_are_not_medications():
    source = "Allergies: penicillin (rash), codeine.\nMedications: lisinopril 10 mg daily."
    assert set(source_medications(source)) == {"lisinopril"}


# -- abnormal results without follow-up ---------------------------------------------------------------------
def test_abnormal_results_without_follow_up_are_flagged():
    flags = abnormal_without_follow_up(notes.PNEUMONIA, "Discharged home on doxycycline. See GP in one week.")
    assert kinds(flags) == [("abnormal_without_follow_up", "nodule"), ("abnormal_without_follow_up", "potassium")]
    assert all(f.evidence for f in flags)


def test_follow_up_must_name_the_result():
    draft = "Recheck potassium at the GP visit. Repeat CT chest in 3 months for the right upper lobe nodule."
    assert abnormal_without_follow_up(notes.PNEUMONIA, draft) == []
    assert kinds(abnormal_without_follow_up(notes.PNEUMONIA, "Recheck potassium at the GP visit.")) == \
        [("abnormal_without_follow_up", "nodule")]


def test_a_result_that_returned_to_normal_needs_no_follow_up():
    # Potassium 5.9 then 4.8: resolved. Hemoglobin 9.1: still low.
    flags = abnormal_without_follow_up(notes.ELECTROLYTES, "Home with ondansetron.")
    assert kinds(flags) == [("abnormal_without_follow_up", "hemoglobin")]


@pytest.mark.parametrize(("sentence", "expected"), [
    ("Troponin was elevated at 0.09 ng/mL.", "troponin"),
    ("Labs notable for elevated lipase.", "lipase"),
    ("Ferritin 9 ng/mL (L).", "ferritin"),
    ("Sodium 128 mmol/L.", "sodium"),
    ("Glucose 412 mg/dL on arrival.", "glucose"),
    ("Her PSA level was elevated at 9.8.", "psa"),
    ("Labs showed a high ferritin level.", "ferritin"),
    ("No pleural effusion, but a 2 cm mass in the left lower lobe.", "mass"),
    ("Ultrasound showed a 2 cm cyst in the left ovary.", "cyst"),
])
def test_abnormal_result_forms(sentence, expected):
    assert kinds(abnormal_without_follow_up(sentence, "Discharged home.")) == [("abnormal_without_follow_up", expected)]


@pytest.mark.parametrize("sentence", [
    "Sodium 138 mmol/L, potassium 4.1 mmol/L, creatinine 0.9 mg/dL.",
    "CT chest showed no pulmonary nodule.",
    "Troponin was negative twice.",
    "He has low back pain and high blood pressure.",
    "Glucose 6.1 mmol/L.",  # another unit system: the mg/dL range cannot judge it
    "Potassium was 3.1 mmol/L and 4.0 mmol/L after repletion.",
    "Patient is presenting with body mass index 30+ - obesity (finding).",  # a Synthea phrasing
    "He has a history of high cholesterol and elevated triglycerides.",  # MTS-Dialog phrasings
    "Doctor: Any history of elevated PSA?",
    "Grandmother died of cerebral aneurysm.",
    "Denies unusual hair loss, skin lesions or nail changes.",
])
def test_normal_negated_or_unjudgeable_results_are_not_flagged(sentence):
    assert abnormal_without_follow_up(sentence, "Discharged home.") == []


# -- allergy conflicts --------------------------------------------------------------------------------------
def test_a_penicillin_allergy_with_augmentin_prescribed_is_critical():
    flags = allergy_conflicts(notes.PNEUMONIA_UNSAFE, "Discharged on Augmentin 875 mg twice daily.")
    assert kinds(flags) == [("allergy_conflict", "amoxicillin/clavulanate")]
    assert flags[0].severity == "critical" and "penicillins" in flags[0].message


def test_the_conflict_is_found_when_only_the_draft_prescribes_it():
    source = "Allergies: sulfa (hives).\nMedications: metformin 500 mg twice daily."
    assert kinds(allergy_conflicts(source, "Start Bactrim DS twice daily for 3 days.")) == \
        [("allergy_conflict", "sulfamethoxazole/trimethoprim")]
    assert allergy_conflicts(source, "Start nitrofurantoin 100 mg twice daily.") == []


@pytest.mark.parametrize("source", [
    "Allergies: NKDA.\nMedications: amoxicillin 500 mg three times daily.",
    "No known drug allergies. Discharged on amoxicillin 500 mg three times daily.",
    "Allergies: penicillin.\nAvoid amoxicillin; cefalexin 500 mg four times daily instead.",
    "Allergies: penicillin.\nMedications: azithromycin 250 mg daily.",
])
def test_no_conflict_without_an_allergy_or_without_a_prescription(source):
    assert allergy_conflicts(source, "") == []


def test_an_allergy_to_one_drug_covers_its_class():
    assert "penicillins" in listed_allergies("Allergic to amoxicillin (anaphylaxis).")
    assert kinds(allergy_conflicts("Allergic to amoxicillin (anaphylaxis).", "Start ampicillin 2 g IV.")) == \
        [("allergy_conflict", "ampicillin")]


def test_the_lexicon_is_well_formed():
    classes = allergy_classes()
    assert {"penicillins", "sulfonamide antibiotics", "nsaids"} <= set(classes)
    for spec in classes.values():
        assert spec["drugs"] and all(d == d.lower().strip() for d in spec["drugs"])


# -- on notes not written for these tests -------------------------------------------------------------------
def _synthea_notes(step: int) -> list[str]:
    if not SYNTHEA.exists():
        pytest.skip(f"{SYNTHEA} not present (see ../shared/data/README.md)")
    texts = []
    with gzip.open(SYNTHEA, "rt") as fh:
        for line in fh:
            for content in json.loads(line).get("content", []):
                if "data" in content["attachment"]:
                    texts.append(base64.b64decode(content["attachment"]["data"]).decode())
    return texts[::step]


def test_synthea_notes_every_listed_medication_is_flagged_when_the_draft_drops_them():
    """Synthea notes list drugs as '# Medications' items (many with no dose form we wrote rules for); a draft
    that stops before the allergies must be flagged for (nearly) every one, and a full copy for none."""
    items = hits = 0
    for note in _synthea_notes(step=25):
        section = re.search(r"# Medications\n(.*?)\n\n", note, re.DOTALL)
        listed = [i.strip() for i in section.group(1).split(";")] if section else []
        listed = [i for i in listed if i and "No Active" not in i]
        if not listed:
            continue
        assert missing_medications(note, note) == []
        flagged = {f.item for f in missing_medications(note, note.split("# Allergies")[0])}
        for item in listed:
            items += 1
            hits += any(all(part in item.lower() for part in drug.split("/")) for drug in flagged)
    assert items >= 20
    assert hits / items >= 0.9, f"only {hits}/{items} listed medications flagged"
