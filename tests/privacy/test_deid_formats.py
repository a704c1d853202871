"""Gold-standard files: PhysioNet deid and i2b2-2014 XML round trips, category mapping, malformed input,
and the shipped evaluation corpus itself."""

from __future__ import annotations

import re
from collections import Counter
from itertools import pairwise
from pathlib import Path

import pytest

from hygeia.errors import DeidError
from hygeia.privacy.deid_eval import CORPUS_DIR, load_corpus
from hygeia.privacy.deid_formats import (
    AnnotatedNote,
    ExcludedSpan,
    map_category,
    read_gold,
    read_i2b2,
    read_records,
    write_i2b2,
    write_physionet,
)
from hygeia.privacy.phi import PhiCategory, PhiSpan

C = PhiCategory
TEXT = "Seen by Dr Tran on 8/14 at Mercy Hospital.\nPt 92F, a teacher from Ohio; call 617-555-0199."
STYLES = {"nursing", "discharge", "radiology", "letter", "triage", "phone", "sloppy"}


def _span(text: str, value: str, category: PhiCategory, label: str, nth: int = 0) -> PhiSpan:
    start = [m.start() for m in re.finditer(re.escape(value), text)][nth]
    return PhiSpan(start, start + len(value), category, value, 1.0, label)


@pytest.fixture(scope="module")
def hand_notes() -> list[AnnotatedNote]:
    spans = (_span(TEXT, "Tran", C.NAME, "DOCTOR"), _span(TEXT, "8/14", C.DATE, "DATE"),
             _span(TEXT, "Mercy Hospital", C.HOSPITAL, "HOSPITAL"), _span(TEXT, "92", C.AGE, "AGE"),
             _span(TEXT, "617-555-0199", C.PHONE, "PHONE"))
    ohio = TEXT.index("Ohio")
    teacher = TEXT.index("teacher")
    excluded = (ExcludedSpan(teacher, teacher + 7, "PROFESSION", "teacher"), ExcludedSpan(ohio, ohio + 4, "STATE", "Ohio"))
    second = "Lives at 12 Elm St, Quincy 02169 with wife Ana (ana.r@example.org).\n"
    spans2 = (_span(second, "12 Elm St", C.STREET, "STREET"), _span(second, "Quincy", C.CITY, "CITY"),
              _span(second, "02169", C.ZIP, "ZIP"), _span(second, "Ana", C.NAME, "RELATIVE"),
              _span(second, "ana.r@example.org", C.EMAIL, "EMAIL"))
    return [AnnotatedNote("P7", "1", TEXT, tuple(sorted(spans)), excluded),
            AnnotatedNote("P7", "2", second, tuple(sorted(spans2)))]


def _key(notes: list[AnnotatedNote]) -> list[tuple]:
    return [(n.patient, n.note, n.text, [(s.start, s.end, s.category) for s in n.spans],
             [(s.start, s.end, s.label) for s in n.excluded]) for n in notes]


# -- round trips -----------------------------------------------------------------------------------------------------

def test_physionet_round_trip(tmp_path, hand_notes):
    gold = write_physionet(hand_notes, tmp_path / "id.text")
    assert gold == tmp_path / "id.phi"
    back = read_gold(tmp_path / "id.text")
    assert _key(back) == _key(hand_notes)
    assert [s.source for s in back[0].spans] == [s.source for s in hand_notes[0].spans]  # gold labels kept
    raw = (tmp_path / "id.text").read_text()
    assert raw.startswith("START_OF_RECORD=P7||||1||||\n") and raw.count("||||END_OF_RECORD") == 2
    assert "P7 1 11 15 DOCTOR Tran" in gold.read_text()
    assert [n.text for n in read_records(tmp_path / "id.text")] == [TEXT, hand_notes[1].text]


