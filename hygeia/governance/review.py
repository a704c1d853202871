"""The review queue: a named person approves or rejects each candidate, and the ledger says so.

>>> queue = ReviewQueue(store)  # doctest: +SKIP
>>> queue.decide("tab-20261123-0f3a9c2e", "approve", reviewer="dr.lee", comment="checked subgroups")  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
from typing import Any

from hygeia.errors import ReviewError
from hygeia.governance.ledger import Ledger
from hygeia.store.db import ArtifactRecord, ReviewRecord, Store, now_iso

DECISIONS = ("approve", "reject", "edit")
_STATUS_AFTER = {"approve": "approved", "reject": "rejected", "edit": "approved"}


class ReviewQueue:
    """Candidates awaiting a human decision, and the decisions taken."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.ledger = Ledger(store)

    def list(self, status: str | None = None) -> list[ArtifactRecord]:
        return self.store.list_artifacts(status)

    def show(self, artifact_id: str) -> tuple[ArtifactRecord, list[ReviewRecord]]:
        artifact = self.store.get_artifact(artifact_id)
        return artifact, self.store.reviews_for(artifact.id)

    def decide(self, artifact_id: str, decision: str, *, reviewer: str, role: str = "reviewer", comment: str = "",
               diff: str = "", extra: dict[str, Any] | None = None, gate_passed: bool | None = None,
               usefulness: int | None = None, trust: int | None = None) -> ReviewRecord:
        """Record one decision; only a candidate can be decided, and a rejection needs its reason.

        ``usefulness`` and ``trust`` are the reviewer's optional ratings of the artifact (1-5), which the
        console's dashboard follows over time.

        An edit passes the edit's own checks in ``extra`` (recorded in the ledger) and the gate's verdict on
        the edited text in ``gate_passed``, which then replaces the draft's.
        """
        if decision not in DECISIONS:
            raise ReviewError(f"unknown decision {decision!r}; use one of {', '.join(DECISIONS)}")
        reviewer = reviewer.strip()
        if not reviewer:
            raise ReviewError("a review needs the reviewer's name; give --reviewer NAME")
        if decision == "reject" and not comment.strip():
            raise ReviewError("a rejection needs its reason; give --comment TEXT")
        for name, value in (("usefulness", usefulness), ("trust", trust)):
            if value is not None and not (isinstance(value, int) and 1 <= value <= 5):
                raise ReviewError(f"{name} rating must be a whole number from 1 to 5, got {value!r}")
        artifact = self.store.get_artifact(artifact_id)
        if artifact.status != "candidate":
            self._already_decided(artifact.id)
        review = ReviewRecord(artifact_id=artifact.id, reviewer=reviewer, role=role, decision=decision,
                              comment=comment, diff=diff, created_at=now_iso(), usefulness=usefulness, trust=trust)
        try:
            with self.store.begin() as conn:
                # Checked again inside the write: another reviewer may have decided since the read above.
                if not self.store.set_status(conn, artifact.id, _STATUS_AFTER[decision], expected="candidate"):
                    raise _Raced
                review_id = self.store.insert_review(conn, review)
                if gate_passed is not None:
                    self.store.set_gate_passed(conn, artifact.id, gate_passed)
                self.ledger.append("review", {
                    "review_id": review_id, "decision": decision, "reviewer": reviewer, "role": role,
                    "comment": comment, "diff_sha256": hashlib.sha256(diff.encode()).hexdigest() if diff else None,
                    "gate_passed": artifact.gate_passed,
                    "synthetic_sha256": artifact.record.get("files", {}).get("synthetic.csv"),
                    "usefulness": usefulness, "trust": trust,
                    **(extra or {}),
                }, actor=reviewer, artifact_id=artifact.id, conn=conn)
        except _Raced:
            self._already_decided(artifact.id)
        return ReviewRecord(**{**review.__dict__, "id": review_id})

    def _already_decided(self, artifact_id: str) -> None:
        artifact = self.store.get_artifact(artifact_id)
        last = self.store.reviews_for(artifact.id)
        who = f" by {last[-1].reviewer} at {last[-1].created_at}" if last else ""
        raise ReviewError(f"artifact {artifact.id} is already {artifact.status}{who}; "
                          "generate a new candidate to review again")


class _Raced(Exception):
    """Another decision was committed between reading the candidate and writing this one."""
