"""The clinical-text commands end to end: `hygeia deid`, `hygeia deid evaluate`, `hygeia draft`, `review show`,
`review edit`, and bad input."""

from __future__ import annotations

import json
import re

import drafting_notes as notes
import pytest

from hygeia.governance.ledger import Ledger
from hygeia.privacy.deid_formats import AnnotatedNote, write_physionet
from hygeia.privacy.deid_eval import load_corpus
from hygeia.store import Store



@pytest.fixture
def note(hygeia_env):
    path = hygeia_env / "pneumonia.txt"
    path.write_text(notes.PNEUMONIA, encoding="utf-8")
    return path


def test_deid_prints_surrogates_and_records_counts_only(note, run, store_url):
    code, out, err = run("deid", note, "--patient", "p1")
    assert code == 0, err
    assert "Harold" not in out and "4471902" not in out and "Doxycycline 100 mg" in out
    assert re.search(r"NAME \d+", err)
    again = run("deid", note, "--patient", "p1")[1]
    assert again == out  # the same patient and key: the same surrogates, run after run
    entry = Ledger(Store(store_url)).entries()[-1]
    assert entry.event == "deidentify" and "Harold" not in entry.body
    assert entry.content["payload"]["categories"]["NAME"] >= 3


def test_deid_writes_files_and_never_overwrites(note, hygeia_env, run):
    target = hygeia_env / "out" / "note.deid.txt"
    assert run("deid", note, "--out", target)[0] == 0
    assert "Harold" not in target.read_text(encoding="utf-8")
    code, _, err = run("deid", note, "--out", target)
    assert code == 2 and "already exists" in err and len(err.strip().splitlines()) == 1
    second = hygeia_env / "second.txt"
    second.write_text(notes.HEART_FAILURE, encoding="utf-8")
    code, _, err = run("deid", note, second)
    assert code == 2 and "--out FOLDER" in err
    assert run("deid", note, second, "--out", hygeia_env / "many")[0] == 0
    assert sorted(p.name for p in (hygeia_env / "many").iterdir()) == ["pneumonia.deid.txt", "second.deid.txt"]


@pytest.mark.parametrize("content, message", [(b"", "is empty"), (b"Dr. Mu\xf1oz saw her.", "not UTF-8"),
                                               (b"\x00\x01binary", "binary")])
def test_deid_bad_input_is_one_line(hygeia_env, run, content, message):
    path = hygeia_env / "bad.txt"
    path.write_bytes(content)
    code, out, err = run("deid", path)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_deid_evaluate_on_a_physionet_gold_file(hygeia_env, run):
    gold = hygeia_env / "id.text"
    write_physionet([AnnotatedNote(n.patient, n.note, n.text, n.spans, n.excluded) for n in load_corpus("dev")[:12]],
                    gold)
    code, out, err = run("deid", "evaluate", gold, "--json", hygeia_env / "scores.json")
    assert code == 0, err
    assert "recall" in out.lower() and "notes" in out.lower()
    scores = json.loads((hygeia_env / "scores.json").read_text(encoding="utf-8"))
    assert scores["notes"] == 12


def test_deid_evaluate_refuses_an_unknown_split(hygeia_env, run):
    code, _, err = run("deid", "evaluate", "--corpus", "tset")
    assert code == 2 and "dev, test or all" in err


def test_draft_review_edit_release(note, hygeia_env, run):
    code, out, err = run("draft", "discharge-summary", note, "--out", hygeia_env / "cand")
    assert code == 0, out + err
    artifact_id = next(w for w in out.split() if w.startswith("clin-"))
    code, out, _ = run("review", "show", artifact_id)
    assert code == 0 and "evidence in the source" in out and "Harold" not in out
    code, _, err = run("review", "show", artifact_id, "--reidentify")
    assert code == 2 and "--reviewer" in err
    code, out, _ = run("review", "show", artifact_id, "--reidentify", "--reviewer", "dr.lee")
    assert code == 0 and "Harold Vance" in out and "RE-IDENTIFIED VIEW" in out
    edited = hygeia_env / "edited.txt"
    draft_text = (hygeia_env / "cand" / "draft.txt").read_text(encoding="utf-8")
    edited.write_text(draft_text + "\nReturn if fever comes back.\n", encoding="utf-8")
    code, out, err = run("review", "edit", artifact_id, "--text", edited, "--reviewer", "dr.lee")
    assert code == 0, out + err
    code, out, err = run("release", artifact_id, "--out", hygeia_env / "release")
    assert code == 0, err
    released = (hygeia_env / "release" / "discharge-summary.txt").read_text(encoding="utf-8")
    assert "Return if fever comes back." in released and "Harold" not in released


def test_draft_refuses_llm_options_for_the_extractive_backend(note, hygeia_env, run):
    code, _, err = run("draft", "discharge-summary", note, "--out", hygeia_env / "c", "--model", "gpt")
    assert code == 2 and "openai backend" in err
    assert not (hygeia_env / "c").exists()


def test_draft_with_an_unreachable_endpoint_fails_cleanly(note, hygeia_env, run):
    code, _, err = run("draft", "discharge-summary", note, "--out", hygeia_env / "c", "--backend", "openai",
                       "--base-url", "http://127.0.0.1:9/v1", "--model", "m")
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert code == 2 and len(errors) == 1 and "could not be reached" in errors[0] and "Traceback" not in err
    assert not (hygeia_env / "c").exists()


def test_demo_releases_every_bundled_note(hygeia_env, store_url):
    from hygeia.cli_text import DEMO_NOTES, demo_text

    demo_text(Store(store_url), hygeia_env / "text", seed=0)
    for file_name, task in DEMO_NOTES.items():
        released = hygeia_env / "text" / f"{file_name.removesuffix('.txt')}-release" / f"{task}.txt"
        assert released.read_text(encoding="utf-8").strip(), released
    assert Ledger(Store(store_url)).verify().ok