def test_i2b2_round_trip_file_and_folder(tmp_path, hand_notes):
    for note in hand_notes:
        write_i2b2(note, tmp_path / f"{note.patient}-{note.note}.xml")
    assert "<![CDATA[Seen by Dr Tran" in (tmp_path / "P7-1.xml").read_text()
    assert _key(read_gold(tmp_path)) == _key(hand_notes)
    assert _key(read_gold(tmp_path / "P7-2.xml")) == _key(hand_notes[1:])
    assert read_gold(tmp_path)[0].spans[0].source == "DOCTOR"


def test_i2b2_reads_the_published_layout(tmp_path):
    text = "Record date: 2067-05-03\n\nDr. Xavier Q. Zuniga\nPatient 110 is a 45 yo nurse."
    xml = ('<?xml version="1.0" encoding="UTF-8" ?>\n<deIdi2b2>\n<TEXT><![CDATA[' + text + ']]></TEXT>\n<TAGS>\n'
           '<DATE id="P0" start="13" end="23" text="2067-05-03" TYPE="DATE" comment="" />\n'
           '<NAME id="P1" start="29" end="45" text="Xavier Q. Zuniga" TYPE="DOCTOR" comment="" />\n'
           '<AGE id="P2" start="63" end="65" text="45" TYPE="AGE" comment="" />\n'
           '<PROFESSION id="P3" start="69" end="74" text="nurse" TYPE="PROFESSION" comment="" />\n'
           '</TAGS>\n</deIdi2b2>\n')
    (tmp_path / "110-01.xml").write_text(xml)
    [note] = read_i2b2(tmp_path)
    assert (note.patient, note.note) == ("110", "01")
    assert [(s.text, s.category) for s in note.spans] == [("2067-05-03", C.DATE), ("Xavier Q. Zuniga", C.NAME)]
    assert [(s.text, s.label) for s in note.excluded] == [("45", "AGE"), ("nurse", "PROFESSION")]


def test_physionet_tolerates_spaces_inclusive_ends_and_labels_with_spaces(tmp_path):
    body = "Pt Jane  Roe, DOB 2/3/2089, age 93.\nSeen 3 March."
    (tmp_path / "x.text").write_text(f"START_OF_RECORD=1||||1||||\n{body}\n||||END_OF_RECORD\n")
    (tmp_path / "x-phi.phrase").write_text(
        "\n1 1 3 12 PTName Jane Roe\n"         # two spaces in the note, one in the gold line
        "1 1 18 25 DATE 2/3/2089\n"              # inclusive end offset (PhysioNet tools vary)
        "# a comment line\n"
        "1 1 31 34 Age > 89 93\n"                # a label with spaces; the space it covers is trimmed
        "1 1 41 48 Date 3 March\n")
    [note] = read_gold(tmp_path / "x.text")
    assert [(s.text, s.category, s.source) for s in note.spans] == [
        ("Jane  Roe", C.NAME, "PTName"), ("2/3/2089", C.DATE, "DATE"), ("93", C.AGE, "Age > 89"),
        ("3 March", C.DATE, "Date")]


def test_crlf_files_with_lf_offsets(tmp_path):
    (tmp_path / "c.text").write_bytes(b"START_OF_RECORD=1||||1||||\r\nline one\r\nDr Tran\r\n||||END_OF_RECORD\r\n")
    (tmp_path / "c.phi").write_text("1 1 12 16 DOCTOR Tran\n")
    [note] = read_gold(tmp_path / "c.text")
    assert note.text[note.spans[0].start:note.spans[0].end] == "Tran"


