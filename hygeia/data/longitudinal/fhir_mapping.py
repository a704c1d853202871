"""FHIR R4 resources -> cohort rows: one mapper per resource type, then linking into two tables.

Mappers read validated resource dicts (``fhir.resources`` has already checked them) and return
:class:`RawEvent` rows that still carry FHIR references and date strings. :func:`link` resolves
the references (``urn:uuid:`` fullUrls of Bundles, ``Type/id`` of bulk NDJSON), turns dates into
ages in days, drops what cannot be placed on a timeline (counting it), and hands out pseudonymous
ids (:mod:`hygeia.data.longitudinal.ids`).

Time: an age is the event's wall-clock time minus midnight of the birth date, both in the
source's own time zone (the UTC offset is dropped, as the birth date carries none). A year- or
month-only date is placed at its first day.

>>> rows = MAPPERS["Condition"](condition_dict)  # doctest: +SKIP
>>> rows[0].kind, rows[0].code  # doctest: +SKIP
('condition', '44054006')
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any, NamedTuple

import pandas as pd

from hygeia.data.longitudinal.cohort import EVENT_COLUMNS, PATIENT_COLUMNS, SEXES
from hygeia.data.longitudinal.ids import number_events, patient_ids, source_hash

US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition/"
_EPOCH = datetime(1970, 1, 1)

Json = dict[str, Any]


class RawEvent(NamedTuple):
    """One event as a mapper sees it: codes and values final, time and links still FHIR strings."""

    kind: str
    system: str | None
    code: str | None
    display: str | None
    start: str | None
    end: str | None
    value: float | None
    unit: str | None
    value_code: str | None
    patient: str | None  # reference to the Patient
    encounter: str | None  # reference to the Encounter
    medication: str | None = None  # unresolved medicationReference, looked up in :func:`link`


class RawPatient(NamedTuple):
    sex: str
    race: str | None
    ethnicity: str | None
    birth: str | None
    deceased: str | None
    deceased_flag: bool


class Origin(NamedTuple):
    """Where a resource came from: file, NDJSON line or Bundle entry index, type and canonical key."""

    file: str
    line: int
    resource_type: str
    key: str


@dataclass
class Parsed:
    """What the readers collected from the files, before linking."""

    patients: list[tuple[Origin, RawPatient]] = field(default_factory=list)
    events: list[tuple[Origin, list[RawEvent]]] = field(default_factory=list)
    medications: dict[str, tuple[str | None, str | None, str | None]] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)  # fullUrl -> canonical key


@dataclass
class Linked:
    """Linked tables plus what linking had to leave out."""

    patients: pd.DataFrame
    events: pd.DataFrame
    used: Counter[str]
    bad_references: list[tuple[Origin, str]]
    notes: list[str]


# -- small readers of FHIR datatypes ---------------------------------------------------------------------------

def reference(node: Json | None) -> str | None:
    """A reference string normalised for lookup: ``urn:...`` and ``#id`` kept, URLs cut to ``Type/id``."""
    ref = (node or {}).get("reference")
    if not ref or ref.startswith(("urn:", "#")):
        return ref
    ref = ref.split("/_history/")[0]
    parts = ref.rstrip("/").split("/")
    return "/".join(parts[-2:]) if len(parts) >= 2 else ref


def concept(node: Json | None) -> tuple[str | None, str | None, str | None]:
    """(system, code, display) of a CodeableConcept's first coding; display falls back to its text."""
    if not node:
        return None, None, None
    codings = node.get("coding") or [{}]
    first = codings[0]
    return first.get("system"), first.get("code"), first.get("display") or node.get("text")


def _value(node: Json) -> tuple[float | None, str | None, str | None]:
    """(value, unit, value_code). Free-text and date values are not kept: they can carry identifiers and dates."""
    quantity = node.get("valueQuantity")
    if quantity is not None:
        number = quantity.get("value")
        return (None if number is None else float(number)), quantity.get("unit") or quantity.get("code"), None
    coded = node.get("valueCodeableConcept")
    if coded is not None:
        _, code, display = concept(coded)
        return None, None, code or display
    if "valueInteger" in node:
        return float(node["valueInteger"]), None, None
    if "valueBoolean" in node:
        return None, None, "true" if node["valueBoolean"] else "false"
    return None, None, None


def _period(node: Json | None) -> tuple[str | None, str | None]:
    return ((node or {}).get("start"), (node or {}).get("end"))


# -- mappers: one per resource type (the registry :data:`MAPPERS`) ----------------------------------------------

