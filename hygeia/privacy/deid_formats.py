"""Gold-standard files for de-identification: the PhysioNet deid format and i2b2-2014 XML.

Both formats end up as :class:`AnnotatedNote` objects whose ``spans`` are :class:`PhiSpan` in
Hygeia's categories (the original gold label is kept in ``span.source``). Gold labels that are
not PHI under HIPAA Safe Harbor (professions, states, countries, ages up to 89, a bare year) are
kept apart in ``excluded``: the scorer neither rewards nor penalises a detector on them.

PhysioNet deid (Neamatullah et al. 2008): ``id.text`` holds the notes, the gold file next to it
(``id.phi``, ``id-phi.phrase`` or ``id.phrase``) one span per line, offsets into the note body::

    START_OF_RECORD=7||||2||||
    Seen by Dr Tran on 8/14.
    ||||END_OF_RECORD

    7 2 11 15 DOCTOR Tran
    7 2 19 23 DATE 8/14

>>> notes = read_gold("hygeia/privacy/corpus/test.text")              # doctest: +SKIP
>>> notes[0].spans[0].category, notes[0].spans[0].source               # doctest: +SKIP
(<PhiCategory.NAME: 'NAME'>, 'PATIENT')
>>> map_category("Age > 89", "92"), map_category("AGE", "45")
(<PhiCategory.AGE: 'AGE'>, None)
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hygeia.errors import DeidError
from hygeia.privacy.phi import PhiCategory, PhiSpan

GOLD_SUFFIXES = (".phi", "-phi.phrase", ".phrase")  # looked for next to ``<stem>.text``, in this order

_C = PhiCategory
#: Gold label (upper case, letters and digits only) -> category. i2b2-2014 TYPEs, PhysioNet deid
#: phrase categories, and Hygeia's own category names (what :func:`write_physionet` writes).
LABELS: dict[str, PhiCategory] = {
    **dict.fromkeys(["PATIENT", "DOCTOR", "USERNAME", "NAME", "PERSON", "RELATIVE", "PTNAME", "PTNAMEINITIAL",
                     "HCPNAME", "RELATIVEPROXYNAME", "INITIALS", "FIRSTNAME", "LASTNAME", "DOCTORFIRSTNAME",
                     "DOCTORLASTNAME", "NAMEAMBIG", "STAFF"], _C.NAME),
    **dict.fromkeys(["DATE", "DATERANGE", "HOLIDAY", "MONTH"], _C.DATE),
    **dict.fromkeys(["AGE", "AGE89", "AGEOVER89", "AGEGT89"], _C.AGE),
    **dict.fromkeys(["PHONE", "TELEPHONE", "PHONENUMBER", "PAGER"], _C.PHONE),
    **dict.fromkeys(["FAX", "FAXNUMBER"], _C.FAX),
    **dict.fromkeys(["EMAIL", "EMAILADDRESS"], _C.EMAIL),
    **dict.fromkeys(["SSN", "SOCIALSECURITYNUMBER"], _C.SSN),
    **dict.fromkeys(["MEDICALRECORD", "MRN", "MEDICALRECORDNUMBER"], _C.MRN),
    **dict.fromkeys(["HEALTHPLAN", "HEALTHPLANNUMBER"], _C.HEALTH_PLAN),
    **dict.fromkeys(["ACCOUNT", "ACCOUNTNUMBER"], _C.ACCOUNT),
    **dict.fromkeys(["LICENSE", "LICENCE", "LICENSENUMBER", "PROVIDERNUMBER"], _C.LICENSE),
    **dict.fromkeys(["VEHICLE"], _C.VEHICLE),
    **dict.fromkeys(["DEVICE"], _C.DEVICE),
    **dict.fromkeys(["URL", "WEB"], _C.URL),
    **dict.fromkeys(["IPADDR", "IPADDRESS", "IP"], _C.IP_ADDRESS),
    **dict.fromkeys(["STREET", "STREETADDRESS"], _C.STREET),
    **dict.fromkeys(["CITY", "TOWN", "COUNTY"], _C.CITY),
    **dict.fromkeys(["ZIP", "ZIPCODE", "POSTALCODE"], _C.ZIP),
    **dict.fromkeys(["HOSPITAL"], _C.HOSPITAL),
    **dict.fromkeys(["LOCATION", "LOCATIONOTHER", "ORGANIZATION", "ORGANISATION", "COMPANY"], _C.LOCATION),
    **dict.fromkeys(["ID", "IDNUM", "IDNUMBER", "OTHER", "OTHERID", "BIOID", "UNITNUMBER"], _C.ID),
}
#: Gold labels that Safe Harbor does not ask to remove: scored as "don't care".
NOT_PHI_LABELS = frozenset({"PROFESSION", "STATE", "COUNTRY", "NATIONALITY", "DATEYEAR", "YEAR", "YEAR4DIGITS"})

#: i2b2-2014 element name for each TYPE (what :func:`write_i2b2` writes).
I2B2_TAGS = {
    **dict.fromkeys(["PATIENT", "DOCTOR", "USERNAME"], "NAME"), "PROFESSION": "PROFESSION", "AGE": "AGE",
    **dict.fromkeys(["HOSPITAL", "ORGANIZATION", "STREET", "CITY", "STATE", "COUNTRY", "ZIP", "LOCATION-OTHER"],
                    "LOCATION"),
    "DATE": "DATE", **dict.fromkeys(["PHONE", "FAX", "EMAIL", "URL", "IPADDR"], "CONTACT"),
    **dict.fromkeys(["SSN", "MEDICALRECORD", "HEALTHPLAN", "ACCOUNT", "LICENSE", "DEVICE", "VEHICLE", "BIOID",
                     "IDNUM"], "ID"),
}
_I2B2_TYPE_OF = {_C.NAME: "PATIENT", _C.DATE: "DATE", _C.AGE: "AGE", _C.PHONE: "PHONE", _C.FAX: "FAX",
                 _C.EMAIL: "EMAIL", _C.SSN: "SSN", _C.MRN: "MEDICALRECORD", _C.HEALTH_PLAN: "HEALTHPLAN",
                 _C.ACCOUNT: "ACCOUNT", _C.LICENSE: "LICENSE", _C.VEHICLE: "VEHICLE", _C.DEVICE: "DEVICE",
                 _C.URL: "URL", _C.IP_ADDRESS: "IPADDR", _C.STREET: "STREET", _C.CITY: "CITY", _C.ZIP: "ZIP",
                 _C.HOSPITAL: "HOSPITAL", _C.LOCATION: "LOCATION-OTHER", _C.ID: "IDNUM"}

_HEADER = re.compile(r"START_OF_RECORD=\s*([^|\s]+)\s*\|{2,}\s*([^|\s]+)\s*\|{2,}[ \t]*(?:\r?\n)?")
_END = re.compile(r"(?:\r?\n)?\|{2,}END_OF_RECORD")
_UNITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
          "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
_TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_NUMBER_WORDS = {w: i for i, w in enumerate(_UNITS)} | {w: 10 * (i + 2) for i, w in enumerate(_TENS)}


@dataclass(frozen=True)
class ExcludedSpan:
    """A gold span that is not PHI under Safe Harbor (``label`` as written in the gold file)."""

    start: int
    end: int
    label: str
    text: str = field(default="", repr=False)


@dataclass(frozen=True)
class AnnotatedNote:
    """One note with its gold PHI spans.

    ``spans`` are the identifiers a de-identifier must remove (``span.source`` holds the gold label,
    e.g. ``"DOCTOR"``); ``excluded`` the gold spans Safe Harbor lets stay (scored as don't-care).
    """

    patient: str
    note: str
    text: str = field(repr=False)
    spans: tuple[PhiSpan, ...] = ()
    excluded: tuple[ExcludedSpan, ...] = ()


def _key(label: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", label.upper())


def _age_value(text: str) -> int | None:
    digits = re.search(r"\d+", text)
    if digits:
        return int(digits.group())
    words = re.findall(r"[a-z]+", text.lower())
    values = [_NUMBER_WORDS[w] for w in words if w in _NUMBER_WORDS]
    return sum(values) if values else None


def is_known_label(label: str) -> bool:
    """True when ``label`` is a gold category this module can read."""
    return _key(label) in LABELS or _key(label) in NOT_PHI_LABELS


def map_category(label: str, text: str = "") -> PhiCategory | None:
    """The :class:`PhiCategory` of a gold label, or ``None`` when Safe Harbor does not count it as PHI.

    ``None`` for professions, states, countries, ages up to 89 and a bare year (``2089``, ``'89``).
    Raises :class:`DeidError` for a label it does not know.
    """
    key = _key(label)
    if key in NOT_PHI_LABELS:
        return None
    if key not in LABELS:
        raise DeidError(f"unknown gold category {label!r}; use an i2b2-2014 TYPE (PATIENT, DOCTOR, DATE, ...), "
                        f"a PhysioNet category or one of {', '.join(c.value for c in PhiCategory)}")
    category = LABELS[key]
    if category is PhiCategory.AGE:
        age = _age_value(text)
        if age is not None and age <= 89:
            return None
    if category is PhiCategory.DATE and re.fullmatch(r"\s*(?:\d{4}|'\d{2})s?\s*", text):
        return None
    return category


def _same(gold_text: str, note_text: str) -> bool:
    return " ".join(gold_text.split()) == " ".join(note_text.split())


def _build(patient: str, note: str, text: str, items: Iterable[tuple[int, int, str]]) -> AnnotatedNote:
    spans: list[PhiSpan] = []
    excluded: list[ExcludedSpan] = []
    for start, end, label in items:
        value = text[start:end]
        start, end = start + len(value) - len(value.lstrip()), end - len(value) + len(value.rstrip())
        if start >= end:
            continue  # a span of whitespace only hides nothing
        category = map_category(label, text[start:end])
        if category is None:
            excluded.append(ExcludedSpan(start, end, label, text[start:end]))
        else:
            spans.append(PhiSpan(start, end, category, text[start:end], 1.0, label))
    return AnnotatedNote(patient, note, text, tuple(sorted(spans)), tuple(sorted(excluded, key=lambda s: s.start)))


# -- PhysioNet deid ------------------------------------------------------------------------------------------------

def _read_text(path: Path) -> str:
    try:
        with path.open(encoding="utf-8", newline="") as handle:  # newline="": offsets count every character
            return handle.read()
    except UnicodeDecodeError as exc:
        raise DeidError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8") from None
    except OSError as exc:
        raise DeidError(f"{path}: cannot be read ({exc.strerror}); check the path") from None


def parse_records(raw: str, source: str = "<text>") -> list[tuple[str, str, str]]:
    """``(patient, note, body)`` for every record of a PhysioNet ``id.text`` string, in file order."""
    records: list[tuple[str, str, str]] = []
    pos = 0
    while True:
        header = _HEADER.search(raw, pos)
        if header is None:
            if not records:
                raise DeidError(f"{source}: no 'START_OF_RECORD=<patient>||||<note>||||' line; is this a PhysioNet "
                                "deid id.text file?")
            if raw[pos:].strip():
                line = raw.count("\n", 0, pos) + 1
                raise DeidError(f"{source}:{line}: text after the last '||||END_OF_RECORD'; start it with a "
                                "START_OF_RECORD line or remove it")
            return records
        end = _END.search(raw, header.end())
        nxt = _HEADER.search(raw, header.end())
        if end is None or (nxt is not None and nxt.start() < end.start()):
            line = raw.count("\n", 0, header.start()) + 1
            raise DeidError(f"{source}:{line}: record {header.group(1)}/{header.group(2)} has no "
                            "'||||END_OF_RECORD'; close it before the next START_OF_RECORD")
        records.append((header.group(1), header.group(2), raw[header.end():end.start()]))
        pos = end.end()


def read_records(text_path: str | Path) -> list[AnnotatedNote]:
    """The notes of a PhysioNet ``id.text`` file, without gold spans (for de-identifying a file)."""
    path = Path(text_path)
    return [AnnotatedNote(p, n, body) for p, n, body in parse_records(_read_text(path), str(path))]


def _gold_file_for(text_path: Path) -> Path:
    stem = text_path.name[: -len(".text")] if text_path.name.endswith(".text") else text_path.stem
    for suffix in GOLD_SUFFIXES:
        candidate = text_path.with_name(stem + suffix)
        if candidate.is_file():
            return candidate
    names = ", ".join(stem + s for s in GOLD_SUFFIXES)
    raise DeidError(f"{text_path}: no gold file next to it (looked for {names}); put the gold spans there")


def _parse_gold_line(line: str, source: str, lineno: int) -> tuple[str, str, int, int, list[tuple[str, str]]]:
    """Ids, offsets and the possible (label, text) readings of the rest (labels may hold spaces)."""
    parts = line.split(None, 4)
    if len(parts) < 5 or not (parts[2].isdigit() and parts[3].isdigit()):
        raise DeidError(f"{source}:{lineno}: expected '<patient> <note> <start> <end> <Category> <text>'; "
                        "fix the line")
    words = parts[4].split(" ")
    readings = [(" ".join(words[:k]).strip(), " ".join(words[k:]).strip()) for k in range(len(words), 0, -1)]
    readings = [(label, text) for label, text in readings if is_known_label(label)]
    if not readings:
        try:
            map_category(words[0])
        except DeidError as exc:
            raise DeidError(f"{source}:{lineno}: {exc}") from None
    return parts[0], parts[1], int(parts[2]), int(parts[3]), readings


def read_physionet(text_path: str | Path, gold_path: str | Path | None = None) -> list[AnnotatedNote]:
    """Notes and gold spans from a PhysioNet ``id.text`` and its gold file (found next to it when not given).

    Gold lines: ``<patient> <note> <start> <end> <Category> <text>``; offsets into the note body
    (the text after the ``START_OF_RECORD`` line, up to the line ``||||END_OF_RECORD``); an end
    offset that is inclusive is recognised from the span text; whitespace inside the text may differ.
    """
    path = Path(text_path)
    raw = _read_text(path)
    records = parse_records(raw, str(path))
    gold = Path(gold_path) if gold_path is not None else _gold_file_for(path)
    if "\r\n" in raw:  # offsets may have been counted on either line ending; check both
        try:
            return _attach_gold(records, gold)
        except DeidError:
            records = [(p, n, b.replace("\r\n", "\n")) for p, n, b in records]
    return _attach_gold(records, gold)


def _attach_gold(records: list[tuple[str, str, str]], gold: Path) -> list[AnnotatedNote]:
    bodies = {(p, n): b for p, n, b in records}
    if len(bodies) != len(records):
        raise DeidError(f"{gold}: two records share a patient and note id; give every note its own id")
    items: dict[tuple[str, str], list[tuple[int, int, str]]] = {key: [] for key in bodies}
    for lineno, line in enumerate(_read_text(gold).splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        patient, note, start, end, readings = _parse_gold_line(line, str(gold), lineno)
        body = bodies.get((patient, note))
        where = f"{gold}:{lineno}"
        if body is None:
            raise DeidError(f"{where}: patient {patient} note {note} is not in the text file; fix the ids")
        # the reading whose text matches the note wins; an inclusive end offset is recognised the same way
        matches = [(label, end + extra) for extra in (0, 1) for label, text in readings
                   if text and _same(text, body[start:end + extra])]
        matches += [(label, end) for label, text in readings if not text]
        label, text = readings[0]
        if matches:
            label, end = matches[0]
        if not 0 <= start < end <= len(body):
            raise DeidError(f"{where}: span {start}:{end} lies outside note {patient}/{note} ({len(body)} "
                            "characters); fix the offsets")
        if not matches:
            raise DeidError(f"{where}: span {start}:{end} says {text!r} but the note has {body[start:end]!r} "
                            "there; fix the offsets or the text")
        items[(patient, note)].append((start, end, label))
    return [_build(p, n, b, items[(p, n)]) for p, n, b in records]


def write_physionet(notes: Sequence[AnnotatedNote], text_path: str | Path, gold_path: str | Path | None = None) -> Path:
    """Write ``notes`` as a PhysioNet ``id.text`` and gold file (default ``<stem>.phi``); returns the gold path.

    Each span is written with its gold label (``span.source``) when that label maps to its category,
    else with the category name; excluded spans with their label. Both files are written whole or not at all.
    """
    text_path = Path(text_path)
    stem = text_path.name[: -len(".text")] if text_path.name.endswith(".text") else text_path.stem
    gold_path = Path(gold_path) if gold_path is not None else text_path.with_name(stem + ".phi")
    body, gold = [], []
    for note in notes:
        for ident in (note.patient, note.note):
            if not ident or re.search(r"[\s|]", ident):
                raise DeidError(f"patient/note id {ident!r} is empty or has spaces or '|'; use ids like 'P12' and '3'")
        if "START_OF_RECORD=" in note.text or "||END_OF_RECORD" in note.text:
            raise DeidError(f"note {note.patient}/{note.note} contains a PhysioNet record marker; remove it first")
        body.append(f"START_OF_RECORD={note.patient}||||{note.note}||||\n{note.text}\n||||END_OF_RECORD\n")
        rows = [(s.start, s.end, _label_for(s), s) for s in note.spans]
        rows += [(s.start, s.end, s.label, s) for s in note.excluded]
        for start, end, label, _ in sorted(rows, key=lambda r: (r[0], r[1])):
            gold.append(f"{note.patient} {note.note} {start} {end} {label} {' '.join(note.text[start:end].split())}\n")
    _write_all({text_path: "".join(body), gold_path: "".join(gold)})
    return gold_path


def _label_for(span: PhiSpan) -> str:
    return span.source if LABELS.get(_key(span.source)) is span.category else span.category.value


def _write_all(files: dict[Path, str]) -> None:
    """Write every file through a temporary sibling, then rename: nothing half-written on failure."""
    temps = []
    try:
        for path, content in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(path.name + ".tmp")
            with tmp.open("w", encoding="utf-8", newline="") as handle:
                handle.write(content)
            temps.append((tmp, path))
        for tmp, path in temps:
            tmp.replace(path)
    except OSError as exc:
        for tmp, _ in temps:
            tmp.unlink(missing_ok=True)
        raise DeidError(f"cannot write {exc.filename}: {exc.strerror}; check the folder") from None


# -- i2b2-2014 XML -------------------------------------------------------------------------------------------------

def read_i2b2(path: str | Path) -> list[AnnotatedNote]:
    """Notes from one i2b2-2014 de-id XML file or a folder of them (patient and note from the file name).

    File ``110-02.xml`` gives patient ``110``, note ``02``; any other name gives patient = note = stem.
    """
    path = Path(path)
    files = sorted(path.glob("*.xml")) if path.is_dir() else [path]
    if not files:
        raise DeidError(f"{path}: no *.xml files in the folder; point at i2b2-2014 de-id XML files")
    return [_read_i2b2_file(f) for f in files]


def _read_i2b2_file(path: Path) -> AnnotatedNote:
    try:
        root = ET.fromstring(_read_text(path))
    except ET.ParseError as exc:
        raise DeidError(f"{path}:{exc.position[0]}: not well-formed XML ({exc.msg}); fix the file") from None
    text_el = root.find("TEXT")
    if text_el is None or text_el.text is None:
        raise DeidError(f"{path}: no <TEXT> element; is this an i2b2-2014 de-id file (<deIdi2b2><TEXT>...)?")
    text = text_el.text
    items = []
    tags = root.find("TAGS")
    for tag in tags if tags is not None else ():
        where = f"{path}: tag {tag.get('id') or tag.tag}"
        try:
            start, end = int(tag.get("start", "")), int(tag.get("end", ""))
        except ValueError:
            raise DeidError(f"{where} has no integer start/end; add them") from None
        label = tag.get("TYPE") or tag.tag
        if not 0 <= start < end <= len(text):
            raise DeidError(f"{where}: span {start}:{end} lies outside the text ({len(text)} characters); "
                            "fix the offsets")
        if tag.get("text") is not None and not _same(tag.get("text", ""), text[start:end]):
            raise DeidError(f"{where}: says {tag.get('text')!r} but the text has {text[start:end]!r} at "
                            f"{start}:{end}; fix the offsets or the text")
        try:
            map_category(label)
        except DeidError as exc:
            raise DeidError(f"{where}: {exc}") from None
        items.append((start, end, label))
    stem = path.stem
    patient, note = stem.split("-", 1) if "-" in stem else (stem, stem)
    return _build(patient, note, text, items)


def write_i2b2(note: AnnotatedNote, path: str | Path) -> Path:
    """Write one note as i2b2-2014 de-id XML (TYPE from the gold label when it is an i2b2 TYPE)."""
    root = ET.Element("deIdi2b2")
    ET.SubElement(root, "TEXT").text = "\0CDATA\0"
    tags = ET.SubElement(root, "TAGS")
    rows = [(s.start, s.end, s.source if s.source.upper() in I2B2_TAGS and LABELS.get(_key(s.source)) is s.category
             else _I2B2_TYPE_OF[s.category]) for s in note.spans]
    rows += [(s.start, s.end, s.label.upper()) for s in note.excluded]
    for i, (start, end, kind) in enumerate(sorted(rows)):
        kind = kind.upper()
        ET.SubElement(tags, I2B2_TAGS.get(kind, "ID"), id=f"P{i}", start=str(start), end=str(end),
                      text=note.text[start:end], TYPE=kind, comment="")
    if "]]>" in note.text:
        raise DeidError(f"note {note.patient}/{note.note} contains ']]>', which CDATA cannot hold; remove it")
    xml = ET.tostring(root, encoding="unicode").replace("\0CDATA\0", f"<![CDATA[{note.text}]]>")
    out = Path(path)
    _write_all({out: '<?xml version="1.0" encoding="UTF-8" ?>\n' + xml + "\n"})
    return out


# -- either ----------------------------------------------------------------------------------------------------------

def read_gold(path: str | Path) -> list[AnnotatedNote]:
    """Gold notes from a folder of i2b2 XML, one XML file, or a PhysioNet ``id.text`` (gold file next to it).

    >>> notes = read_gold("hygeia/privacy/corpus/dev.text")               # doctest: +SKIP
    >>> len(notes) >= 100                                                 # doctest: +SKIP
    True
    """
    path = Path(path)
    if path.is_dir():
        if any(path.glob("*.xml")):
            return read_i2b2(path)
        texts = sorted(path.glob("*.text"))
        if texts:
            return [note for text in texts for note in read_physionet(text)]
        raise DeidError(f"{path}: no *.xml or *.text files in the folder; point at i2b2 XML or a PhysioNet id.text")
    if not path.is_file():
        raise DeidError(f"{path}: no such file or folder; check the path")
    if path.suffix.lower() == ".xml":
        return read_i2b2(path)
    if path.suffix.lower() == ".text":
        return read_physionet(path)
    head = _read_text(path)[:4096]
    if "<deIdi2b2" in head:
        return read_i2b2(path)
    if "START_OF_RECORD=" in head:
        return read_physionet(path)
    raise DeidError(f"{path}: neither i2b2-2014 XML nor a PhysioNet id.text; give one of those")