# -- category mapping ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("label, category", [
    ("PATIENT", C.NAME), ("DOCTOR", C.NAME), ("USERNAME", C.NAME), ("HOSPITAL", C.HOSPITAL),
    ("ORGANIZATION", C.LOCATION), ("STREET", C.STREET), ("CITY", C.CITY), ("ZIP", C.ZIP),
    ("LOCATION-OTHER", C.LOCATION), ("DATE", C.DATE), ("PHONE", C.PHONE), ("FAX", C.FAX), ("EMAIL", C.EMAIL),
    ("URL", C.URL), ("IPADDR", C.IP_ADDRESS), ("SSN", C.SSN), ("MEDICALRECORD", C.MRN),
    ("HEALTHPLAN", C.HEALTH_PLAN), ("ACCOUNT", C.ACCOUNT), ("LICENSE", C.LICENSE), ("DEVICE", C.DEVICE),
    ("VEHICLE", C.VEHICLE), ("BIOID", C.ID), ("IDNUM", C.ID), ("PTName", C.NAME), ("HCPName", C.NAME),
    ("RelativeProxyName", C.NAME), ("PTNameInitial", C.NAME), ("Location", C.LOCATION), ("Other", C.ID),
    ("health_plan", C.HEALTH_PLAN), ("IP_ADDRESS", C.IP_ADDRESS), ("RELATIVE", C.NAME),
    *[(c.value, c) for c in PhiCategory if c is not C.AGE],
])
def test_label_maps_to_category(label, category):
    assert map_category(label, "x") is category


@pytest.mark.parametrize("label, text, category", [
    ("PROFESSION", "nurse", None), ("STATE", "MA", None), ("COUNTRY", "Brazil", None), ("DateYear", "2089", None),
    ("AGE", "45", None), ("AGE", "89", None), ("AGE", "eighty-nine", None), ("AGE", "90", C.AGE),
    ("AGE", "ninety-two", C.AGE), ("AGE", "90s", C.AGE), ("Age > 89", "104", C.AGE),
    ("DATE", "2089", None), ("DATE", "'89", None), ("DATE", "1990s", None), ("DATE", "8/14", C.DATE),
    ("DATE", "20890814", C.DATE), ("DATE", "March 2089", C.DATE),
])
def test_not_phi_under_safe_harbor(label, text, category):
    assert map_category(label, text) is category


def test_unknown_category_is_an_error():
    with pytest.raises(DeidError, match="unknown gold category 'SPECIES'"):
        map_category("SPECIES")


# -- malformed input: one line naming the file, the line and the fix ------------------------------------------------

def _pair(tmp_path: Path, gold: str, body: str = "Seen by Dr Tran on 8/14.") -> Path:
    (tmp_path / "id.text").write_text(f"START_OF_RECORD=1||||1||||\n{body}\n||||END_OF_RECORD\n")
    (tmp_path / "id.phi").write_text(gold)
    return tmp_path / "id.text"


@pytest.mark.parametrize("gold, message", [
    ("1 1 11 15 DOCTOR Tran\n1 1 19 40 DATE 8/14\n", r"id\.phi:2: span 19:40 lies outside note 1/1 \(24 characters\); fix"),
    ("1 1 11 15 DOCTOR Trane\n", r"id\.phi:1: span 11:15 says 'Trane' but the note has 'Tran' there; fix the offsets"),
    ("1 1 11 15 SPECIES Tran\n", r"id\.phi:1: unknown gold category 'SPECIES'; use"),
    ("1 1 eleven 15 DOCTOR Tran\n", r"id\.phi:1: expected '<patient> <note> <start> <end> <Category> <text>'"),
    ("1 2 11 15 DOCTOR Tran\n", r"id\.phi:1: patient 1 note 2 is not in the text file; fix the ids"),
])
def test_bad_gold_lines(tmp_path, gold, message):
    with pytest.raises(DeidError, match=message):
        read_gold(_pair(tmp_path, gold))


