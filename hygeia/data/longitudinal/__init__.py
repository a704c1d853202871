"""Longitudinal patient records: the `Cohort` type and its readers (FHIR R4 Bundles and NDJSON, OMOP CDM)."""

from hygeia.data.longitudinal.cohort import EVENT_COLUMNS, EVENT_KINDS, PATIENT_COLUMNS, SEXES, Cohort

__all__ = ["Cohort", "EVENT_COLUMNS", "EVENT_KINDS", "PATIENT_COLUMNS", "SEXES"]

# The readers load fhir.resources and duckdb, so they are imported on first use only.
_READERS = {"read_fhir": "fhir", "IngestResult": "fhir", "IngestReport": "fhir", "InvalidResource": "fhir",
            "read_omop": "omop"}
__all__ += list(_READERS)


def __getattr__(name: str) -> object:
    if name in _READERS:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_READERS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
