"""The dashboard's measures, from reviews recorded through the real review queue over stored artifacts."""

from __future__ import annotations

import difflib
import math
from dataclasses import replace

import pytest

from hygeia.evaluate.metric import Goal, Metric, Scorecard
from hygeia.governance.review import ReviewQueue
from hygeia.server.dashboard import build, chars_changed, metric_failures, period_of
from hygeia.store.db import ArtifactRecord, Store

DRAFT = "Reason for admission:\nCommunity-acquired pneumonia.\nDoxycycline 200 mg by mouth twice daily.\n" \
        "He felt much better and was eager to go home.\nFollow-up in one week.\n"


def unified(before: str, after: str) -> str:
    """The diff as edit_draft stores it."""
    return "".join(difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True),
                                        fromfile="draft.txt", tofile="draft.reviewed.txt"))


def scorecard(**values: float) -> dict:
    """A stored scorecard: real metrics judged against thresholds (a minimum for these maximised metrics)."""
    thresholds = {"grounding.supported_share": 0.8, "fidelity.overall": 0.85, "privacy.mia_auc": None}
    metrics = [Metric(name, value, Goal.MAXIMIZE).with_threshold(thresholds[name]) for name, value in values.items()]
    return Scorecard(tuple(metrics)).to_dict()


def add_artifact(store: Store, artifact_id: str, kind: str, created_at: str, **values: float) -> None:
    card = scorecard(**values)
    passed = all(m["passed"] is not False for m in card["metrics"])
    with store.begin() as conn:
        store.insert_artifact(conn, ArtifactRecord(
            id=artifact_id, kind=kind, status="candidate", created_at=created_at, location="/nowhere",
            gate_passed=passed, record={"scorecard": card, "verdict": {"passed": passed, "reasons": []}}))


@pytest.fixture
def store(tmp_path) -> Store:
    """Two weeks of work: four drafts and two tables, decided by two reviewers through the review queue."""
    store = Store(f"sqlite:///{tmp_path / 'hygeia.db'}")
    add_artifact(store, "clin-1", "clinical_text", "2026-11-16T09:00:00+00:00", **{"grounding.supported_share": 1.0})
    add_artifact(store, "clin-2", "clinical_text", "2026-11-17T09:00:00+00:00", **{"grounding.supported_share": 0.6})
    add_artifact(store, "clin-3", "clinical_text", "2026-11-24T09:00:00+00:00", **{"grounding.supported_share": 0.9})
    add_artifact(store, "clin-4", "clinical_text", "2026-11-24T10:00:00+00:00", **{"grounding.supported_share": 0.9})
    add_artifact(store, "tab-1", "synthetic_table", "2026-11-16T11:00:00+00:00",
                 **{"fidelity.overall": 0.97, "privacy.mia_auc": 0.52})
    add_artifact(store, "tab-2", "synthetic_table", "2026-11-24T11:00:00+00:00",
                 **{"fidelity.overall": 0.70, "privacy.mia_auc": 0.55})
    queue = ReviewQueue(store)
    queue.decide("clin-1", "approve", reviewer="dr.lee", usefulness=5, trust=4)
    fixed = DRAFT.replace("200 mg", "100 mg").replace("He felt much better and was eager to go home.\n", "")
    queue.decide("clin-2", "edit", reviewer="dr.lee", diff=unified(DRAFT, fixed), gate_passed=True,
                 usefulness=3, trust=2)
    queue.decide("clin-3", "reject", reviewer="dr.ortiz", comment="wrong patient summary", usefulness=1)
    queue.decide("tab-1", "approve", reviewer="dr.ortiz", trust=5)
    queue.decide("tab-2", "reject", reviewer="dr.ortiz", comment="fidelity too low")
    return store


def dated(store: Store) -> list:
    """The stored reviews, with their times moved to the week each artifact belongs to (decide() stamps now)."""
    week_of = {"clin-1": "2026-11-16T12:00:00+00:00", "clin-2": "2026-11-18T12:00:00+00:00",
               "clin-3": "2026-11-24T12:00:00+00:00", "tab-1": "2026-11-17T12:00:00+00:00",
               "tab-2": "2026-11-25T12:00:00+00:00"}
    return [replace(r, created_at=week_of[r.artifact_id]) for r in store.all_reviews()]


