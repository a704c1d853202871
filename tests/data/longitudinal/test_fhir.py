"""FHIR R4 -> Cohort on the shared Synthea data: Bundles, bulk NDJSON, their equivalence, and damaged input.

Real sources: 60 Synthea HIV-care transaction Bundles (59 patients and one hospital bundle of
Organizations and Locations) and a 13-patient Synthea bulk export. Small hand-written resources
pin down the mapping rules the real files do not exercise (panels, medicationReference, dates).
"""

from __future__ import annotations

import gzip
import json
import math
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from hygeia.data.longitudinal.fhir import read_fhir
from hygeia.errors import DataError

SHARED = Path(__file__).resolve().parents[4] / "shared" / "data"
BUNDLES = SHARED / "synthea-fhir"
BULK = SHARED / "synthea-bulk-10"
needs_bundles = pytest.mark.skipif(not BUNDLES.is_dir(), reason="shared Synthea bundles not present")
needs_bulk = pytest.mark.skipif(not BULK.is_dir(), reason="shared Synthea bulk export not present")


def _patient_bundles(n: int) -> list[Path]:
    return sorted(p for p in BUNDLES.glob("*.json.gz") if not p.name.startswith("hospital"))[:n]


def _load(path: Path) -> Any:
    raw = path.read_bytes()
    return json.loads(gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw)


def _bulk_resources() -> list[dict[str, Any]]:
    out = []
    for path in sorted(BULK.glob("*.ndjson.gz")):
        out += [r for r in map(json.loads, gzip.decompress(path.read_bytes()).splitlines()) if "resourceType" in r]
    return out


def _rewrite_refs(node: Any, mapping: dict[str, str]) -> Any:
    if isinstance(node, dict):
        return {k: (mapping.get(v, v) if k == "reference" and isinstance(v, str) else _rewrite_refs(v, mapping))
                for k, v in node.items()}
    if isinstance(node, list):
        return [_rewrite_refs(v, mapping) for v in node]
    return node


def _write_ndjson(folder: Path, resources: list[dict[str, Any]], *, gz: bool) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    by_type: dict[str, list[str]] = defaultdict(list)
    for res in resources:
        by_type[res["resourceType"]].append(json.dumps(res))
    for rtype, lines in by_type.items():
        data = ("\n".join(lines) + "\n").encode()
        name = f"{rtype}.ndjson"
        (folder / (name + ".gz" if gz else name)).write_bytes(gzip.compress(data) if gz else data)


def _bundle(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "transaction",
            "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r,
                       "request": {"method": "POST", "url": r["resourceType"]}} for r in resources]}


# -- real data -------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def three_bundles():
    return read_fhir(_patient_bundles(3))


@needs_bundles
def test_synthea_bundles_become_linked_timelines(three_bundles) -> None:
    cohort, report = three_bundles.cohort, three_bundles.report
    assert cohort.n_patients == 3 and report.files == 3
    assert report.resources["Patient"] == 3 and report.used["Patient"] == 3
    assert report.resources["ExplanationOfBenefit"] > 0 and "ExplanationOfBenefit" not in report.used
    assert report.invalid == [] and report.validated == "used"
    assert report.resources_per_second > 0 and report.seconds > 0
    events = cohort.events
    assert set(events["kind"]) >= {"encounter", "observation", "immunization"}
    assert events["age_days"].notna().all() and (events["age_days"] > -1).all()
    # every contained event links to an encounter row of the same patient
    encounters = events[events["kind"] == "encounter"].set_index("event_id")["patient_id"]
    linked = events[events["encounter_id"].notna()]
    assert len(linked) > 0.9 * (len(events) - len(encounters))
    assert (linked["encounter_id"].map(encounters) == linked["patient_id"]).all()
    assert set(encounters.index.str[:1]) == {"E"} and set(cohort.patients["patient_id"]) == {"P0001", "P0002", "P0003"}
    assert set(events.loc[events["kind"] == "encounter", "value_code"]) <= {"AMB", "EMER", "IMP", "HH", "VR"}
    quantities = events[events["value"].notna()]
    assert len(quantities) > 0 and quantities["unit"].notna().mean() > 0.8
    assert cohort.sha256 and cohort.sha256 != cohort.content_sha256()  # the hash of the source bytes


@needs_bundles
def test_whole_synthea_folder_counts_every_resource() -> None:
    result = read_fhir([BUNDLES])
    report, cohort = result.report, result.cohort
    assert report.files == 60 and report.n_resources == 32_177 and report.invalid == []
    assert cohort.n_patients == 59  # the 60th Bundle holds only the hospitals' Organizations and Locations
    assert cohort.events["kind"].value_counts().to_dict() == {
        "observation": 11_679, "immunization": 3_079, "encounter": 2_961, "condition": 63, "procedure": 22,
        "medication": 14}
    assert report.used["Observation"] == 11_679 and "Claim" not in report.used


