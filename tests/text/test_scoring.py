"""The draft scorecard: every catalogued text metric, counts that a policy can forbid, readability only
where the task has a target grade."""

from __future__ import annotations

import drafting_notes as notes

from hygeia.evaluate.catalog import TEXT_METRIC_NAMES
from hygeia.governance.gate import Gate
from hygeia.governance.artifact import Artifact
from hygeia.governance.policy import load_policy
from hygeia.privacy import deidentify
from hygeia.text.drafting import draft
from hygeia.text.grounding import check_grounding
from hygeia.text.scoring import score_draft


def scored(task: str, note: str, **options):
    source = deidentify(note, key="test")
    made = draft(task, source, "extractive", **options)
    return made, score_draft(made, check_grounding(source.text, made.text))


def test_every_text_metric_in_catalogue_order():
    _made, card = scored("discharge-summary", notes.PNEUMONIA)
    assert [m.name for m in card] == list(TEXT_METRIC_NAMES)
    assert not card.get("readability.grade").applicable  # a discharge summary has no target grade


def test_counts_follow_the_flags_and_the_gate_reads_them():
    made, card = scored("discharge-summary", notes.PNEUMONIA_UNSAFE)
    conflicts = [f.item for f in made.flags if f.kind == "allergy_conflict"]
    assert card.value("safety.allergy_conflicts") == len(conflicts) >= 1
    verdict = Gate(load_policy("clinical-text")).check(Artifact("clin-x", "clinical_text", {}), card)
    assert not verdict.passed and any(r.startswith("safety.allergy_conflicts") for r in verdict.reasons)
    assert any("readability" in n for n in verdict.notes)  # not applicable: noted, never a failure


def test_reading_grade_is_measured_against_the_target():
    made, card = scored("patient-education", notes.PNEUMONIA, target_grade=4)
    grade = card.get("readability.grade")
    assert grade.applicable and grade.reference == 4
    assert card.value("readability.grade_over_target") == grade.value - 4
