"""The clinical-text gateway end to end: de-identify, draft, ground, gate, review (approve / edit / reject), release,
with the ledger and the store free of PHI and an external model that only ever sees surrogates."""

from __future__ import annotations

import json
from pathlib import Path

import chat_server
import drafting_notes as notes
import pytest

from hygeia.errors import ReleaseError, ReviewError, TextError
from hygeia.governance.clinical_text import (DRAFT, EDITED, SEALED, SOURCE, draft_candidate, edit_draft, read_note,
                                             record_reidentified_view, text_view)
from hygeia.governance.ledger import Ledger
from hygeia.governance.release import release_artifact
from hygeia.governance.review import ReviewQueue
from hygeia.store import Store

#: Identifiers written into the PNEUMONIA note: none may reach the store, the ledger or a model.
PHI = ("Harold", "Vance", "4471902", "Lena Ortiz", "Amy Chen", "03/02/2024", "03/06/2024")


@pytest.fixture
def store(hygeia_env, store_url) -> Store:
    return Store(store_url)


@pytest.fixture(scope="module")
def server():
    with chat_server.ChatServer() as srv:
        yield srv


def hosted(server, reply: str) -> dict:
    """The local server standing in for a hosted model (external=True), answering ``reply``."""
    server.reset()
    server.reply = reply
    return {"base_url": server.base_url, "model": "hosted-model", "external": True, "backoff": 0.0}


def stored_text(store: Store, folder: Path) -> str:
    """Everything Hygeia wrote outside the sealed map: ledger bodies, artifact records, reviews, candidate files."""
    records = [json.dumps(a.record) for a in store.list_artifacts()]
    reviews = [r.diff + r.comment for a in store.list_artifacts() for r in store.reviews_for(a.id)]
    files = [p.read_text(encoding="utf-8") for p in folder.rglob("*") if p.is_file() and p.suffix in (".txt", ".json", ".html")]
    return "\n".join([*(e.body for e in Ledger(store).entries()), *records, *reviews, *files])


def test_extractive_draft_passes_and_keeps_no_phi(store, tmp_path):
    result = draft_candidate(notes.PNEUMONIA, "discharge-summary", out_dir=tmp_path / "cand", store=store,
                             source="pneumonia.txt", patient="p1")
    assert result.verdict.passed, result.verdict.reasons
    assert result.grounding.critical_count == 0 and result.phi_counts["NAME"] >= 3
    folder = tmp_path / "cand"
    assert {SOURCE, DRAFT, SEALED, "grounding.json", "flags.json", "scorecard.json", "report.html",
            "CANDIDATE.json"} <= {p.name for p in folder.iterdir()}
    everything = stored_text(store, folder)
    assert not [value for value in PHI if value in everything]
    events = [e.event for e in Ledger(store).entries(result.artifact_id)]
    assert events == ["deidentify", "draft", "grounding", "evaluate", "gate"]
    deid = Ledger(store).entries(result.artifact_id)[0].content["payload"]
    assert deid["categories"] == result.phi_counts and deid["identifiers"] == sum(result.phi_counts.values())
    draft_event = Ledger(store).entries(result.artifact_id)[1].content["payload"]
    assert draft_event["backend"] == "extractive" and draft_event["template"] == "discharge_summary"
    assert draft_event["template_version"] == 1 and len(draft_event["template_sha256"]) == 64
    assert Ledger(store).verify().ok


def test_reviewer_view_maps_surrogates_back_and_is_audited(store, tmp_path):
    result = draft_candidate(notes.PNEUMONIA, "discharge-summary", out_dir=tmp_path / "cand", store=store)
    artifact = store.get_artifact(result.artifact_id)
    plain = text_view(artifact)
    assert "Harold Vance" not in plain["source"]
    shown = text_view(artifact, reidentify=True)
    assert "Harold Vance" in shown["source"] and "4471902" in shown["source"]
    with pytest.raises(ReviewError, match="--reviewer"):
        record_reidentified_view(store, artifact.id, " ")
    record_reidentified_view(store, artifact.id, "dr.lee")
    assert Ledger(store).entries(artifact.id)[-1].event == "reidentified_view"


def test_hosted_model_sees_only_surrogates_and_a_changed_dose_is_blocked(store, tmp_path, server):
    # The hosted model answers with a dose the source never gives (doxycycline 200 mg, not 100 mg).
    reply = ("Reason for admission:\nCommunity-acquired pneumonia.\n\nDischarge medications:\n"
             "Doxycycline 200 mg by mouth twice daily for 5 more days.")
    result = draft_candidate(notes.PNEUMONIA, "discharge-summary", out_dir=tmp_path / "cand", store=store,
                             backend="openai", backend_params=hosted(server, reply))
    sent = json.dumps([r.body for r in server.requests])
    assert server.requests and not [value for value in PHI if value in sent]
    assert "pneumonia" in sent.lower()  # the note itself did go, de-identified
    assert not result.verdict.passed
    assert any("grounding.critical_unsupported" in r for r in result.verdict.reasons)
    ReviewQueue(store).decide(result.artifact_id, "approve", reviewer="dr.lee")
    with pytest.raises(ReleaseError, match="failed the gate"):
        release_artifact(store, result.artifact_id, tmp_path / "release")
    assert not (tmp_path / "release").exists()


