"""`Dataset`: a DataFrame with its schema and provenance."""

from __future__ import annotations

import difflib
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from hygeia.data.schema import Schema, SchemaOverrides, coerce_frame, infer_schema
from hygeia.errors import DataError


@dataclass(frozen=True)
class Dataset:
    """A table Hygeia can profile, learn from or score.

    ``sha256`` is the hash of the source bytes when read from a file (so the model card can
    name exactly what was used), else of a canonical CSV rendering of the frame.

    >>> ds = Dataset.from_frame(pd.DataFrame({"age": [30, 40, 50]}), source="example")
    >>> ds.schema.names
    ['age']
    """

    frame: pd.DataFrame
    schema: Schema
    source: str
    sha256: str
    notes: list[str] = field(default_factory=list)

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        source: str = "<DataFrame>",
        *,
        sha256: str | None = None,
        schema: Schema | None = None,
        overrides: SchemaOverrides | None = None,
    ) -> Dataset:
        frame = frame.copy()
        frame.columns = [str(c) for c in frame.columns]
        schema = schema or infer_schema(frame)
        if overrides is not None:
            schema = schema.with_overrides(overrides)
            frame = frame[schema.names]
        return cls(
            frame=coerce_frame(frame, schema).reset_index(drop=True),
            schema=schema,
            source=source,
            sha256=sha256 or frame_sha256(frame),
        )

    @property
    def n_rows(self) -> int:
        return len(self.frame)

    def require_modelled(self, name: str, role: str) -> None:
        """Raise a :class:`DataError` unless ``name`` is a column a generator learns (``role`` names its use)."""
        if name not in self.schema:
            close = difflib.get_close_matches(name, self.schema.names, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else f"; columns: {', '.join(self.schema.names[:20])}"
            raise DataError(f"{role} column {name!r} is not in {self.source}{hint}")
        spec = self.schema[name]
        if not spec.modelled:
            raise DataError(f"{role} column {name!r} is {spec.kind.value} ({spec.reason}) and is never modelled; "
                            "choose another column or set its kind in a schema file (--schema)")

    def modelled_frame(self) -> pd.DataFrame:
        """Only the columns a generator may learn (no identifiers, no free text)."""
        return self.frame[self.schema.modelled]

    def replace_frame(self, frame: pd.DataFrame, note: str | None = None) -> Dataset:
        """Same provenance and schema, other rows (after consent filtering or a split)."""
        notes = [*self.notes, note] if note else list(self.notes)
        return Dataset(frame=frame.reset_index(drop=True), schema=self.schema.subset(list(frame.columns)),
                       source=self.source, sha256=self.sha256, notes=notes)


def frame_sha256(frame: pd.DataFrame) -> str:
    """Content hash of a frame, independent of its in-memory layout."""
    return hashlib.sha256(frame.to_csv(index=False).encode("utf-8")).hexdigest()


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