@needs_bulk
def test_bulk_ndjson_folder() -> None:
    result = read_fhir([BULK], validate="all")
    cohort, report = result.cohort, result.report
    assert cohort.n_patients == 13 and report.files == 13 and report.invalid == []
    assert cohort.events["kind"].value_counts().to_dict() == {
        "procedure": 2_056, "medication": 1_745, "encounter": 1_215, "condition": 555, "immunization": 161,
        "allergy": 11}
    assert report.resources["DocumentReference"] == 1_215 and "DocumentReference" not in report.used
    assert any("log.ndjson.gz" in note and "not FHIR" in note for note in cohort.notes)  # the export log is skipped
    deceased = cohort.patients["deceased_age_days"].dropna()
    assert len(deceased) == 3 and (deceased > 0).all()
    assert cohort.patients["race"].notna().all() and cohort.patients["ethnicity"].notna().all()
    meds = cohort.events[cohort.events["kind"] == "medication"]
    assert (meds["system"] == "http://www.nlm.nih.gov/research/umls/rxnorm").all()
    assert cohort.events["encounter_id"].notna().mean() > 0.7


@needs_bundles
def test_bundles_and_their_ndjson_explosion_give_the_same_cohort(tmp_path, three_bundles) -> None:
    resources = []
    for path in _patient_bundles(3):
        bundle = _load(path)
        mapping = {e["fullUrl"]: f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in bundle["entry"]}
        resources += [_rewrite_refs(e["resource"], mapping) for e in bundle["entry"]]
    _write_ndjson(tmp_path / "bulk", resources, gz=False)
    exploded = read_fhir([tmp_path / "bulk"]).cohort
    assert exploded.content_sha256() == three_bundles.cohort.content_sha256()
    assert exploded.n_events == three_bundles.cohort.n_events


@needs_bulk
def test_ndjson_and_per_patient_bundles_give_the_same_cohort(tmp_path) -> None:
    resources = _bulk_resources()
    keep = sorted(r["id"] for r in resources if r["resourceType"] == "Patient")[:4]

    def owner(res: dict[str, Any]) -> str | None:
        if res["resourceType"] == "Patient":
            return res["id"]
        ref = (res.get("subject") or res.get("patient") or {}).get("reference", "")
        return ref.removeprefix("Patient/") if ref.startswith("Patient/") else None

    chosen = [r for r in resources if owner(r) in keep]
    _write_ndjson(tmp_path / "ndjson", chosen, gz=True)
    for pid in keep:
        mine = [r for r in chosen if owner(r) == pid]
        mapping = {f"{r['resourceType']}/{r['id']}": f"urn:uuid:{r['id']}" for r in mine}
        bundle = _bundle([_rewrite_refs(r, mapping) for r in mine])
        (tmp_path / "bundles").mkdir(exist_ok=True)
        (tmp_path / "bundles" / f"{pid}.json").write_text(json.dumps(bundle))
    from_ndjson = read_fhir([tmp_path / "ndjson"]).cohort
    from_bundles = read_fhir([tmp_path / "bundles"]).cohort
    assert from_ndjson.n_patients == 4 and from_ndjson.n_events > 100
    assert from_bundles.content_sha256() == from_ndjson.content_sha256()


@needs_bundles
@needs_bulk
def test_no_direct_identifier_reaches_the_cohort(three_bundles) -> None:
    sources = [(three_bundles.cohort, [e["resource"] for p in _patient_bundles(3) for e in _load(p)["entry"]]),
               (read_fhir([BULK / "Patient.000.ndjson.gz", BULK / "Condition.000.ndjson.gz"]).cohort,
                _bulk_resources())]
    for cohort, resources in sources:
        text = cohort.patients.to_csv() + cohort.events.to_csv()
        secrets: set[str] = {r["id"] for r in resources if r.get("id")}
        for res in resources:
            if res["resourceType"] != "Patient":
                continue
            secrets.add(res["birthDate"])
            secrets |= {t["value"] for t in res.get("telecom", [])}
            secrets |= {i["value"] for i in res.get("identifier", [])}
            for name in res.get("name", []):
                secrets |= {name["family"], *name.get("given", [])}
            for address in res.get("address", []):
                secrets |= {*address.get("line", []), address.get("city", ""), address.get("postalCode", "")}
        secrets.discard("")
        cells = set(text.replace("\n", ",").split(","))
        # digit-only secrets (postal codes such as 00000) are matched as whole cells, not inside numbers
        leaked = sorted(s for s in secrets if (s in cells if s.isdigit() else s in text))
        assert leaked == [], leaked[:5]


