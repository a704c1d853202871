"""`Artifact`: one generated thing awaiting (or past) the gate, review and release."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

#: Lifecycle: a candidate is approved or rejected by a person; only approved ones are released.
STATUSES = ("candidate", "approved", "rejected", "released")


def new_artifact_id(kind: str = "synthetic_table") -> str:
    """Sortable, unguessable id, e.g. ``tab-20261123-0f3a9c2e``."""
    prefix = {"synthetic_table": "tab"}.get(kind, kind[:4])
    return f"{prefix}-{datetime.now(UTC):%Y%m%d}-{secrets.token_hex(4)}"


@dataclass(frozen=True)
class Artifact:
    """What was generated, from what, how, and what the data checks found."""

    id: str
    kind: str
    provenance: dict[str, Any]
    findings: list[dict[str, Any]] = field(default_factory=list)
    privacy_spent: dict[str, float] | None = None
