"""Per-resource builders for the FHIR R4 export: plain dicts, one builder per cohort event kind.

The exporter (:mod:`hygeia.release.fhir_export`) draws the ids, dates and surrogate demographics;
these builders only shape them into FHIR R4 JSON. They build dicts rather than pydantic models
because that is ~50x faster; :func:`hygeia.release.fhir_export.validate_fhir` checks the result
against the ``fhir.resources.R4B`` models afterwards.

Every resource carries :data:`SYNTHETIC_TAG` in ``meta.tag``: HL7's own code for synthetic data
(``v3-ObservationValue#SYNTH``), chosen over a Hygeia-specific tag so that any FHIR server or
consumer can recognise (and filter) synthetic records without knowing Hygeia.

>>> refs = Refs()
>>> event = Event("condition", "http://snomed.info/sct", "44054006", "Diabetes", "2001-02-03T04:05:06+00:00",
...               None, None, None, None, None)
>>> res = BUILDERS["condition"](event, "c1", refs.ref("Patient", "p1"))
>>> res["resourceType"], res["clinicalStatus"]["coding"][0]["code"], res["subject"]
('Condition', 'active', {'reference': 'Patient/p1'})
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

#: On every resource (and every Bundle): HL7's code for synthetic data.
SYNTHETIC_TAG: dict[str, str] = {"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
                                 "code": "SYNTH", "display": "synthetic data"}
META: dict[str, Any] = {"tag": [SYNTHETIC_TAG]}
SYNTHETIC_REASON = "synthetic data — not a real patient"
RELEASE_SYSTEM = "https://hygeia.dev/release"
SOFTWARE_SYSTEM = "https://hygeia.dev/software"
GENERATOR_SYSTEM = "https://hygeia.dev/generator"

UCUM = "http://unitsofmeasure.org"
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
OMB = "urn:oid:2.16.840.1.113883.6.238"
US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition/"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"

#: LOINC codes of the FHIR vital-signs profiles (and the ones Synthea files as vital signs); other
#: Observations are filed as laboratory: the cohort does not keep the source category.
VITAL_SIGNS: frozenset[str] = frozenset({
    "85353-1", "9279-1", "8867-4", "2708-6", "59408-5", "8310-5", "8302-2", "8306-3", "9843-4", "8287-5",
    "29463-7", "39156-5", "85354-9", "8480-6", "8462-4", "72514-3", "77606-2", "59576-9", "8289-1", "59575-1",
})
ENCOUNTER_CLASSES: dict[str, str] = {
    "AMB": "ambulatory", "EMER": "emergency", "IMP": "inpatient encounter", "ACUTE": "inpatient acute",
    "NONAC": "inpatient non-acute", "OBSENC": "observation encounter", "PRENC": "pre-admission", "SS": "short stay",
    "VR": "virtual", "HH": "home health", "FLD": "field",
}
DEFAULT_CLASS = "AMB"  # Encounter.class is required in R4; a cohort without one gets "ambulatory"
RACES: dict[str, tuple[str, str]] = {
    "white": ("2106-3", "White"), "black or african american": ("2054-5", "Black or African American"),
    "black": ("2054-5", "Black or African American"), "asian": ("2028-9", "Asian"),
    "american indian or alaska native": ("1002-5", "American Indian or Alaska Native"),
    "native": ("1002-5", "American Indian or Alaska Native"),
    "native hawaiian or other pacific islander": ("2076-8", "Native Hawaiian or Other Pacific Islander"),
    "hawaiian": ("2076-8", "Native Hawaiian or Other Pacific Islander"),
}
ETHNICITIES: dict[str, tuple[str, str]] = {
    "hispanic or latino": ("2135-2", "Hispanic or Latino"), "hispanic": ("2135-2", "Hispanic or Latino"),
    "not hispanic or latino": ("2186-5", "Not Hispanic or Latino"),
    "nonhispanic": ("2186-5", "Not Hispanic or Latino"), "non-hispanic": ("2186-5", "Not Hispanic or Latino"),
}
GENDERS = frozenset({"female", "male", "other", "unknown"})
# A UCUM expression has no spaces and only these characters ("mg/dL", "10*3/uL", "mm[Hg]", "{score}", "%").
_UCUM_LIKE = re.compile(r"^[A-Za-z0-9%/.*\[\]{}()^'_\-]+$")
_LOINC_ANSWER = re.compile(r"^LA\d+-\d$")


@dataclass(slots=True)
class Event:
    """One cohort event with its times already turned into FHIR dateTimes and its encounter into a reference."""

    kind: str
    system: str | None
    code: str | None
    display: str | None
    start: str | None
    end: str | None
    value: float | None
    unit: str | None
    value_code: str | None
    encounter: dict[str, str] | None


class Refs:
    """The reference dicts of one patient's resources, so they can be rewritten from ``Type/id`` to ``urn:uuid:id``.

    NDJSON is serialised first with ``Type/id``; :meth:`to_urn` then rewrites the same dicts in place for
    the transaction Bundle, so each resource is built once for both formats.
    """

    def __init__(self) -> None:
        self._refs: dict[tuple[str, str], dict[str, str]] = {}

    def ref(self, resource_type: str, rid: str) -> dict[str, str]:
        key = (resource_type, rid)
        if key not in self._refs:
            self._refs[key] = {"reference": f"{resource_type}/{rid}"}
        return self._refs[key]

    def to_urn(self) -> None:
        for (_, rid), ref in self._refs.items():
            ref["reference"] = f"urn:uuid:{rid}"


def concept(system: str | None, code: str | None, display: str | None) -> dict[str, Any]:
    """A CodeableConcept; a required one with neither code nor display becomes text "unknown"."""
    out: dict[str, Any] = {}
    if code:
        coding = {"system": system, "code": code} if system else {"code": code}
        if display:
            coding["display"] = display
        out["coding"] = [coding]
    if display:
        out["text"] = display
    return out or {"text": "unknown"}


def status(system: str, code: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code}]}


def period(start: str | None, end: str | None) -> dict[str, str]:
    """A Period; an end before its start is dropped (FHIR per-1), a generator's slip must not break validity."""
    out = {}
    if start:
        out["start"] = start
    if end and (not start or end >= start):  # same format and offset, so string order is time order
        out["end"] = end
    return out