def test_chars_changed_counts_characters_not_lines():
    assert chars_changed(unified(DRAFT, DRAFT.replace("200 mg", "100 mg"))) == 1
    removed = "He felt much better and was eager to go home."
    assert chars_changed(unified(DRAFT, DRAFT.replace(removed + "\n", ""))) == len(removed) + 1  # and its line break
    assert chars_changed(unified(DRAFT, DRAFT + "Call if short of breath.\n")) == len("Call if short of breath.") + 1
    # A removed line that itself starts with "--" is content, not a file header.
    note = "-- signed\n" + DRAFT
    assert chars_changed(unified(note, DRAFT)) == len("-- signed") + 1
    assert chars_changed("") == 0


def test_periods_are_iso_weeks_or_days():
    assert period_of("2026-11-24T09:00:00+00:00") == "2026-W48"
    assert period_of("2027-01-01T09:00:00+00:00") == "2026-W53"  # the ISO year, not the calendar year
    assert period_of("2026-11-24T09:00:00+00:00", "day") == "2026-11-24"


def test_measures_per_kind_over_all_time(store):
    board = build(store.list_artifacts(), store.all_reviews())
    text, table = board.kinds
    assert (text.kind, text.created, text.decided, text.approved, text.edited, text.rejected) == \
        ("clinical_text", 4, 3, 1, 1, 1)
    assert text.approval_rate == pytest.approx(2 / 3)  # an edit approves the edited text
    # Edit distance over approved drafts: 0 for the one approved as drafted, the edit's characters for the other.
    removed = len("He felt much better and was eager to go home.") + 1
    assert text.chars_changed == (0, 1 + removed)
    assert text.mean_chars_changed == pytest.approx((1 + removed) / 2)
    assert (text.mean_usefulness, text.mean_trust) == (pytest.approx(3.0), pytest.approx(3.0))
    assert text.usefulness == (5, 3, 1) and text.trust == (4, 2)
    # The gate failure counts what the tool generated, though an edit later passed the re-gate.
    assert text.gate_failed == 1 and store.get_artifact("clin-2").gate_passed
    assert (table.kind, table.approval_rate, table.chars_changed, table.mean_usefulness, table.mean_trust) == \
        ("synthetic_table", 0.5, (), None, 5.0)  # tables are not edited: no edit distance, not a 0


def test_measures_over_time(store):
    board = build(store.list_artifacts(), dated(store), period="week")
    rows = {(r.period, r.kind): r for r in board.rows}
    assert list(rows) == [("2026-W47", "clinical_text"), ("2026-W47", "synthetic_table"),
                          ("2026-W48", "clinical_text"), ("2026-W48", "synthetic_table")]
    assert rows["2026-W47", "clinical_text"].approval_rate == 1.0
    assert rows["2026-W48", "clinical_text"].approval_rate == 0.0
    assert rows["2026-W48", "clinical_text"].created == 2  # clin-4 is generated but not decided yet
    assert rows["2026-W48", "synthetic_table"].gate_failed == 1
    days = build(store.list_artifacts(), dated(store), period="day")
    assert [r.period for r in days.rows][:2] == ["2026-11-16", "2026-11-16"]


def test_gate_failures_by_metric(store):
    failures = {(f.metric, f.kind): (f.failed, f.scored) for f in metric_failures(store.list_artifacts())}
    assert failures == {("grounding.supported_share", "clinical_text"): (1, 4),
                        ("fidelity.overall", "synthetic_table"): (1, 2)}  # privacy.mia_auc is not gated here
    ordered = build(store.list_artifacts(), store.all_reviews()).failures
    assert [f.failed for f in ordered] == sorted((f.failed for f in ordered), reverse=True)
    assert {f.metric: f.share for f in ordered if f.failed} == {"grounding.supported_share": 0.25,
                                                                 "fidelity.overall": 0.5}


def test_nothing_measured_is_none_not_zero(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'empty.db'}")
    assert build([], []).kinds == () and build([], []).rows == ()
    add_artifact(store, "clin-9", "clinical_text", "2026-11-24T09:00:00+00:00",
                 **{"grounding.supported_share": math.nan})
    (kind,) = build(store.list_artifacts(), []).kinds
    assert kind.decided == 0 and kind.approval_rate is None and kind.mean_chars_changed is None
    assert kind.gate_failed == 1  # a metric that could not be computed fails its gate


def test_reviews_of_unknown_artifacts_and_bad_periods(store):
    only_tables = [a for a in store.list_artifacts() if a.kind == "synthetic_table"]
    (kind,) = build(only_tables, store.all_reviews()).kinds
    assert kind.kind == "synthetic_table" and kind.decided == 2
    with pytest.raises(ValueError, match="period"):
        build(only_tables, [], period="month")  # type: ignore[arg-type]
