"""The de-identification scorer: numbers worked out by hand, don't-care spans, bad detectors, and the
extremes on the shipped corpus (an oracle scores 1, a silent detector 0, a redact-everything one is imprecise)."""

from __future__ import annotations

import json
import math
import time

import pytest

from hygeia.errors import DeidError
from hygeia.privacy.deid_eval import ALL, evaluate, load_corpus
from hygeia.privacy.deid_formats import AnnotatedNote, ExcludedSpan
from hygeia.privacy.phi import PhiCategory, PhiSpan

C = PhiCategory
TEXT = "Seen by Dr John Smith on 8/14/2089 at Mercy Hospital. BP 120/80."


def at(text: str, value: str, category: PhiCategory, label: str = "") -> PhiSpan:
    start = text.index(value)
    return PhiSpan(start, start + len(value), category, value, 1.0, label)


@pytest.fixture
def note() -> AnnotatedNote:
    gold = (at(TEXT, "John Smith", C.NAME, "DOCTOR"), at(TEXT, "8/14/2089", C.DATE, "DATE"),
            at(TEXT, "Mercy Hospital", C.HOSPITAL, "HOSPITAL"))
    return AnnotatedNote("1", "1", TEXT, tuple(sorted(gold)))


def fixed(*spans: PhiSpan):
    """A detector that always answers ``spans`` (the example is small enough to score by hand)."""
    return lambda text: list(spans)


def test_hand_computed_scores(note):
    # predictions: "John" (half of a name), the whole date, and "BP" (a false positive); the hospital is missed
    result = evaluate(fixed(at(TEXT, "John", C.NAME), at(TEXT, "8/14/2089", C.DATE), at(TEXT, "BP", C.ID)), [note])
    tok, ovl, exa = (result.scores[level] for level in ("token", "span_overlap", "span_exact"))
    # gold tokens: John Smith | 8 14 2089 | Mercy Hospital = 7; found John, 8, 14, 2089 = 4
    # predicted tokens: John, 8, 14, 2089, BP = 5; correct 4
    assert (tok[ALL].found, tok[ALL].gold, tok[ALL].correct, tok[ALL].predicted) == (4, 7, 4, 5)
    assert tok[ALL].recall == pytest.approx(4 / 7) and tok[ALL].precision == pytest.approx(4 / 5)
    assert tok["NAME"].recall == 0.5 and tok["DATE"].recall == 1.0 and tok["HOSPITAL"].recall == 0.0
    assert tok["ID"].precision == 0.0 and math.isnan(tok["ID"].recall) and math.isnan(tok["HOSPITAL"].precision)
    # spans, overlap: name and date found (2 of 3); 2 of 3 predictions touch gold
    assert (ovl[ALL].found, ovl[ALL].gold, ovl[ALL].correct, ovl[ALL].predicted) == (2, 3, 2, 3)
    # spans, exact: only the date matches offsets on both sides
    assert (exa[ALL].found, exa[ALL].gold, exa[ALL].correct, exa[ALL].predicted) == (1, 3, 1, 3)
    assert exa["NAME"].recall == 0.0 and ovl["NAME"].recall == 1.0
    assert result.category_agreement == 1.0
    assert result.label_recall["DOCTOR"].recall == 0.5 and result.label_recall["HOSPITAL"].recall == 0.0
    assert [(m.category, m.text) for m in result.misses] == [(C.HOSPITAL, "Mercy Hospital")]
    assert [fp.text for fp in result.false_positives] == ["BP"]
    assert tok[ALL].f1 == pytest.approx(2 * (4 / 7) * (4 / 5) / (4 / 7 + 4 / 5))
    # 15 tokens, 7 PHI: "BP" is 1 false positive among 8 non-PHI tokens, whatever the PHI density
    assert result.non_phi_tokens == 8 and result.false_positive_rate == pytest.approx(1 / 8)
    r = 4 / 7
    assert result.precision_at(7 / 15) == pytest.approx(4 / 5)  # at this note's own density: its precision
    assert result.precision_at(0.05) == pytest.approx(r * 0.05 / (r * 0.05 + 0.95 / 8))


def test_tokens_split_letters_from_digits_and_union_of_spans_counts(note):
    text = "Pt 92F. Call 617-555-0199."
    gold = AnnotatedNote("1", "1", text, (at(text, "92", C.AGE), at(text, "617-555-0199", C.PHONE)))
    # "92" alone covers the gold token although "92F" has no space; the phone is covered by two adjacent spans
    result = evaluate(fixed(at(text, "92", C.AGE), at(text, "617-555", C.PHONE), at(text, "-0199", C.PHONE)), [gold])
    assert result.overall("token").recall == 1.0 and result.overall("token").precision == 1.0
    # a span covering half a token does not count as removing it
    partial = evaluate(fixed(PhiSpan(13, 15, C.PHONE), at(text, "92", C.AGE)), [gold])
    assert partial.overall("token").found == 1 and partial.overall("token").gold == 4