# -- mapping rules on hand-written resources -------------------------------------------------------------------

PATIENT = {"resourceType": "Patient", "id": "p1", "gender": "female", "birthDate": "2000-01-01",
           "deceasedBoolean": True, "name": [{"family": "Doe", "given": ["Jane"]}],
           "extension": [{"url": "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race",
                          "extension": [{"url": "ombCategory", "valueCoding": {
                              "system": "urn:oid:2.16.840.1.113883.6.238", "code": "2028-9", "display": "Asian"}}]}]}
ENCOUNTER = {"resourceType": "Encounter", "id": "e1", "status": "finished",
             "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "EMER"},
             "type": [{"coding": [{"system": "http://snomed.info/sct", "code": "50849002"}], "text": "ER visit"}],
             "subject": {"reference": "Patient/p1"},
             "period": {"start": "2000-01-02T12:00:00+05:00", "end": "2000-01-02T18:00:00+05:00"}}
BP = {"resourceType": "Observation", "id": "o1", "status": "final",
      "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9", "display": "Blood pressure panel"}]},
      "subject": {"reference": "Patient/p1"}, "encounter": {"reference": "Encounter/e1"},
      "effectiveDateTime": "2000-01-02T13:00:00+05:00",
      "component": [{"code": {"coding": [{"system": "http://loinc.org", "code": code}]},
                     "valueQuantity": {"value": value, "unit": "mm[Hg]"}}
                    for code, value in (("8480-6", 120), ("8462-4", 80))]}
MEDICATION = {"resourceType": "Medication", "id": "m1", "code": {"coding": [
    {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "314076", "display": "lisinopril 10 MG"}]}}
ORDER = {"resourceType": "MedicationRequest", "id": "mr1", "status": "active", "intent": "order",
         "medicationReference": {"reference": "Medication/m1"}, "subject": {"reference": "Patient/p1"},
         "authoredOn": "2000-01-03"}
UNDATED = {"resourceType": "Condition", "id": "c1", "code": {"text": "something"},
           "subject": {"reference": "Patient/p1"}}


def _ndjson(path: Path, *resources: dict[str, Any]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in resources))
    return path


def test_mapping_rules_on_one_patient(tmp_path) -> None:
    result = read_fhir([_ndjson(tmp_path / "all.ndjson", PATIENT, ENCOUNTER, BP, MEDICATION, ORDER, UNDATED)])
    cohort = result.cohort
    patient = cohort.patients.iloc[0]
    assert (patient["sex"], patient["race"], patient["ethnicity"], patient["birth_year"]) == (
        "female", "Asian", None, 2000.0)
    assert math.isnan(patient["deceased_age_days"])
    events = cohort.events.set_index("code")
    assert events.loc["50849002", "age_days"] == pytest.approx(1.5)  # wall-clock noon of the day after birth
    assert events.loc["50849002", "end_age_days"] == pytest.approx(1.75)
    assert (events.loc["50849002", "value_code"], events.loc["50849002", "display"]) == ("EMER", "ER visit")
    enc_id = events.loc["50849002", "event_id"]
    assert events.loc["8480-6", "value"] == 120 and events.loc["8462-4", "value"] == 80  # the panel's components
    assert events.loc["8480-6", "unit"] == "mm[Hg]" and events.loc["8480-6", "encounter_id"] == enc_id
    assert "85354-9" not in events.index  # a panel without a value of its own adds no event
    assert events.loc["314076", "kind"] == "medication" and events.loc["314076", "age_days"] == pytest.approx(2.0)
    assert cohort.n_events == 4
    assert any("condition without a date" in n for n in cohort.notes)
    assert any("deceased without a date" in n for n in cohort.notes)
    assert result.report.used == {"Encounter": 1, "MedicationRequest": 1, "Observation": 1, "Patient": 1}