def number(value: float) -> int | float:
    """JSON decimal: 796900 rather than 796900.0."""
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def quantity(value: float, unit: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {"value": number(value)}
    if unit:
        out["unit"] = unit
        if _UCUM_LIKE.match(unit):  # a guess: the cohort keeps the unit string, not its system
            out["system"], out["code"] = UCUM, unit
    return out


def value_concept(code: str) -> dict[str, Any]:
    """A coded result: the cohort keeps only the code, so its system is guessed (LOINC answer, SNOMED) or left out."""
    if _LOINC_ANSWER.match(code):
        return {"coding": [{"system": LOINC, "code": code}]}
    if code.isdigit():
        return {"coding": [{"system": SNOMED, "code": code}]}
    return {"coding": [{"code": code}]}


def _base(resource_type: str, rid: str) -> dict[str, Any]:
    return {"resourceType": resource_type, "id": rid, "meta": META}


def encounter(ev: Event, rid: str, subject: dict[str, str]) -> dict[str, Any]:
    code = (ev.value_code or DEFAULT_CLASS).strip()
    code = code.upper() if code.upper() in ENCOUNTER_CLASSES else code
    cls = {"system": ACT_CODE, "code": code}
    if code in ENCOUNTER_CLASSES:
        cls["display"] = ENCOUNTER_CLASSES[code]
    res = _base("Encounter", rid) | {"status": "finished", "class": cls}
    if ev.code or ev.display:
        res["type"] = [concept(ev.system, ev.code, ev.display)]
    res["subject"] = subject
    if ev.start or ev.end:
        res["period"] = period(ev.start, ev.end)
    return res


def condition(ev: Event, rid: str, subject: dict[str, str]) -> dict[str, Any]:
    resolved = ev.end is not None  # an abatement date means resolved (FHIR con-4 forbids "active" with one)
    res = _base("Condition", rid) | {
        "clinicalStatus": status("http://terminology.hl7.org/CodeSystem/condition-clinical",
                                 "resolved" if resolved else "active"),
        "verificationStatus": status("http://terminology.hl7.org/CodeSystem/condition-ver-status", "confirmed"),
        "category": [status("http://terminology.hl7.org/CodeSystem/condition-category",
                            "encounter-diagnosis" if ev.encounter else "problem-list-item")],
        "code": concept(ev.system, ev.code, ev.display), "subject": subject}
    if ev.encounter:
        res["encounter"] = ev.encounter
    if ev.start:
        res["onsetDateTime"] = res["recordedDate"] = ev.start
    if ev.end:
        res["abatementDateTime"] = ev.end
    return res


def observation(ev: Event, rid: str, subject: dict[str, str]) -> dict[str, Any]:
    category = "vital-signs" if ev.code in VITAL_SIGNS else "laboratory"
    res = _base("Observation", rid) | {
        "status": "final", "category": [{"coding": [{"system": OBS_CATEGORY, "code": category}]}],
        "code": concept(ev.system, ev.code, ev.display), "subject": subject}
    if ev.encounter:
        res["encounter"] = ev.encounter
    if ev.start and ev.end:
        res["effectivePeriod"] = period(ev.start, ev.end)
    elif ev.start:
        res["effectiveDateTime"] = ev.start
    if ev.value is not None:  # a numeric result wins over a coded one: value[x] holds one of them
        res["valueQuantity"] = quantity(ev.value, ev.unit)
    elif ev.value_code:
        res["valueCodeableConcept"] = value_concept(ev.value_code)
    return res


def medication(ev: Event, rid: str, subject: dict[str, str]) -> dict[str, Any]:
    res = _base("MedicationRequest", rid) | {
        "status": "stopped" if ev.end else "active", "intent": "order",
        "medicationCodeableConcept": concept(ev.system, ev.code, ev.display), "subject": subject}
    if ev.encounter:
        res["encounter"] = ev.encounter
    if ev.start:
        res["authoredOn"] = ev.start
    if ev.end:  # how long it was taken: the dosage's bounds
        res["dosageInstruction"] = [{"timing": {"repeat": {"boundsPeriod": period(ev.start, ev.end)}}}]
    return res


def procedure(ev: Event, rid: str, subject: dict[str, str]) -> dict[str, Any]:
    res = _base("Procedure", rid) | {"status": "completed", "code": concept(ev.system, ev.code, ev.display),
                                     "subject": subject}
    if ev.encounter:
        res["encounter"] = ev.encounter
    if ev.start and ev.end:
        res["performedPeriod"] = period(ev.start, ev.end)
    elif ev.start:
        res["performedDateTime"] = ev.start
    return res


def immunization(ev: Event, rid: str, subject: dict[str, str]) -> dict[str, Any]:
    res = _base("Immunization", rid) | {"status": "completed", "vaccineCode": concept(ev.system, ev.code, ev.display),
                                        "patient": subject}
    if ev.encounter:
        res["encounter"] = ev.encounter
    # occurrence[x] is required: an event without a time says so in occurrenceString
    res["occurrenceDateTime" if ev.start else "occurrenceString"] = ev.start or "unknown"
    res["primarySource"] = True
    return res


def allergy(ev: Event, rid: str, subject: dict[str, str]) -> dict[str, Any]:
    res = _base("AllergyIntolerance", rid) | {
        "clinicalStatus": status("http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
                                 "resolved" if ev.end else "active"),
        "verificationStatus": status("http://terminology.hl7.org/CodeSystem/allergyintolerance-verification",
                                     "confirmed"),
        "code": concept(ev.system, ev.code, ev.display), "patient": subject}
    if ev.encounter:
        res["encounter"] = ev.encounter
    if ev.start:
        res["onsetDateTime"] = res["recordedDate"] = ev.start
    return res


#: Event kind -> (FHIR resource type, builder). Same keys as :data:`hygeia.data.longitudinal.EVENT_KINDS`.
BUILDERS: dict[str, Callable[[Event, str, dict[str, str]], dict[str, Any]]] = {
    "encounter": encounter, "condition": condition, "observation": observation, "medication": medication,
    "procedure": procedure, "immunization": immunization, "allergy": allergy,
}


def _us_core(kind: str, value: str | None, table: dict[str, tuple[str, str]]) -> dict[str, Any] | None:
    """US Core race/ethnicity: the OMB category when the value names one, the text always (it is required)."""
    if value is None or not str(value).strip():
        return None
    text = str(value).strip()
    key = text.lower()
    by_code = {code: (code, disp) for code, disp in table.values()}
    found = table.get(key) or by_code.get(text)
    parts: list[dict[str, Any]] = []
    if found:
        parts.append({"url": "ombCategory", "valueCoding": {"system": OMB, "code": found[0], "display": found[1]}})
        text = found[1]
    parts.append({"url": "text", "valueString": text})
    return {"url": f"{US_CORE}us-core-{kind}", "extension": parts}


def patient(rid: str, *, sex: str | None, race: str | None, ethnicity: str | None, birth_date: str | None,
            deceased: str | None, person: dict[str, Any]) -> dict[str, Any]:
    """A Patient from the cohort's static attributes and a surrogate ``person`` (name, address, telecom)."""
    res = _base("Patient", rid)
    extensions = [e for e in (_us_core("race", race, RACES), _us_core("ethnicity", ethnicity, ETHNICITIES)) if e]
    if extensions:
        res["extension"] = extensions
    res |= {"name": [person["name"]], "telecom": person["telecom"],
            "gender": sex if sex in GENDERS else "unknown"}
    if birth_date:
        res["birthDate"] = birth_date
    if deceased:
        res["deceasedDateTime"] = deceased
    res["address"] = [person["address"]]
    return res


def provenance(rid: str, *, targets: list[dict[str, str]], recorded: str, release_id: str, version: str,
               generator: str) -> dict[str, Any]:
    """Who made this patient: Hygeia (assembler), its generator (author), from the release ``release_id``."""
    agents: list[dict[str, Any]] = [{
        "type": status("http://terminology.hl7.org/CodeSystem/provenance-participant-type", "assembler"),
        "who": {"type": "Device", "identifier": {"system": SOFTWARE_SYSTEM, "value": f"hygeia/{version}"},
                "display": f"Hygeia {version}"}}]
    if generator:
        agents.append({
            "type": status("http://terminology.hl7.org/CodeSystem/provenance-participant-type", "author"),
            "who": {"type": "Device", "identifier": {"system": GENERATOR_SYSTEM, "value": generator},
                    "display": f"Hygeia {version} generator {generator}"}})
    return _base("Provenance", rid) | {
        "target": targets, "recorded": recorded,
        "reason": [{"text": SYNTHETIC_REASON}],
        "activity": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-DataOperation",
                                 "code": "CREATE", "display": "create"}]},
        "agent": agents,
        "entity": [{"role": "source", "what": {"identifier": {"system": RELEASE_SYSTEM, "value": release_id},
                                               "display": f"Hygeia release {release_id}"}}]}


def finite(value: Any) -> float | None:
    """A float, or None for missing/NaN/inf (which JSON and FHIR decimals cannot hold)."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None