def test_category_is_ignored_for_found_but_reported_as_agreement(note):
    result = evaluate(fixed(at(TEXT, "John Smith", C.LOCATION), at(TEXT, "8/14/2089", C.DATE),
                            at(TEXT, "Mercy Hospital", C.HOSPITAL)), [note])
    assert result.overall("token").recall == 1.0 and result.overall("span_exact").recall == 1.0
    assert result.category_agreement == pytest.approx(2 / 3)


def test_dont_care_spans_are_neither_rewarded_nor_penalised():
    text = "Moved from Ohio to Quincy; works as a nurse."
    ohio, nurse = text.index("Ohio"), text.index("nurse")
    gold = AnnotatedNote("1", "1", text, (at(text, "Quincy", C.CITY),),
                         (ExcludedSpan(ohio, ohio + 4, "STATE"), ExcludedSpan(nurse, nurse + 5, "PROFESSION")))
    removes_state = evaluate(fixed(at(text, "Ohio", C.LOCATION), at(text, "Quincy", C.CITY)), [gold])
    keeps_state = evaluate(fixed(at(text, "Quincy", C.CITY)), [gold])
    for result in (removes_state, keeps_state):
        for level in ("token", "span_overlap", "span_exact"):
            assert result.overall(level).recall == 1.0 and result.overall(level).precision == 1.0, level
    # ... while a prediction on ordinary text still costs precision
    wrong = evaluate(fixed(at(text, "works", C.NAME), at(text, "Quincy", C.CITY)), [gold])
    assert wrong.overall("token").precision == 0.5 and wrong.overall("span_overlap").precision == 0.5


def test_batch_detector_and_timing(note):
    def slow(text: str) -> list[PhiSpan]:
        time.sleep(0.02)
        return [at(text, "John Smith", C.NAME)]

    one = evaluate(slow, [note, note, note])
    assert one.seconds >= 0.06 and one.notes_per_second <= 3 / 0.06
    both = evaluate(lambda texts: [slow(t) for t in texts], [note, note, note], batch=True)
    assert both.to_dict()["levels"] == one.to_dict()["levels"] and both.notes == 3


def test_reports_are_json_and_markdown(note):
    result = evaluate(fixed(at(TEXT, "John", C.NAME)), [note])
    data = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert data["levels"]["token"]["ALL"]["recall"] == round(1 / 7, 4)
    assert data["levels"]["token"]["HOSPITAL"]["precision"] is None  # NaN: nothing predicted as HOSPITAL
    assert "Smith" not in json.dumps(data) and "Mercy" not in json.dumps(data)  # no PHI in the report
    table = result.to_markdown()
    assert "| ALL | 7 | 0.143 | 1.000 | 3 |" in table and "| HOSPITAL | 2 | 0.000 | n/a |" in table
    assert "| DOCTOR | 2 | 0.500 |" in table
    quiet = evaluate(fixed(), [note], keep_errors=False)
    assert quiet.misses == () and quiet.overall().recall == 0.0


def test_bad_detectors_and_inputs(note):
    with pytest.raises(DeidError, match="beyond note 1/1"):
        evaluate(fixed(PhiSpan(50, 500, C.NAME)), [note])
    with pytest.raises(DeidError, match="not PhiSpan"):
        evaluate(lambda text: [(0, 4, "NAME")], [note])
    with pytest.raises(DeidError, match="returned 1 results for 2 notes"):
        evaluate(lambda texts: [[]], [note, note], batch=True)
    with pytest.raises(DeidError, match="no notes to evaluate"):
        evaluate(fixed(), [])
    with pytest.raises(DeidError, match="unknown corpus split 'train'"):
        load_corpus("train")  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def test_split() -> list[AnnotatedNote]:
    return load_corpus("test")


def test_extremes_on_the_corpus(test_split):
    gold = {n.text: n.spans for n in test_split}
    oracle = evaluate(lambda text: gold[text], test_split)
    for level in ("token", "span_overlap", "span_exact"):
        assert oracle.overall(level).recall == 1.0 and oracle.overall(level).precision == 1.0
    assert oracle.category_agreement == 1.0 and oracle.misses == ()

    silent = evaluate(lambda text: [], test_split)
    assert silent.overall("token").recall == 0.0 and math.isnan(silent.overall("token").precision)
    assert len(silent.misses) == sum(len(n.spans) for n in test_split)

    everything = evaluate(lambda text: [PhiSpan(0, len(text), C.ID)], test_split)
    tok = everything.overall("token")
    assert tok.recall == 1.0 and tok.precision < 0.4  # most tokens of a note are not PHI
    assert everything.overall("span_exact").recall == 0.0
