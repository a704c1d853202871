"""The append-only, hash-chained ledger, with Ed25519-signed checkpoints.

Each entry's body is canonical JSON ``{seq, time, event, actor, artifact_id, payload}`` and
``hash_n = sha256(hash_{n-1} || body_n)``. Editing any stored entry breaks its own hash;
rewriting the chain from some point on is caught by a signed checkpoint of an earlier
``(size, head hash)`` that was copied elsewhere.

>>> ledger = Ledger(Store("sqlite:///:memory:"))
>>> entry = ledger.append("ingest", {"sha256": "ab12"}, actor="steward")
>>> ledger.verify().ok
True
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import Connection, func, select

from hygeia.errors import StoreError
from hygeia.store.db import Store, checkpoints_table, hygeia_home, ledger_table, now_iso

GENESIS = "0" * 64
EVENTS = ("ingest", "consent", "quality", "fit", "sample", "evaluate", "gate", "review", "release", "access",
          # clinical text: de-identification counts, the drafting call, the grounding check, a view of the originals
          "deidentify", "draft", "grounding", "reidentified_view",
          # synthetic cohorts: the FHIR export (resource counts, validity)
          "export")


def canonical_json(obj: Any) -> str:
    """Deterministic JSON: sorted keys, no spaces, UTF-8 kept."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def chain_hash(prev_hash: str, body: str) -> str:
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class LedgerEntry:
    seq: int
    event: str
    artifact_id: str | None
    body: str
    prev_hash: str
    hash: str

    @property
    def content(self) -> dict[str, Any]:
        return json.loads(self.body)


@dataclass(frozen=True)
class VerifyReport:
    """Outcome of :meth:`Ledger.verify`; ``first_bad`` names the first broken entry."""

    ok: bool
    size: int
    head: str
    first_bad: int | None = None
    reason: str = ""
    checkpoints_checked: int = 0

    def message(self) -> str:
        if self.ok:
            return (f"ledger intact: {self.size} entries, head {self.head[:16]}…, "
                    f"{self.checkpoints_checked} signed checkpoint(s) match")
        return f"ledger broken at entry {self.first_bad}: {self.reason}"


