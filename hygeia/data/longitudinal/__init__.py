"""Longitudinal patient records: the `Cohort` type and its readers (FHIR R4 Bundles and NDJSON, OMOP CDM)."""

from hygeia.data.longitudinal.cohort import EVENT_COLUMNS, EVENT_KINDS, PATIENT_COLUMNS, SEXES, Cohort

__all__ = ["Cohort", "EVENT_COLUMNS", "EVENT_KINDS", "PATIENT_COLUMNS", "SEXES"]
