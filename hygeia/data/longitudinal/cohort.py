"""`Cohort`: patient histories as two tables, the shape every longitudinal step shares.

``patients`` holds one row per patient with static attributes only; ``events`` one row per
timed event. Time is the patient's age in days (fractional, so hourly vitals keep their
order), which keeps exact birth dates and calendar dates out of every model: readers turn
dates into ages and drop them, exporters draw a synthetic birth date inside ``birth_year``.

Codes keep their system (SNOMED CT, LOINC, RxNorm, CVX, OMOP concept ids), so a cohort read
from FHIR and one read from OMOP are the same kind of object.

>>> cohort = Cohort(patients, events, source="synthea-bulk-10")  # doctest: +SKIP
>>> cohort.n_patients, cohort.n_events  # doctest: +SKIP
(10, 3120)
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from hygeia.errors import DataError

#: Static attributes; nothing here identifies a person on its own (no names, addresses or exact dates).
PATIENT_COLUMNS: tuple[str, ...] = ("patient_id", "sex", "race", "ethnicity", "birth_year", "deceased_age_days")
#: One row per event. ``age_days`` is the start; ``end_age_days`` the end (encounters, conditions) or NaN.
#: ``value``/``unit`` carry a numeric result, ``value_code`` a coded one (and an encounter's class);
#: ``encounter_id`` links a contained event to the ``event_id`` of its encounter row.
EVENT_COLUMNS: tuple[str, ...] = ("patient_id", "event_id", "kind", "system", "code", "display", "age_days",
                                  "end_age_days", "value", "unit", "value_code", "encounter_id")
#: FHIR resource each event kind comes from and goes back to.
EVENT_KINDS: dict[str, str] = {
    "encounter": "Encounter",
    "condition": "Condition",
    "observation": "Observation",
    "medication": "MedicationRequest",
    "procedure": "Procedure",
    "immunization": "Immunization",
    "allergy": "AllergyIntolerance",
}
SEXES: tuple[str, ...] = ("female", "male", "other", "unknown")
_FLOAT_EVENT = ("age_days", "end_age_days", "value")
_STR_EVENT = ("patient_id", "event_id", "kind", "system", "code", "display", "unit", "value_code", "encounter_id")


@dataclass(frozen=True)
class Cohort:
    """Patients (static attributes) and their timed events, with provenance.

    Constructed frames are checked and normalised: the columns above in that order, string
    columns as ``object`` with ``None`` for missing, times and values as ``float``, events
    sorted by patient and time. A violation raises :class:`DataError` naming the fix.
    """

    patients: pd.DataFrame
    events: pd.DataFrame
    source: str = "<cohort>"
    #: Hash of the source bytes when read from files, else of the canonical tables.
    sha256: str = ""
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        patients = _normalise(self.patients, PATIENT_COLUMNS, "patients",
                              floats=("birth_year", "deceased_age_days"), strings=("patient_id", "sex", "race",
                                                                                   "ethnicity"))
        events = _normalise(self.events, EVENT_COLUMNS, "events", floats=_FLOAT_EVENT, strings=_STR_EVENT)
        if patients["patient_id"].duplicated().any():
            raise DataError(f"{self.source}: duplicate patient_id in the patients table; ids must be unique")
        unknown = set(events["kind"].dropna()) - set(EVENT_KINDS)
        if unknown:
            raise DataError(f"{self.source}: unknown event kind(s) {sorted(unknown)}; use one of {sorted(EVENT_KINDS)}")
        orphans = set(events["patient_id"]) - set(patients["patient_id"])
        if orphans:
            raise DataError(f"{self.source}: {len(orphans)} event patient_id(s) not in the patients table "
                            f"(e.g. {sorted(orphans)[0]!r}); every event needs its patient")
        if events["event_id"].duplicated().any():
            raise DataError(f"{self.source}: duplicate event_id in the events table; ids must be unique")
        events = events.sort_values(["patient_id", "age_days", "event_id"], kind="stable").reset_index(drop=True)
        object.__setattr__(self, "patients", patients.reset_index(drop=True))
        object.__setattr__(self, "events", events)
        if not self.sha256:
            object.__setattr__(self, "sha256", self.content_sha256())

    @property
    def n_patients(self) -> int:
        return len(self.patients)

    @property
    def n_events(self) -> int:
        return len(self.events)

    def content_sha256(self) -> str:
        """Hash of the canonical tables (independent of how they were read)."""
        digest = hashlib.sha256()
        for frame in (self.patients, self.events):
            digest.update(frame.to_csv(index=False, float_format="%.6g").encode())
        return digest.hexdigest()

    def subset(self, patient_ids: list[str] | set[str] | pd.Index) -> Cohort:
        """The cohort restricted to these patients (same provenance)."""
        keep = set(patient_ids)
        return Cohort(self.patients[self.patients["patient_id"].isin(keep)],
                      self.events[self.events["patient_id"].isin(keep)], source=self.source, sha256=self.sha256,
                      notes=list(self.notes))

    def split(self, holdout: float = 0.3, seed: int = 0) -> tuple[Cohort, Cohort]:
        """Split by patient (never by event) into train and holdout cohorts."""
        if self.n_patients < 4:
            raise DataError(f"{self.source}: {self.n_patients} patient(s) cannot be split into train and holdout; "
                            "provide at least 4 patients")
        ids = self.patients["patient_id"].to_numpy()
        order = np.random.default_rng(seed).permutation(len(ids))
        n_hold = min(max(1, round(holdout * len(ids))), len(ids) - 1)
        return self.subset(ids[order[n_hold:]]), self.subset(ids[order[:n_hold]])

    def timeline(self, patient_id: str) -> pd.DataFrame:
        """One patient's events in time order."""
        return self.events[self.events["patient_id"] == patient_id]

    def save(self, folder: str | Path) -> None:
        """Write ``patients.parquet``, ``events.parquet`` and ``cohort.json`` (provenance)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.patients.to_parquet(folder / "patients.parquet", index=False)
        self.events.to_parquet(folder / "events.parquet", index=False)
        meta = {"source": self.source, "sha256": self.sha256, "notes": self.notes}
        (folder / "cohort.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")

    @classmethod
    def load(cls, folder: str | Path) -> Cohort:
        folder = Path(folder)
        try:
            meta = json.loads((folder / "cohort.json").read_text(encoding="utf-8"))
            return cls(pd.read_parquet(folder / "patients.parquet"), pd.read_parquet(folder / "events.parquet"),
                       source=meta["source"], sha256=meta["sha256"], notes=list(meta.get("notes", [])))
        except (OSError, KeyError, ValueError) as exc:
            raise DataError(f"{folder}: not a saved Hygeia cohort ({exc.__class__.__name__}); "
                            "save one with Cohort.save or `hygeia fhir ingest --out`") from None


def _normalise(frame: pd.DataFrame, columns: tuple[str, ...], name: str, *, floats: tuple[str, ...],
               strings: tuple[str, ...]) -> pd.DataFrame:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(f"cohort {name} table lacks column(s) {missing}; expected {list(columns)}")
    out = frame.loc[:, list(columns)].copy()
    for col in floats:
        out[col] = pd.to_numeric(out[col], errors="coerce").astype(float)
    for col in strings:
        values = out[col].astype(object)
        out[col] = values.where(values.notna(), None).map(lambda v: v if v is None else str(v))
    return out
