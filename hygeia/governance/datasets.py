"""Uploaded source data: a table (CSV/Parquet), FHIR R4 (Bundle JSON or NDJSON, gzipped or not) or a clinical note.

An upload is read and profiled *before* it is kept: a file that cannot be read is refused with the reader's
one-line message and leaves nothing behind. Sources may hold PHI, so they live in private folders under
``$HYGEIA_HOME/datasets`` and the ledger records only their hash and counts.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from hygeia.errors import DataError, NotFoundError
from hygeia.governance.ledger import Ledger
from hygeia.store.db import Store, datasets_table, hygeia_home, now_iso

KINDS = {".csv": "table", ".tsv": "table", ".parquet": "table", ".json": "fhir", ".ndjson": "fhir", ".txt": "note"}
MAX_BYTES = 200 * 1024 * 1024


@dataclass(frozen=True)
class DatasetRecord:
    id: str
    kind: str
    name: str
    location: str
    sha256: str
    size: int
    created_at: str
    created_by: str
    profile: dict[str, Any]

    @property
    def path(self) -> Path:
        return Path(self.location) / self.name

    def summary(self) -> dict[str, Any]:
        """What anyone allowed to list datasets may see (no location on disk)."""
        return {k: getattr(self, k) for k in ("id", "kind", "name", "sha256", "size", "created_at", "created_by",
                                              "profile")}


def dataset_kind(name: str) -> str:
    suffixes = [s.lower() for s in Path(name).suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    kind = KINDS.get(suffixes[-1] if suffixes else "")
    if kind is None:
        raise DataError(f"cannot tell what {name!r} holds from its extension; upload a .csv or .parquet table, "
                        "FHIR R4 as .json or .ndjson (also .gz), or a note as .txt")
    return kind


def safe_name(name: str) -> str:
    base = Path(name.replace("\\", "/")).name
    cleaned = re.sub(r"[^A-Za-z0-9._-]", "_", base).lstrip(".")
    if not cleaned:
        raise DataError(f"file name {name!r} is empty after removing unsafe characters; rename the file")
    return cleaned[:200]


def profile_file(path: Path, kind: str) -> dict[str, Any]:
    """Read ``path`` as ``kind`` and summarise it; the reader's :class:`DataError` names what is wrong."""
    if kind == "table":
        from hygeia.data.quality import check_quality
        from hygeia.data.readers import read_dataset

        ds = read_dataset(path)
        return {"rows": ds.n_rows, "columns": [s.model_dump(mode="json") for s in ds.schema.columns],
                "findings": [f.to_dict() for f in check_quality(ds)]}
    if kind == "fhir":
        from hygeia.data.longitudinal.fhir import read_fhir

        result = read_fhir([path], on_invalid="skip")
        if result.cohort.n_patients == 0:
            raise DataError(f"{path.name} holds no FHIR Patient with events; upload a Bundle or NDJSON export "
                            "that includes the Patient resources")
        return {"patients": result.cohort.n_patients, "events": result.cohort.n_events,
                "ingest": result.report.to_dict()}
    from hygeia.governance.clinical_text import read_note

    text = read_note(path)
    return {"characters": len(text), "lines": text.count("\n") + 1}


class Datasets:
    """Register, list and find uploaded source data."""

    def __init__(self, store: Store, root: Path | None = None) -> None:
        self.store = store
        self.root = root or hygeia_home() / "datasets"

    def add(self, name: str, content: bytes, *, actor: str, kind: str | None = None) -> DatasetRecord:
        """Keep ``content`` as a new dataset after reading it successfully; record its hash in the ledger."""
        name = safe_name(name)
        kind = kind or dataset_kind(name)
        if not content:
            raise DataError(f"{name} is empty; upload a file with data in it")
        if len(content) > MAX_BYTES:
            raise DataError(f"{name} is {len(content) / 2**20:.0f} MiB; the limit is {MAX_BYTES // 2**20} MiB")
        dataset_id = f"ds-{datetime.now(UTC):%Y%m%d}-{secrets.token_hex(4)}"
        self.root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".upload-", dir=self.root))  # private (0700) by mkdtemp
        try:
            (staging / name).write_bytes(content)
            profile = profile_file(staging / name, kind)
            folder = self.root / dataset_id
            record = DatasetRecord(id=dataset_id, kind=kind, name=name, location=str(folder.resolve()),
                                   sha256=hashlib.sha256(content).hexdigest(), size=len(content),
                                   created_at=now_iso(), created_by=actor, profile=profile)
            with self.store.begin() as conn:
                conn.execute(datasets_table.insert().values(
                    **{k: v for k, v in record.__dict__.items() if k != "profile"},
                    profile=json.dumps(profile, default=str)))
                Ledger(self.store).append("ingest", {"dataset_id": dataset_id, "kind": kind, "sha256": record.sha256,
                                                     "bytes": record.size, **_counts(profile)},
                                          actor=actor, conn=conn)
                os.replace(staging, folder)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return record

    def get(self, dataset_id: str, kind: str | None = None) -> DatasetRecord:
        with self.store.engine.connect() as conn:
            row = conn.execute(select(datasets_table).where(datasets_table.c.id == dataset_id)).first()
        if row is None:
            raise NotFoundError(f"no dataset {dataset_id!r}; GET /api/v1/datasets lists them")
        record = _record(row)
        if kind and record.kind != kind:
            raise DataError(f"dataset {dataset_id} is a {record.kind}, this needs a {kind}; upload one")
        return record

    def list(self) -> list[DatasetRecord]:
        with self.store.engine.connect() as conn:
            rows = conn.execute(select(datasets_table).order_by(datasets_table.c.created_at, datasets_table.c.id))
            return [_record(r) for r in rows]


def _counts(profile: dict[str, Any]) -> dict[str, Any]:
    return {k: profile[k] for k in ("rows", "patients", "events", "characters") if k in profile}


def _record(row: Any) -> DatasetRecord:
    return DatasetRecord(id=row.id, kind=row.kind, name=row.name, location=row.location, sha256=row.sha256,
                         size=row.size, created_at=row.created_at, created_by=row.created_by,
                         profile=json.loads(row.profile))