class Ledger:
    """Append and verify hash-chained events in the store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def append(self, event: str, payload: dict[str, Any], *, actor: str, artifact_id: str | None = None,
               conn: Connection | None = None) -> LedgerEntry:
        """Append one event; pass ``conn`` to make it part of a larger transaction."""
        if event not in EVENTS:
            raise ValueError(f"unknown ledger event {event!r}")
        if conn is None:
            with self.store.begin() as own:
                return self._append(own, event, payload, actor, artifact_id)
        return self._append(conn, event, payload, actor, artifact_id)

    def _append(self, conn: Connection, event: str, payload: dict[str, Any], actor: str,
                artifact_id: str | None) -> LedgerEntry:
        last = conn.execute(select(ledger_table.c.seq, ledger_table.c.hash)
                            .order_by(ledger_table.c.seq.desc()).limit(1)).first()
        seq, prev = (last.seq + 1, last.hash) if last else (1, GENESIS)
        body = canonical_json({"seq": seq, "time": now_iso(), "event": event, "actor": actor,
                               "artifact_id": artifact_id, "payload": payload})
        entry = LedgerEntry(seq=seq, event=event, artifact_id=artifact_id, body=body, prev_hash=prev,
                            hash=chain_hash(prev, body))
        conn.execute(ledger_table.insert().values(seq=entry.seq, event=entry.event, artifact_id=artifact_id,
                                                  body=entry.body, prev_hash=entry.prev_hash, hash=entry.hash))
        return entry

    def entries(self, artifact_id: str | None = None) -> list[LedgerEntry]:
        query = select(ledger_table).order_by(ledger_table.c.seq)
        if artifact_id:
            query = query.where(ledger_table.c.artifact_id == artifact_id)
        with self.store.engine.connect() as conn:
            return [LedgerEntry(seq=r.seq, event=r.event, artifact_id=r.artifact_id, body=r.body,
                                prev_hash=r.prev_hash, hash=r.hash) for r in conn.execute(query)]

    def head(self) -> tuple[int, str]:
        with self.store.engine.connect() as conn:
            size = conn.execute(select(func.count()).select_from(ledger_table)).scalar_one()
            last = conn.execute(select(ledger_table.c.hash).order_by(ledger_table.c.seq.desc()).limit(1)).scalar()
        return int(size), last or GENESIS

    def verify(self, extra_checkpoints: list[dict[str, Any]] | None = None) -> VerifyReport:
        """Recompute the whole chain; then check every signed checkpoint against it."""
        prev, expected_seq, hashes = GENESIS, 1, {}
        for entry in self.entries():
            bad = self._check_entry(entry, expected_seq, prev)
            if bad:
                return VerifyReport(ok=False, size=expected_seq - 1, head=prev, first_bad=entry.seq, reason=bad)
            hashes[entry.seq] = entry.hash
            prev, expected_seq = entry.hash, expected_seq + 1
        size = expected_seq - 1
        checkpoints = [*self.stored_checkpoints(), *(extra_checkpoints or [])]
        for cp in checkpoints:
            problem = _check_checkpoint(cp, hashes)
            if problem:
                return VerifyReport(ok=False, size=size, head=prev, first_bad=min(cp.get("size", 1), size + 1) or 1,
                                    reason=problem)
        return VerifyReport(ok=True, size=size, head=prev, checkpoints_checked=len(checkpoints))

    @staticmethod
    def _check_entry(entry: LedgerEntry, expected_seq: int, prev: str) -> str:
        if entry.seq != expected_seq:
            return f"sequence jumps from {expected_seq - 1} to {entry.seq} (an entry was deleted)"
        if entry.prev_hash != prev:
            return "its prev_hash does not match the previous entry's hash (entries were rewritten or reordered)"
        if chain_hash(prev, entry.body) != entry.hash:
            return "its content does not match its hash (the entry was edited)"
        try:
            body = json.loads(entry.body)
        except json.JSONDecodeError:
            return "its body is not valid JSON (the entry was edited)"
        if body.get("seq") != entry.seq or body.get("event") != entry.event or body.get("artifact_id") != entry.artifact_id:
            return "its indexed columns disagree with its hashed body (the entry was edited)"
        return ""

    # -- signed checkpoints -------------------------------------------------------------------
    def checkpoint(self, key_path: Path | None = None) -> dict[str, Any]:
        """Sign ``(size, head hash, time)`` with the ledger key and store it; copy the result elsewhere."""
        report = self.verify()
        if not report.ok:
            raise StoreError(f"refusing to sign a broken ledger: {report.message()}")
        key = load_or_create_key(key_path)
        statement = {"size": report.size, "head": report.head, "time": now_iso()}
        signature = key.sign(canonical_json(statement).encode())
        public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        cp = {**statement, "signature": base64.b64encode(signature).decode(),
              "public_key": base64.b64encode(public).decode()}
        with self.store.begin() as conn:
            conn.execute(checkpoints_table.delete().where(checkpoints_table.c.size == report.size))
            conn.execute(checkpoints_table.insert().values(size=report.size, body=canonical_json(cp)))
        return cp

    def stored_checkpoints(self) -> list[dict[str, Any]]:
        with self.store.engine.connect() as conn:
            return [json.loads(r.body) for r in conn.execute(select(checkpoints_table).order_by(checkpoints_table.c.size))]


def _check_checkpoint(cp: dict[str, Any], hashes: dict[int, str]) -> str:
    try:
        statement = {"size": int(cp["size"]), "head": cp["head"], "time": cp["time"]}
        public = Ed25519PublicKey.from_public_bytes(base64.b64decode(cp["public_key"]))
        public.verify(base64.b64decode(cp["signature"]), canonical_json(statement).encode())
    except (KeyError, ValueError, TypeError, InvalidSignature):
        return "a checkpoint's signature is invalid (the checkpoint was forged or edited)"
    size = statement["size"]
    if size == 0:
        return ""
    if size not in hashes:
        return f"the signed checkpoint of {size} entries is longer than the ledger (entries were removed)"
    if hashes[size] != statement["head"]:
        return f"the chain no longer matches the signed checkpoint at entry {size} (history was rewritten)"
    return ""


def load_or_create_key(path: Path | None = None) -> Ed25519PrivateKey:
    """The ledger signing key, created (mode 0600) on first use."""
    path = path or Path(os.environ.get("HYGEIA_LEDGER_KEY", hygeia_home() / "ledger_signing_key.pem"))
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise StoreError(f"{path} is not an Ed25519 private key")
        return key
    key = Ed25519PrivateKey.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    return key