def encounter(res: Json) -> list[RawEvent]:
    start, end = _period(res.get("period"))
    kinds = res.get("type") or [None]
    return [RawEvent("encounter", *concept(kinds[0]), start, end, None, None, (res.get("class") or {}).get("code"),
                     reference(res.get("subject")), None)]


def condition(res: Json) -> list[RawEvent]:
    start = res.get("onsetDateTime") or _period(res.get("onsetPeriod"))[0] or res.get("recordedDate")
    end = res.get("abatementDateTime") or _period(res.get("abatementPeriod"))[1]
    return [RawEvent("condition", *concept(res.get("code")), start, end, None, None, None,
                     reference(res.get("subject")), reference(res.get("encounter")))]


def observation(res: Json) -> list[RawEvent]:
    """One event per observation, or per component for panels (blood pressure: systolic and diastolic)."""
    start, end = res.get("effectiveDateTime") or res.get("effectiveInstant"), None
    if not start:
        start, end = _period(res.get("effectivePeriod"))
    start = start or res.get("issued")  # when the result was released: the best time left for an undated result
    patient, enc = reference(res.get("subject")), reference(res.get("encounter"))
    own = _value(res)
    components = res.get("component") or []
    # A panel with no value of its own adds nothing beyond its components, so only they are kept.
    rows = [] if components and own == (None, None, None) else [
        RawEvent("observation", *concept(res.get("code")), start, end, *own, patient, enc)]
    for part in components:
        rows.append(RawEvent("observation", *concept(part.get("code")), start, end, *_value(part), patient, enc))
    return rows


def medication_request(res: Json) -> list[RawEvent]:
    bounds = [((d.get("timing") or {}).get("repeat") or {}).get("boundsPeriod") for d in
              res.get("dosageInstruction") or []]
    first, last = _period(next((b for b in bounds if b), None))
    start = res.get("authoredOn") or first
    med, pending = res.get("medicationCodeableConcept"), None
    if med is None:
        ref = reference(res.get("medicationReference"))
        if ref and ref.startswith("#"):  # a contained Medication
            med = next((c.get("code") for c in res.get("contained") or [] if c.get("id") == ref[1:]), None)
        else:
            pending = ref
    return [RawEvent("medication", *concept(med), start, last, None, None, None, reference(res.get("subject")),
                     reference(res.get("encounter")), pending)]


def procedure(res: Json) -> list[RawEvent]:
    start, end = _period(res.get("performedPeriod"))
    start = res.get("performedDateTime") or start
    return [RawEvent("procedure", *concept(res.get("code")), start, end, None, None, None,
                     reference(res.get("subject")), reference(res.get("encounter")))]


def immunization(res: Json) -> list[RawEvent]:
    return [RawEvent("immunization", *concept(res.get("vaccineCode")), res.get("occurrenceDateTime"), None, None,
                     None, None, reference(res.get("patient")), reference(res.get("encounter")))]


def allergy(res: Json) -> list[RawEvent]:
    start = res.get("onsetDateTime") or _period(res.get("onsetPeriod"))[0] or res.get("recordedDate")
    return [RawEvent("allergy", *concept(res.get("code")), start, None, None, None, None,
                     reference(res.get("patient")), reference(res.get("encounter")))]


#: Resource type -> mapper. Everything else is counted and left out.
MAPPERS: dict[str, Callable[[Json], list[RawEvent]]] = {
    "Encounter": encounter, "Condition": condition, "Observation": observation,
    "MedicationRequest": medication_request, "Procedure": procedure, "Immunization": immunization,
    "AllergyIntolerance": allergy,
}


def _us_core(res: Json, name: str) -> str | None:
    for ext in res.get("extension") or []:
        if ext.get("url") == US_CORE + name:
            parts = {p.get("url"): p for p in ext.get("extension") or []}
            text = (parts.get("text") or {}).get("valueString")
            return text or ((parts.get("ombCategory") or {}).get("valueCoding") or {}).get("display")
    return None


def patient(res: Json) -> RawPatient:
    """Static attributes only: no name, address, telecom, identifier or id is read."""
    gender = res.get("gender")
    return RawPatient(gender if gender in SEXES else "unknown", _us_core(res, "us-core-race"),
                      _us_core(res, "us-core-ethnicity"), res.get("birthDate"), res.get("deceasedDateTime"),
                      bool(res.get("deceasedBoolean")))


# -- linking ---------------------------------------------------------------------------------------------------