def test_bad_text_files(tmp_path):
    (tmp_path / "a.text").write_text("just a note\n")
    with pytest.raises(DeidError, match=r"a\.text: no 'START_OF_RECORD=<patient>\|\|\|\|<note>\|\|\|\|' line"):
        read_gold(tmp_path / "a.text")
    (tmp_path / "b.text").write_text("START_OF_RECORD=1||||1||||\nnote\nSTART_OF_RECORD=1||||2||||\nx\n||||END_OF_RECORD\n")
    with pytest.raises(DeidError, match=r"b\.text:1: record 1/1 has no '\|\|\|\|END_OF_RECORD'"):
        read_gold(tmp_path / "b.text")
    (tmp_path / "c.text").write_text("START_OF_RECORD=1||||1||||\nnote\n||||END_OF_RECORD\n")
    with pytest.raises(DeidError, match=r"c\.text: no gold file next to it \(looked for c\.phi, c-phi\.phrase"):
        read_gold(tmp_path / "c.text")
    with pytest.raises(DeidError, match="no such file or folder"):
        read_gold(tmp_path / "missing.text")
    (tmp_path / "d.txt").write_text("hello")
    with pytest.raises(DeidError, match="neither i2b2-2014 XML nor a PhysioNet id.text"):
        read_gold(tmp_path / "d.txt")


def test_bad_i2b2_files(tmp_path):
    (tmp_path / "1.xml").write_text("<deIdi2b2><TEXT><![CDATA[Dr Tran]]></TEXT><TAGS>\n"
                                    '<NAME id="P0" start="3" end="7" text="Trun" TYPE="DOCTOR"/></TAGS></deIdi2b2>')
    with pytest.raises(DeidError, match=r"1\.xml: tag P0: says 'Trun' but the text has 'Tran' at 3:7; fix"):
        read_gold(tmp_path / "1.xml")
    (tmp_path / "2.xml").write_text('<deIdi2b2><TEXT><![CDATA[Dr Tran]]></TEXT><TAGS>\n'
                                    '<NAME id="P0" start="3" end="70" TYPE="DOCTOR"/></TAGS></deIdi2b2>')
    with pytest.raises(DeidError, match=r"2\.xml: tag P0: span 3:70 lies outside the text \(7 characters\)"):
        read_gold(tmp_path / "2.xml")
    (tmp_path / "3.xml").write_text('<deIdi2b2><TEXT><![CDATA[Dr Tran]]></TEXT><TAGS>\n'
                                    '<NAME id="P0" start="3" end="7" TYPE="WIZARD"/></TAGS></deIdi2b2>')
    with pytest.raises(DeidError, match=r"3\.xml: tag P0: unknown gold category 'WIZARD'"):
        read_gold(tmp_path / "3.xml")
    (tmp_path / "4.xml").write_text("<deIdi2b2><TEXT>unclosed</deIdi2b2>")
    with pytest.raises(DeidError, match=r"4\.xml:1: not well-formed XML"):
        read_gold(tmp_path / "4.xml")


def test_write_refuses_bad_ids_and_leaves_nothing(tmp_path, hand_notes):
    bad = [hand_notes[0], AnnotatedNote("P 8", "1", "x")]
    with pytest.raises(DeidError, match="has spaces"):
        write_physionet(bad, tmp_path / "id.text")
    assert list(tmp_path.iterdir()) == []


# -- the shipped corpus ----------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def corpus() -> dict[str, list[AnnotatedNote]]:
    return {split: load_corpus(split) for split in ("dev", "test")}


def test_corpus_size_styles_and_categories(corpus):
    notes = corpus["dev"] + corpus["test"]
    assert len(notes) >= 240
    for split, part in corpus.items():
        assert {n.note.split("-", 1)[1] for n in part} == STYLES, split
    counts = Counter(s.category for n in notes for s in n.spans)
    assert {c: counts[c] for c in PhiCategory if counts[c] < 10} == {}
    test_counts = Counter(s.category for n in corpus["test"] for s in n.spans)
    assert min(test_counts[c] for c in PhiCategory) >= 10  # every category is measured on the test split alone
    assert {s.label for n in notes for s in n.excluded} == {"STATE", "COUNTRY"}
    size = sum(p.stat().st_size for p in CORPUS_DIR.iterdir())
    assert size < 800_000


