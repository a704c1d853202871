"""FHIR R4 export of a cohort: valid (R4B models), references resolved, deterministic, nothing of the source leaks."""

from __future__ import annotations

import datetime as dt
import json
import math
import shutil
from pathlib import Path

import pandas as pd
import pytest

from hygeia import __version__
from hygeia.data.longitudinal import Cohort
from hygeia.errors import DataError, ReleaseError
from hygeia.release.fhir_export import validate_fhir, write_fhir
from hygeia.release.fhir_resources import SYNTHETIC_TAG

RECORDED = "2025-01-02T03:04:05+00:00"
RELEASE = "fhir_cohort-test0001"
SNOMED, LOINC, RXNORM, CVX = ("http://snomed.info/sct", "http://loinc.org",
                              "http://www.nlm.nih.gov/research/umls/rxnorm", "http://hl7.org/fhir/sid/cvx")
SYNTHEA = Path(__file__).resolve().parents[3] / "shared" / "data" / "synthea-fhir"


def _cohort() -> Cohort:
    """Three patients, every event kind, a deceased one, coded and numeric results, a dangling encounter link."""
    patients = pd.DataFrame([
        ("src-pat-alice", "female", "White", "Not Hispanic or Latino", 1960, math.nan),
        ("src-pat-bob", "male", "Black or African American", "hispanic", 1940, 30000.5),
        ("src-pat-carol", "unknown", None, None, 2001, math.nan),
    ], columns=["patient_id", "sex", "race", "ethnicity", "birth_year", "deceased_age_days"])
    nan = math.nan
    rows = [  # patient, event, kind, system, code, display, age, end, value, unit, value_code, encounter
        ("src-pat-alice", "src-ev-a1", "encounter", SNOMED, "185349003", "Encounter for check up", 10000.25, 10000.27,
         nan, None, "AMB", None),
        ("src-pat-alice", "src-ev-a2", "condition", SNOMED, "44054006", "Diabetes mellitus type 2", 10000.25, nan,
         nan, None, None, "src-ev-a1"),
        ("src-pat-alice", "src-ev-a3", "observation", LOINC, "8480-6", "Systolic blood pressure", 10000.26, nan,
         121.0, "mm[Hg]", None, "src-ev-a1"),
        ("src-pat-alice", "src-ev-a4", "observation", LOINC, "72166-2", "Tobacco smoking status", 10000.26, nan,
         nan, None, "266919005", "src-ev-a1"),
        ("src-pat-alice", "src-ev-a5", "medication", RXNORM, "860975", "metformin 500 MG", 10000.26, 10365.0,
         nan, None, None, "src-ev-a1"),
        ("src-pat-alice", "src-ev-a6", "procedure", SNOMED, "430193006", "Medication reconciliation", 10000.26,
         10000.265, nan, None, None, "src-ev-a1"),
        ("src-pat-alice", "src-ev-a7", "immunization", CVX, "140", "Influenza, seasonal", 10000.26, nan, nan, None,
         None, "src-ev-a1"),
        ("src-pat-alice", "src-ev-a8", "allergy", RXNORM, "1191", "Aspirin", 9000.0, nan, nan, None, None, None),
        ("src-pat-alice", "src-ev-a9", "observation", LOINC, "2339-0", "Glucose", 10400.5, nan, 95.5, "mg/dL",
         None, None),
        ("src-pat-bob", "src-ev-b1", "encounter", SNOMED, "50849002", "Emergency room admission", 29990.0, 29991.0,
         nan, None, "EMER", None),
        ("src-pat-bob", "src-ev-b2", "condition", SNOMED, "10509002", "Acute bronchitis", 29990.1, 29995.0, nan,
         None, None, "src-ev-b1"),
        ("src-pat-bob", "src-ev-b3", "observation", LOINC, "8867-4", "Heart rate", 29990.2, nan, 88.0,
         "beats per minute", None, "src-ev-b1"),
        ("src-pat-bob", "src-ev-b4", "procedure", SNOMED, "23426006", "Measurement of respiratory function",
         29999.5, nan, nan, None, None, None),
        ("src-pat-carol", "src-ev-c1", "encounter", SNOMED, "410620009", "Well child visit", 100.5, nan, nan, None,
         None, None),
        ("src-pat-carol", "src-ev-c2", "observation", LOINC, "29463-7", "Body weight", 100.5, nan, 6.2, "kg", None,
         "src-ev-missing"),
    ]
    events = pd.DataFrame(rows, columns=["patient_id", "event_id", "kind", "system", "code", "display", "age_days",
                                         "end_age_days", "value", "unit", "value_code", "encounter_id"])
    return Cohort(patients, events, source="hand-built")