@lru_cache(maxsize=65536)
def local_days(text: str) -> float:
    """Days since 1970-01-01 of a FHIR date/dateTime's wall-clock time (offset dropped, partial dates at start).

    NaN for a string that is no date (validation lets few through, e.g. a 30 February).
    """
    if len(text) == 4:
        text += "-01-01"
    elif len(text) == 7:
        text += "-01"
    try:
        return (datetime.fromisoformat(text[:19]) - _EPOCH).total_seconds() / 86_400
    except ValueError:
        return math.nan


def link(parsed: Parsed) -> Linked:
    """Resolve references, compute ages and give out ids; count every record left out and why."""
    notes: list[str] = []
    claimed: dict[str, Origin] = {}
    duplicates = 0

    def first_time(origin: Origin) -> bool:
        nonlocal duplicates
        seen = claimed.setdefault(origin.key, origin)
        if seen is origin or (seen.file, seen.line) == (origin.file, origin.line):
            return True
        duplicates += 1
        return False

    people = {o.key: p for o, p in parsed.patients if first_time(o)}
    pids = patient_ids(people)
    births = {k: (local_days(p.birth) if p.birth else math.nan) for k, p in people.items()}
    resolve = parsed.aliases.get
    used: Counter[str] = Counter({"Patient": len(people)}) if people else Counter()
    bad: list[tuple[Origin, str]] = []
    dropped: Counter[str] = Counter()
    rows: list[tuple] = []
    unresolved_meds = 0
    for origin, raws in parsed.events:
        if not first_time(origin):
            continue
        kept = 0
        for sub, ev in enumerate(raws):
            pkey = resolve(ev.patient, ev.patient) if ev.patient else None
            if pkey not in people:
                bad.append((origin, f"patient reference {ev.patient!r} matches no Patient in the input"
                            if ev.patient else "no subject/patient reference"))
                break
            birth = births[pkey]
            if math.isnan(birth):
                dropped["patient without birthDate"] += 1
                continue
            age = local_days(ev.start) - birth if ev.start else math.nan
            if math.isnan(age):
                dropped[f"{ev.kind} without a date"] += 1
                continue
            system, code, display = ev.system, ev.code, ev.display
            if ev.medication is not None:
                # A medicationReference to a Medication elsewhere in the input; unresolved ones keep no code.
                system, code, display = parsed.medications.get(resolve(ev.medication, ev.medication),
                                                               (None, None, None))
                unresolved_meds += code is None
            end = local_days(ev.end) - birth if ev.end else math.nan
            enc = resolve(ev.encounter, ev.encounter) if ev.encounter else None
            rows.append((pids[pkey], ev.kind, system, code, display, age, end,
                         math.nan if ev.value is None else ev.value, ev.unit, ev.value_code, enc, origin.key,
                         f"{source_hash(origin.key)}:{sub:04d}"))
            kept += 1
        if kept:
            used[origin.resource_type] += 1
    columns = [c for c in EVENT_COLUMNS if c not in ("event_id", "encounter_id")] + ["_enc", "_key", "_tie"]
    frame = pd.DataFrame(rows, columns=columns)
    events = number_events(frame.drop(columns="_tie"), frame["_tie"])
    encounter_ids = dict(zip(events.loc[events["kind"] == "encounter", "_key"],
                             events.loc[events["kind"] == "encounter", "event_id"]))
    events["encounter_id"] = events["_enc"].map(encounter_ids)
    unlinked = int((events["_enc"].notna() & events["encounter_id"].isna()).sum())
    events["encounter_id"] = events["encounter_id"].astype(object).where(events["encounter_id"].notna(), None)
    patients = pd.DataFrame([(pids[k], p.sex, p.race, p.ethnicity,
                              float(p.birth[:4]) if p.birth else math.nan,
                              local_days(p.deceased) - births[k] if p.deceased else math.nan)
                             for k, p in people.items()], columns=list(PATIENT_COLUMNS))
    patients = patients.sort_values("patient_id").reset_index(drop=True)
    flagged = sum(1 for p in people.values() if p.deceased_flag and not p.deceased)
    for what, count in sorted(dropped.items()):
        notes.append(f"{count:,} event(s) left out: {what} (an event needs a time to sit on a timeline)")
    for count, text in ((duplicates, "resource(s) appeared more than once (same type and id); the first was kept"),
                        (unlinked, "event(s) name an encounter not in the input; encounter_id left empty"),
                        (unresolved_meds, "medication(s) name a Medication not in the input; code left empty"),
                        (flagged, "patient(s) marked deceased without a date; deceased_age_days left empty")):
        if count:
            notes.append(f"{count:,} {text}")
    return Linked(patients, events[list(EVENT_COLUMNS)], used, bad, notes)
