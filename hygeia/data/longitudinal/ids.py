"""Pseudonymous patient ids and deterministic event ids, shared by the FHIR and OMOP readers.

Source ids (FHIR ids, OMOP person ids) never reach a cohort. Patients are numbered ``P0001``...
in the order of a hash of their source key, and events ``E000001``... in the order of their
content (patient, time, kind, code, value...), ties broken by a hash of the source key. Both
orders ignore file layout, so the same records read as per-patient Bundles or as bulk NDJSON
get the same ids, and ``Cohort.content_sha256`` compares the two.

>>> patient_ids(["Patient/b", "Patient/a"])  # doctest: +SKIP
{'Patient/a': 'P0002', 'Patient/b': 'P0001'}
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import pandas as pd

#: Event columns, in sort priority, that fix an event's place among its patient's events.
_CONTENT_ORDER = ("patient_id", "age_days", "kind", "system", "code", "end_age_days", "value", "unit", "value_code",
                  "display")


def source_hash(key: str) -> str:
    """A stable, layout-free tie-breaker for a source record key ("Patient/123", "drug_exposure/9")."""
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def patient_ids(keys: Iterable[str]) -> dict[str, str]:
    """Map each source patient key to ``P0001``... (zero-padded so text order is numeric order)."""
    ordered = sorted(set(keys), key=lambda k: (source_hash(k), k))
    width = max(4, len(str(len(ordered))))
    return {key: f"P{i:0{width}d}" for i, key in enumerate(ordered, start=1)}


def number_events(events: pd.DataFrame, tiebreak: pd.Series) -> pd.DataFrame:
    """Sort events by content (then ``tiebreak``) and fill ``event_id`` with ``E000001``...

    ``events`` holds the cohort's event columns except ``event_id``; ``tiebreak`` (same index) is a
    per-event string that separates otherwise identical events, e.g. a source hash plus a component index.
    """
    keys = pd.DataFrame({col: events[col] for col in _CONTENT_ORDER})
    for col in ("kind", "system", "code", "unit", "value_code", "display"):
        keys[col] = keys[col].astype(object).where(keys[col].notna(), "").astype(str)  # None and text sort together
    keys["_tie"] = tiebreak.astype(str)
    order = keys.sort_values(list(keys.columns), kind="stable", na_position="last").index
    out = events.loc[order].reset_index(drop=True)
    width = max(6, len(str(len(out))))
    out.insert(1, "event_id", [f"E{i:0{width}d}" for i in range(1, len(out) + 1)])
    return out