def test_an_edit_that_fixes_the_dose_is_gated_again_and_released(store, tmp_path, server):
    reply = "Discharge medications:\nDoxycycline 200 mg by mouth twice daily for 5 more days."
    result = draft_candidate(notes.PNEUMONIA, "discharge-summary", out_dir=tmp_path / "cand", store=store,
                             backend="openai", backend_params=hosted(server, reply))
    assert not result.verdict.passed
    artifact = store.get_artifact(result.artifact_id)
    draft_text = text_view(artifact)["draft"]
    with pytest.raises(ReviewError, match="same as the draft"):
        edit_draft(store, artifact.id, draft_text, reviewer="dr.lee")
    with pytest.raises(ReviewError, match="original identifier"):
        edit_draft(store, artifact.id, draft_text.replace("200 mg", "100 mg") + "\nSeen by Dr. Lena Ortiz.",
                   reviewer="dr.lee")
    review, verdict = edit_draft(store, artifact.id, draft_text.replace("200 mg", "100 mg"), reviewer="dr.lee",
                                 comment="dose corrected to the source")
    assert verdict.passed, verdict.reasons
    assert "-Doxycycline 200 mg" in review.diff and "+Doxycycline 100 mg" in review.diff
    payload = Ledger(store).entries(artifact.id)[-1].content["payload"]
    assert payload["decision"] == "edit" and payload["edit_gate"]["passed"] and len(payload["edited_sha256"]) == 64
    folder = release_artifact(store, artifact.id, tmp_path / "release")
    assert "Doxycycline 100 mg" in (folder / "discharge-summary.txt").read_text(encoding="utf-8")
    card = json.loads((folder / "card.json").read_text(encoding="utf-8"))
    assert card["reviews"][-1]["decision"] == "edit" and card["prompt_template"]["version"] == 1


def test_a_tampered_edit_is_not_released(store, tmp_path, server):
    reply = "Discharge medications:\nDoxycycline 200 mg by mouth twice daily for 5 more days."
    result = draft_candidate(notes.PNEUMONIA, "discharge-summary", out_dir=tmp_path / "cand", store=store,
                             backend="openai", backend_params=hosted(server, reply))
    fixed = text_view(store.get_artifact(result.artifact_id))["draft"].replace("200 mg", "100 mg")
    edit_draft(store, result.artifact_id, fixed, reviewer="dr.lee")
    (tmp_path / "cand" / EDITED).write_text(fixed.replace("100 mg", "1000 mg"), encoding="utf-8")
    with pytest.raises(ReleaseError, match="changed since it was recorded"):
        release_artifact(store, result.artifact_id, tmp_path / "release")


def test_an_edit_that_adds_an_unsupported_dose_fails_the_gate(store, tmp_path):
    result = draft_candidate(notes.PNEUMONIA, "discharge-summary", out_dir=tmp_path / "cand", store=store)
    assert result.verdict.passed
    artifact = store.get_artifact(result.artifact_id)
    bad = text_view(artifact)["draft"] + "\nWarfarin 10 mg by mouth daily."
    _review, verdict = edit_draft(store, artifact.id, bad, reviewer="dr.lee")
    assert not verdict.passed
    with pytest.raises(ReleaseError, match="failed the gate"):
        release_artifact(store, artifact.id, tmp_path / "release")


def test_allergy_conflict_blocks_the_draft(store, tmp_path):
    result = draft_candidate(notes.PNEUMONIA_UNSAFE, "discharge-summary", out_dir=tmp_path / "cand", store=store)
    assert not result.verdict.passed
    assert any(r.startswith("safety.allergy_conflicts") for r in result.verdict.reasons)
    assert [f.kind for f in result.draft.flags if f.severity == "critical"] == ["allergy_conflict"]


def test_patient_education_reading_grade_is_gated(store, tmp_path, server):
    hard = ("Pneumonia is an infectious inflammatory consolidation of pulmonary parenchyma necessitating "
            "antimicrobial pharmacotherapy; adherence to the prescribed doxycycline regimen, 100 mg twice daily, "
            "substantially diminishes the probability of complications.")
    result = draft_candidate(notes.PNEUMONIA, "patient-education", out_dir=tmp_path / "hard", store=store,
                             backend="openai", backend_params=hosted(server, hard), options={"target_grade": 6})
    grade = result.verdict.scorecard.get("readability.grade")
    assert grade.applicable and grade.value > 12
    assert any(r.startswith("readability.grade_over_target") for r in result.verdict.reasons)
    plain = "You have a lung infection. Take doxycycline 100 mg two times a day. Call us if you feel worse."
    easy = draft_candidate(notes.PNEUMONIA, "patient-education", out_dir=tmp_path / "easy", store=store,
                           backend="openai", backend_params=hosted(server, plain), options={"target_grade": 6})
    assert easy.verdict.scorecard.get("readability.grade_over_target").passed


def test_bad_notes_get_one_line_errors(tmp_path):
    empty, latin, folder = tmp_path / "empty.txt", tmp_path / "latin.txt", tmp_path / "dir"
    empty.write_text("  \n", encoding="utf-8")
    latin.write_bytes("Patient seen by Dr. Mu\xf1oz".encode("latin-1"))
    folder.mkdir()
    for path, message in ((empty, "is empty"), (latin, "not UTF-8"), (folder, "is a folder"),
                          (tmp_path / "absent.txt", "no such file")):
        with pytest.raises(TextError, match=message) as err:
            read_note(path)
        assert "\n" not in str(err.value)


def test_failures_leave_no_candidate(store, tmp_path, server):
    with pytest.raises(TextError, match="unknown drafting task"):
        draft_candidate(notes.PNEUMONIA, "discharge-sumary", out_dir=tmp_path / "cand", store=store)
    server.reset()
    server.script("500", "500", "500", "500")
    with pytest.raises(Exception, match="500"):
        draft_candidate(notes.PNEUMONIA, "discharge-summary", out_dir=tmp_path / "cand", store=store,
                        backend="openai", backend_params={"base_url": server.base_url, "model": "m", "backoff": 0.0,
                                                          "max_retries": 1})
    assert not (tmp_path / "cand").exists()
    assert store.list_artifacts() == [] and Ledger(store).entries() == []