def test_corpus_gold_text_matches_the_notes(corpus):
    """Read the raw files without the reader: every gold line's text equals the note at its offsets."""
    for split in ("dev", "test"):
        raw = (CORPUS_DIR / f"{split}.text").read_text(encoding="utf-8")
        bodies = {(p, n): b for p, n, b in re.findall(
            r"START_OF_RECORD=(\S+?)\|\|\|\|(\S+?)\|\|\|\|\n(.*?)\n\|\|\|\|END_OF_RECORD", raw, flags=re.DOTALL)}
        assert len(bodies) == len(corpus[split])
        lines = (CORPUS_DIR / f"{split}.phi").read_text(encoding="utf-8").splitlines()
        for line in lines:
            patient, note, start, end, _label, text = line.split(" ", 5)
            assert bodies[(patient, note)][int(start):int(end)] == text, line
        assert len(lines) == sum(len(n.spans) + len(n.excluded) for n in corpus[split])
    for note in corpus["dev"] + corpus["test"]:
        spans = sorted([*note.spans, *note.excluded], key=lambda s: s.start)
        assert all(a.end <= b.start for a, b in pairwise(spans)), note.patient  # no overlapping gold


def test_corpus_hard_negatives_stay_unannotated(corpus):
    notes = corpus["dev"] + corpus["test"]
    gold_chars = {(n.patient, n.note): {i for s in n.spans for i in range(s.start, s.end)} for n in notes}

    def unannotated(pattern: str) -> tuple[int, int]:
        hits = [(n, m) for n in notes for m in re.finditer(pattern, n.text, flags=re.IGNORECASE)]
        free = sum(not gold_chars[(n.patient, n.note)] & set(range(*m.span())) for n, m in hits)
        return free, len(hits)

    for pattern in [r"\bParkinson", r"\bCrohn", r"\bBell's palsy", r"\bBabinski", r"\bGlasgow", r"\bLyme\b",
                    r"Swan-Ganz|Jackson-Pratt|Hickman", r"\bWest Nile\b"]:  # each eponym is there and kept
        free, total = unannotated(pattern)
        assert total >= 1 and free == total, (pattern, free, total)
    for pattern in [(r"\b(?:Parkinson's|Crohn's|Bell's palsy|Babinski|Glasgow|Hodgkin|Graves'|Cushing's|Addison's|"
                    r"Barrett's|Murphy's|Foley)"),  # possessives: a Dr. Bell or Mr. Murphy is a name, not a negative
                    r"\byesterday\b|\btoday\b", r"\b5/5\b", r"\bGCS \d+", r"\b\d+(?:\.\d+)? (?:mg|mL|mcg|units)\b",
                    r"\b(?:Rm|room|bed) \w+", r"\bsince (?:19|20)\d\d\b(?![-/])", r"\b(?:GI|CV|BP|ABG|PRN)\b(?!-\d)",
                    r"\b(?:[1-7]\d|8\d|[1-9]) ?(?:y/o|yo|-year-old|year old)\b"]:  # kinds of negative, many times
        free, total = unannotated(pattern)
        assert total >= 10 and free == total, (pattern, free, total)
    assert all(int(re.search(r"\d+", s.text).group()) > 89 for n in notes for s in n.spans
               if s.category is C.AGE and re.search(r"\d", s.text))


def test_corpus_splits_share_no_template(corpus):
    def skeletons(notes: list[AnnotatedNote]) -> set[str]:
        out = set()
        for n in notes:
            text = n.text
            for s in sorted([*n.spans, *n.excluded], key=lambda s: -s.start):
                text = text[:s.start] + "<X>" + text[s.end:]
            text = re.sub(r"\d+", "0", text.lower())
            out |= {part for part in re.split(r"\n|(?<=[.;])\s+", text) if len(part) >= 25}
        return out

    dev, test = skeletons(corpus["dev"]), skeletons(corpus["test"])
    assert len(dev) > 200 and len(test) > 200
    assert dev & test == set()