def test_invalid_resources_are_reported_with_file_and_line(tmp_path) -> None:
    bad_date = {**BP, "id": "o2", "effectiveDateTime": "2000-13-45"}
    unknown_field = {**UNDATED, "id": "c2", "onsetDateTime": "2001-01-01", "colour": "blue"}
    orphan = {**UNDATED, "id": "c3", "onsetDateTime": "2001-01-01", "subject": {"reference": "Patient/nobody"}}
    path = _ndjson(tmp_path / "mixed.ndjson", PATIENT, ENCOUNTER, bad_date, unknown_field, orphan)
    with path.open("a") as handle:
        handle.write("{not json\n")
    result = read_fhir([path])
    invalid = {item.line: item for item in result.report.invalid}
    assert sorted(invalid) == [3, 4, 5, 6]
    assert invalid[3].file == str(path) and invalid[3].resource_type == "Observation"
    assert invalid[3].reason.startswith("effectiveDateTime:")
    assert invalid[4].reason == "colour: Extra inputs are not permitted"
    assert "Patient/nobody" in invalid[5].reason and invalid[6].reason.startswith("malformed JSON")
    assert result.cohort.n_events == 1  # only the encounter is left
    assert any("4 invalid resource(s) skipped" in note for note in result.cohort.notes)
    with pytest.raises(DataError, match=r"mixed\.ndjson:3 Observation: effectiveDateTime.*on_invalid='skip'"):
        read_fhir([path], on_invalid="reject")


def test_validate_used_checks_other_types_cheaply(tmp_path) -> None:
    extra = {"resourceType": "Claim", "id": "cl1", "colour": "red"}
    incomplete = {"resourceType": "Claim", "id": "cl2"}  # status, type, patient... are required
    path = _ndjson(tmp_path / "x.ndjson", PATIENT, extra, {"resourceType": "Foo", "id": "f"}, incomplete)
    full = read_fhir([path], validate="all").report
    cheap = read_fhir([path]).report
    assert [i.line for i in full.invalid] == [2, 3, 4] and [i.line for i in cheap.invalid] == [2, 3]
    assert cheap.invalid[0].reason == "colour: Extra inputs are not permitted"
    assert "unknown resourceType 'Foo'" in cheap.invalid[1].reason
    assert "required" in full.invalid[2].reason and cheap.validated == "used" and full.validated == "all"


def test_gzip_is_found_by_its_magic_bytes_and_ndjson_by_its_content(tmp_path) -> None:
    bundle = _bundle([PATIENT, ENCOUNTER])
    hidden = tmp_path / "patient.json"  # gzip under a plain .json name
    hidden.write_bytes(gzip.compress(json.dumps(bundle).encode()))
    lines = _ndjson(tmp_path / "lines.json", {**PATIENT, "id": "p2"}, {**ENCOUNTER, "id": "e2",
                                                                        "subject": {"reference": "Patient/p2"}})
    result = read_fhir([hidden, lines])
    assert result.cohort.n_patients == 2 and result.cohort.n_events == 2 and result.report.files == 2


@pytest.mark.parametrize("content, message", [
    (b"", "file is empty"),
    (b'{"resourceType": "Bundle", "entry": [', "malformed JSON at line 1"),
    (b'{"exportId": "x", "eventId": "kickoff"}', "not FHIR"),
    (b"\x1f\x8b\x08\x00broken", "corrupt gzip"),
    (b"\xff\xfe\x00bad", "not UTF-8"),
])
def test_unreadable_files_raise_one_line_errors(tmp_path, content, message) -> None:
    path = tmp_path / "input.json"
    path.write_bytes(content)
    with pytest.raises(DataError, match=message) as caught:
        read_fhir([path])
    assert "\n" not in str(caught.value) and str(path) in str(caught.value)


def test_inputs_without_patients_or_files_are_refused(tmp_path) -> None:
    only_obs = _ndjson(tmp_path / "obs.ndjson", BP)
    with pytest.raises(DataError, match="no valid Patient"):
        read_fhir([only_obs])
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no FHIR files"):
        read_fhir([tmp_path / "empty"])
    with pytest.raises(DataError, match="no such file"):
        read_fhir([tmp_path / "missing.ndjson"])
    with pytest.raises(DataError, match="on_invalid"):
        read_fhir([only_obs], on_invalid="ignore")  # type: ignore[arg-type]


def test_a_bundle_without_patient_links_to_a_patient_elsewhere(tmp_path) -> None:
    (tmp_path / "patient.json").write_text(json.dumps(PATIENT))  # a single resource, not a Bundle
    (tmp_path / "visits.json").write_text(json.dumps(_bundle([ENCOUNTER, BP])))
    result = read_fhir([tmp_path], progress=True)
    assert result.cohort.n_patients == 1 and result.cohort.n_events == 3 and result.report.invalid == []


@needs_bundles
def test_worker_processes_give_the_same_result(three_bundles) -> None:
    parallel = read_fhir(_patient_bundles(3), workers=2)
    assert parallel.cohort.content_sha256() == three_bundles.cohort.content_sha256()
    assert parallel.cohort.sha256 == three_bundles.cohort.sha256
    assert parallel.report.resources == three_bundles.report.resources