@pytest.fixture(scope="module")
def cohort() -> Cohort:
    return _cohort()


@pytest.fixture(scope="module")
def exported(cohort: Cohort, tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("fhir") / "out"
    export = write_fhir(cohort, folder, release_id=RELEASE, seed=3, generator="sequence_gru", recorded=RECORDED)
    return export, folder


def _bundles(folder: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((folder / "bundles").glob("*.json"))]


def _ndjson(folder: Path) -> list[dict]:
    files = sorted((folder / "ndjson").glob("*.ndjson"))
    return [json.loads(line) for p in files for line in p.read_text().splitlines()]


def _by_patient(folder: Path) -> dict[int, dict[str, list[dict]]]:
    """Resources per bundle, keyed by birth year (one patient per year in the hand-built cohort)."""
    out = {}
    for bundle in _bundles(folder):
        resources = [e["resource"] for e in bundle["entry"]]
        grouped: dict[str, list[dict]] = {}
        for res in resources:
            grouped.setdefault(res["resourceType"], []).append(res)
        out[int(grouped["Patient"][0]["birthDate"][:4])] = grouped
    return out


def test_every_resource_validates_with_r4b_and_references_resolve(exported) -> None:
    export, folder = exported
    check = validate_fhir(folder)
    assert check.invalid == 0, check.reasons
    assert check.valid_share == 1.0
    # each resource once in a bundle and once in NDJSON, plus the three Bundles themselves
    assert check.valid == 2 * export.n_resources + 3
    assert check.references > 0
    assert export.resources == {"AllergyIntolerance": 1, "Condition": 2, "Encounter": 3, "Immunization": 1,
                                "MedicationRequest": 1, "Observation": 5, "Patient": 3, "Procedure": 2,
                                "Provenance": 3}
    assert json.loads(json.dumps(check.to_dict()))["valid_share"] == 1.0


def test_bundles_are_transactions_linked_by_urn_uuid(exported) -> None:
    _, folder = exported
    for bundle in _bundles(folder):
        assert bundle["type"] == "transaction"
        urls = {e["fullUrl"] for e in bundle["entry"]}
        for entry in bundle["entry"]:
            res = entry["resource"]
            assert entry["fullUrl"] == f"urn:uuid:{res['id']}"
            assert entry["request"] == {"method": "POST", "url": res["resourceType"]}
        refs = [r for e in bundle["entry"] for r in _refs(e["resource"])]
        assert refs and all(r in urls for r in refs)


def test_ndjson_references_are_type_slash_id(exported) -> None:
    _, folder = exported
    resources = _ndjson(folder)
    known = {f"{r['resourceType']}/{r['id']}" for r in resources}
    refs = [r for res in resources for r in _refs(res)]
    assert refs and all(r in known for r in refs)
    assert {p.name for p in (folder / "ndjson").iterdir()} == {f"{t}.ndjson" for t in (
        "Patient", "Encounter", "Condition", "Observation", "MedicationRequest", "Procedure", "Immunization",
        "AllergyIntolerance", "Provenance")}


def test_same_seed_gives_identical_files_and_another_seed_other_ids_and_names(cohort, exported, tmp_path) -> None:
    _, folder = exported
    again = write_fhir(cohort, tmp_path / "again", release_id=RELEASE, seed=3, generator="sequence_gru",
                       recorded=RECORDED)
    first = {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    second = {p.relative_to(again.folder): p.read_bytes() for p in again.folder.rglob("*") if p.is_file()}
    assert first == second
    other = write_fhir(cohort, tmp_path / "other", release_id=RELEASE, seed=4, recorded=RECORDED).folder
    ids = {r["id"] for r in _ndjson(folder)}
    other_ids = {r["id"] for r in _ndjson(other)}
    assert not ids & other_ids
    names = {json.dumps(r["name"]) for r in _ndjson(folder) if r["resourceType"] == "Patient"}
    other_names = {json.dumps(r["name"]) for r in _ndjson(other) if r["resourceType"] == "Patient"}
    assert names != other_names


def test_nothing_from_the_source_ids_appears(cohort, exported) -> None:
    _, folder = exported
    text = "\n".join(p.read_text() for p in folder.rglob("*") if p.is_file())
    for source_id in [*cohort.patients["patient_id"], *cohort.events["event_id"], "src-ev-missing"]:
        assert source_id not in text
    assert "src-" not in text


def test_provenance_per_patient_names_release_hygeia_and_generator(exported) -> None:
    _, folder = exported
    for bundle in _bundles(folder):
        provs = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Provenance"]
        patient = bundle["entry"][0]
        assert len(provs) == 1 and patient["resource"]["resourceType"] == "Patient"
        prov = provs[0]
        assert prov["target"][0]["reference"] == patient["fullUrl"]
        assert len(prov["target"]) == len(bundle["entry"]) - 1  # every resource but the Provenance itself
        assert prov["recorded"] == RECORDED
        assert prov["entity"] == [{"role": "source", "what": {
            "identifier": {"system": "https://hygeia.dev/release", "value": RELEASE},
            "display": f"Hygeia release {RELEASE}"}}]
        displays = [a["who"]["display"] for a in prov["agent"]]
        assert displays[0] == f"Hygeia {__version__}" and "sequence_gru" in displays[1]
        assert "not a real patient" in prov["reason"][0]["text"]


def test_every_resource_and_bundle_is_tagged_synthetic(exported) -> None:
    _, folder = exported
    bundles = _bundles(folder)
    everything = bundles + [e["resource"] for b in bundles for e in b["entry"]] + _ndjson(folder)
    assert all(SYNTHETIC_TAG in r["meta"]["tag"] for r in everything)


def test_dates_keep_ages_inside_the_birth_year(cohort, exported) -> None:
    _, folder = exported
    alice = _by_patient(folder)[1960]
    birth = dt.date.fromisoformat(alice["Patient"][0]["birthDate"])
    assert birth.year == 1960
    encounter = alice["Encounter"][0]
    start = dt.datetime.fromisoformat(encounter["period"]["start"])
    assert start.utcoffset() == dt.timedelta(0) and encounter["period"]["start"].endswith("+00:00")
    midnight = dt.datetime.combine(birth, dt.time(), dt.UTC)
    assert start == midnight + dt.timedelta(days=10000.25)  # time of day kept: 06:00
    assert dt.datetime.fromisoformat(encounter["period"]["end"]) == midnight + dt.timedelta(days=10000.27)
    bob = _by_patient(folder)[1940]
    deceased = bob["Patient"][0]["deceasedDateTime"]
    events = [r for kind, rs in bob.items() if kind not in ("Patient", "Provenance") for r in rs]
    times = [r.get("performedDateTime") or r.get("onsetDateTime") or r.get("effectiveDateTime")
             or r.get("period", {}).get("end") for r in events]
    assert deceased >= max(t for t in times if t)
    assert "deceasedDateTime" not in alice["Patient"][0]


def test_resources_carry_the_cohort_content(exported) -> None:
    _, folder = exported
    patients = _by_patient(folder)
    alice, bob, carol = patients[1960], patients[1940], patients[2001]
    pat = alice["Patient"][0]
    assert pat["gender"] == "female" and pat["name"][0]["family"] and pat["address"][0]["postalCode"]
    assert "555-01" in pat["telecom"][0]["value"]
    race = {e["url"].rsplit("-", 1)[-1]: e for e in pat["extension"]}
    assert race["race"]["extension"][0]["valueCoding"]["code"] == "2106-3"
    assert race["ethnicity"]["extension"][1] == {"url": "text", "valueString": "Not Hispanic or Latino"}
    assert bob["Patient"][0]["extension"][1]["extension"][0]["valueCoding"]["code"] == "2135-2"
    assert "extension" not in carol["Patient"][0] and carol["Patient"][0]["gender"] == "unknown"
    enc = {e["class"]["code"]: e for p in patients.values() for e in p["Encounter"]}
    assert set(enc) == {"AMB", "EMER"} and enc["EMER"]["class"]["system"].endswith("v3-ActCode")
    assert carol["Encounter"][0]["class"]["code"] == "AMB"  # no class in the cohort: the default
    obs = {o["code"]["coding"][0]["code"]: o for p in patients.values() for o in p["Observation"]}
    assert obs["8480-6"]["valueQuantity"] == {"value": 121, "unit": "mm[Hg]", "system": "http://unitsofmeasure.org",
                                              "code": "mm[Hg]"}
    assert obs["8480-6"]["category"][0]["coding"][0]["code"] == "vital-signs"
    assert obs["2339-0"]["category"][0]["coding"][0]["code"] == "laboratory" and "encounter" not in obs["2339-0"]
    assert obs["8867-4"]["valueQuantity"] == {"value": 88, "unit": "beats per minute"}  # not UCUM: no system
    assert obs["72166-2"]["valueCodeableConcept"]["coding"] == [{"system": SNOMED, "code": "266919005"}]
    assert "encounter" not in obs["29463-7"]  # its encounter id pointed nowhere: no dangling reference
    assert obs["8480-6"]["encounter"]["reference"] == f"urn:uuid:{alice['Encounter'][0]['id']}"
    conditions = {c["code"]["coding"][0]["code"]: c for p in patients.values() for c in p.get("Condition", [])}
    assert conditions["44054006"]["clinicalStatus"]["coding"][0]["code"] == "active"
    assert conditions["10509002"]["clinicalStatus"]["coding"][0]["code"] == "resolved"
    assert "abatementDateTime" in conditions["10509002"]
    med = alice["MedicationRequest"][0]
    assert med["intent"] == "order" and med["medicationCodeableConcept"]["coding"][0]["code"] == "860975"
    procedures = {p["code"]["coding"][0]["code"]: p for pt in patients.values() for p in pt.get("Procedure", [])}
    assert "performedPeriod" in procedures["430193006"] and "performedDateTime" in procedures["23426006"]
    assert alice["Immunization"][0]["vaccineCode"]["coding"][0]["system"] == CVX
    assert "encounter" not in alice["AllergyIntolerance"][0] and alice["AllergyIntolerance"][0]["recordedDate"]


def test_validation_reports_broken_resources_and_references(exported, tmp_path) -> None:
    _, folder = exported
    broken = tmp_path / "broken"
    shutil.copytree(folder, broken)
    path = min((broken / "bundles").glob("*.json"))
    bundle = json.loads(path.read_text())
    with_subject = [e["resource"] for e in bundle["entry"] if "subject" in e["resource"]]
    with_subject[0]["subject"] = {"reference": "urn:uuid:nowhere"}
    with_subject[1]["status"] = "not-a-status"
    path.write_text(json.dumps(bundle))
    lines = (broken / "ndjson" / "Condition.ndjson").read_text().splitlines()
    first = json.loads(lines[0])
    first["subject"]["reference"] = "Patient/nowhere"
    (broken / "ndjson" / "Condition.ndjson").write_text("\n".join([json.dumps(first), *lines[1:], "{oops"]) + "\n")
    check = validate_fhir(broken)
    assert check.invalid == 4 and 0 < check.valid_share < 1
    text = " | ".join(check.reasons)
    assert "urn:uuid:nowhere" in text and "Patient/nowhere" in text and "status" in text and "not JSON" in text


def test_formats_and_bad_input(cohort, tmp_path) -> None:
    only = write_fhir(cohort, tmp_path / "nd", release_id=RELEASE, formats=("ndjson",), recorded=RECORDED)
    assert not (tmp_path / "nd" / "bundles").exists() and all(p.suffix == ".ndjson" for p in only.files)
    assert validate_fhir(tmp_path / "nd").valid_share == 1.0
    with pytest.raises(ReleaseError, match="format"):
        write_fhir(cohort, tmp_path / "x", release_id=RELEASE, formats=("csv",))
    with pytest.raises(ReleaseError, match="empty folder"):
        write_fhir(cohort, tmp_path / "nd", release_id=RELEASE)
    no_year = Cohort(cohort.patients.assign(birth_year=[1960, math.nan, 2001]), cohort.events)
    with pytest.raises(DataError, match="birth_year"):
        write_fhir(no_year, tmp_path / "y", release_id=RELEASE)
    with pytest.raises(DataError):
        validate_fhir(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    assert math.isnan(validate_fhir(tmp_path / "empty").valid_share)


def _refs(node) -> list[str]:
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == "reference"] + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


@pytest.mark.skipif(not SYNTHEA.is_dir(), reason="shared Synthea bundles not present")
def test_round_trip_through_the_fhir_reader(tmp_path) -> None:
    """Synthea -> cohort -> export -> cohort: same codes, kinds, values and intervals; ages shifted within the year."""
    fhir = pytest.importorskip("hygeia.data.longitudinal.fhir")
    source = fhir.read_fhir(sorted(SYNTHEA.glob("*.json.gz"))[:3]).cohort
    export = write_fhir(source, tmp_path / "out", release_id=RELEASE, seed=1, recorded=RECORDED)
    check = validate_fhir(tmp_path / "out")
    assert check.invalid == 0 and check.valid_share == 1.0, check.reasons
    assert export.n_patients == source.n_patients == 3
    again = fhir.read_fhir([tmp_path / "out" / "bundles"]).cohort
    assert again.n_patients == source.n_patients and again.n_events == source.n_events
    left, right = _timelines(source), _timelines(again)
    assert sorted(left) == sorted(right)  # same static attributes and the same events, in the same order
    for key, (ages, durations, deceased) in left.items():
        other_ages, other_durations, other_deceased = right[key]
        shift = other_ages[0] - ages[0]  # the birth date drawn inside the year moves every age alike
        assert abs(shift) < 366
        assert [b - a for a, b in zip(ages, other_ages, strict=True)] == pytest.approx([shift] * len(ages), abs=1e-4)
        assert other_durations == pytest.approx(durations, abs=1e-4, nan_ok=True)  # whole seconds
        if not math.isnan(deceased):
            assert other_deceased - deceased == pytest.approx(shift, abs=1e-4)


def _timelines(cohort: Cohort) -> dict[tuple, tuple[list[float], list[float], float]]:
    """Per patient: (static attributes, event content in time order) -> (ages, durations, deceased age)."""
    out = {}
    for row in cohort.patients.itertuples(index=False):
        events = sorted(cohort.timeline(row.patient_id).itertuples(index=False),
                        key=lambda r: (r.age_days, r.kind, str(r.code), str(r.value), str(r.value_code)))
        content = tuple((r.kind, r.system, r.code, r.display, None if math.isnan(r.value) else r.value, r.unit,
                         r.value_code, r.encounter_id is None, math.isnan(r.end_age_days)) for r in events)
        key = (row.sex, row.race, row.ethnicity, row.birth_year, content)
        out[key] = ([r.age_days for r in events], [r.end_age_days - r.age_days for r in events],
                    row.deceased_age_days)
    return out
