"""Unseen-data check for the PHI detector: Synthea clinical notes with gold derived from FHIR resources.

    nice -n 19 .venv/bin/python -m bench.deid_synthea                       # score hygeia.privacy.detect_phi
    nice -n 19 .venv/bin/python -m bench.deid_synthea --out /tmp/syn --no-score --limit 200

The notes are the base64 attachments of the DocumentReference resources in
``../shared/data/synthea-bulk-10`` (Synthea, Apache-2.0). Gold is *partial*: every string from the same
patient's Patient resource (names, birth date, address, phone), from the note's author (Practitioner),
custodian (Organization) and encounter Location (names, addresses, phones) that occurs in the note,
plus every date and every age over 89 found by pattern (labelled ``DATE (pattern)`` and ``AGE (pattern)``,
reported apart: a pattern that any detector shares says little, so the headline is the recall on resource
gold). Anything else a detector removes counts as a false positive even when it is PHI, so only **recall**
is meaningful here; precision is a lower bound.

Synthea appends digits to every name ("Sumiko254"); no real note does, so they are removed from the
note text first (``keep_suffixes=True`` keeps them). The notes are written in the PhysioNet deid format
(``synthea.text`` + ``synthea.phi``), readable with ``hygeia.privacy.deid_formats.read_gold``.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import importlib
import json
import random
import re
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from hygeia.errors import DeidError, HygeiaError
from hygeia.privacy.deid_eval import DeidEvaluation, evaluate
from hygeia.privacy.deid_formats import AnnotatedNote, map_category, write_physionet
from hygeia.privacy.phi import PhiSpan

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "synthea-bulk-10"
_SUFFIXED = re.compile(r"\b([A-Za-z][A-Za-z'\-]*?)(\d{1,4})\b")
_DATES = re.compile(r"\b(?:\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{2,4})\b")
_AGE = re.compile(r"\b(\d{2,3})(?= ?(?:year-old|years? old|y/o|yo)\b)")
_NOT_PHI = {"Mr.", "Mrs.", "Ms.", "Dr.", "Miss", "US"}
#: label suffix of gold found by this module's own date and age patterns, not taken from a FHIR resource:
#: any detector finds those easily, so they are reported apart (see ``resource_recall``)
PATTERN = " (pattern)"


def _load(folder: Path, kind: str) -> list[dict]:
    path = folder / f"{kind}.000.ndjson.gz"
    if not path.is_file():
        raise DeidError(f"{path}: missing; point --data at a Synthea FHIR bulk export (NDJSON, gzipped)")
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _strip(text: str) -> str:
    return _SUFFIXED.sub(lambda m: m.group(1), text)


def _names(resource: dict) -> list[str]:
    """Full names first, then each part (so 'Jo Lee' is one span and a lone 'Lee' is found too)."""
    out = []
    for name in resource.get("name", []):
        parts = [*name.get("given", []), name.get("family", "")]
        out.append(" ".join(p for p in parts if p))
        out += [p for p in parts if p]
    for ext in resource.get("extension", []):
        if ext.get("url", "").endswith("mothersMaidenName"):
            out += [ext["valueString"], *ext["valueString"].split()]
    return out


def _birth_dates(iso: str) -> list[str]:
    y, m, d = iso.split("-")
    return [iso, f"{int(m)}/{int(d)}/{y}", f"{m}/{d}/{y}"]


def _address(resource: dict) -> list[tuple[str, str]]:
    items = []
    addresses = resource.get("address", [])
    for a in addresses if isinstance(addresses, list) else [addresses]:
        items += [("STREET", line) for line in a.get("line", [])]
        items += [("CITY", a["city"])] if a.get("city") else []
        zip_ = a.get("postalCode", "")
        items += [("ZIP", zip_), ("ZIP", zip_[:5])] if zip_ else []
    items += [("PHONE", t["value"]) for t in resource.get("telecom", []) if t.get("system") == "phone"]
    return items


def _by_identifier(resources: list[dict]) -> dict[str, dict]:
    return {i["value"]: r for r in resources for i in r.get("identifier", [])} | {r["id"]: r for r in resources}


def _ref_key(reference: str) -> str:
    return reference.rsplit("|", 1)[-1].rsplit("/", 1)[-1]


def _find(text: str, items: Iterable[tuple[str, str]]) -> list[tuple[int, int, str]]:
    """Every whole-word occurrence (as written, upper case or title case: "Ai" must not match "ai" in prose);
    longer strings claim their characters first; name parts separated by a space merge into one span."""
    taken = bytearray(len(text))
    found = []
    for label, value in sorted({(lab, v.strip()) for lab, v in items if v and v.strip() not in _NOT_PHI},
                               key=lambda x: (-len(x[1]), x[0].endswith(PATTERN), x[0])):
        for form in {value, value.upper(), value.title()}:
            for m in re.finditer(rf"(?<!\w){re.escape(form)}(?!\w)", text):
                if not any(taken[m.start():m.end()]):
                    taken[m.start():m.end()] = b"\1" * (m.end() - m.start())
                    found.append((m.start(), m.end(), label))
    merged: list[tuple[int, int, str]] = []
    for start, end, label in sorted(found):
        if merged and label in ("PATIENT", "DOCTOR") and merged[-1][2] == label and text[merged[-1][1]:start] == " ":
            merged[-1] = (merged[-1][0], end, label)
        else:
            merged.append((start, end, label))
    return merged


def synthea_notes(data: Path = DATA, *, per_patient: int | None = 60, limit: int | None = None, seed: int = 0,
                  keep_suffixes: bool = False) -> list[AnnotatedNote]:
    """Synthea notes with partial gold (see the module docstring).

    One patient owns most notes of the 10-patient export, so at most ``per_patient`` notes per patient
    are kept (a seeded sample), then ``limit`` notes in all.

    >>> notes = synthea_notes(limit=50)                                       # doctest: +SKIP
    >>> evaluate(detect_phi, notes).overall("token").recall                   # doctest: +SKIP
    """
    patients = {p["id"]: p for p in _load(data, "Patient")}
    practitioners = _by_identifier(_load(data, "Practitioner"))
    organizations = _by_identifier(_load(data, "Organization"))
    locations = _by_identifier(_load(data, "Location"))
    encounters = {e["id"]: e for e in _load(data, "Encounter")}
    rng = random.Random(seed)
    docs = sorted(_load(data, "DocumentReference"), key=lambda d: d["id"])
    if per_patient is not None:
        by_patient: dict[str, list[dict]] = {}
        for doc in docs:
            by_patient.setdefault(doc["subject"]["reference"], []).append(doc)
        docs = sorted((d for group in by_patient.values() for d in rng.sample(group, min(per_patient, len(group)))),
                      key=lambda d: d["id"])
    if limit is not None:
        docs = sorted(rng.sample(docs, min(limit, len(docs))), key=lambda d: d["id"])
    clean = (lambda s: s) if keep_suffixes else _strip
    notes = []
    for i, doc in enumerate(docs):
        patient = patients.get(_ref_key(doc["subject"]["reference"]))
        raw = next((c["attachment"].get("data") for c in doc.get("content", []) if c["attachment"].get("data")), None)
        if patient is None or raw is None:
            continue
        text = clean(base64.b64decode(raw).decode("utf-8"))
        items: list[tuple[str, str]] = [("PATIENT", clean(n)) for n in _names(patient)]
        items += [("DATE", d) for d in _birth_dates(patient["birthDate"])] if patient.get("birthDate") else []
        items += [(lab, clean(v)) for lab, v in _address(patient)]
        related = [practitioners.get(_ref_key(a.get("reference", ""))) for a in doc.get("author", [])]
        related += [organizations.get(_ref_key(doc.get("custodian", {}).get("reference", "")))]
        for ref in doc.get("context", {}).get("encounter", []):
            encounter = encounters.get(_ref_key(ref["reference"]), {})
            related += [locations.get(_ref_key(loc["location"].get("reference", "")))
                        for loc in encounter.get("location", [])]
            related += [practitioners.get(_ref_key(p.get("individual", {}).get("reference", "")))
                        for p in encounter.get("participant", [])]
        for res in filter(None, related):
            if res["resourceType"] == "Practitioner":
                items += [("DOCTOR", clean(n)) for n in _names(res)]
            else:
                items += [("HOSPITAL", res["name"])] if res.get("name") else []
            items += [(lab, clean(v)) for lab, v in _address(res)]
        items += [("DATE" + PATTERN, m.group()) for m in _DATES.finditer(text)]
        items += [("AGE" + PATTERN, m.group(1)) for m in _AGE.finditer(text) if int(m.group(1)) > 89]
        spans = [PhiSpan(s, e, category, text[s:e], 1.0, lab) for s, e, lab in _find(text, items)
                 if (category := map_category(lab.removesuffix(PATTERN), text[s:e])) is not None]
        notes.append(AnnotatedNote(f"S{patient['id'][:8]}", str(i + 1), text, tuple(spans)))
    if not notes:
        raise DeidError(f"{data}: no DocumentReference with a text attachment and a known patient; check the export")
    return notes


def resource_recall(result: DeidEvaluation) -> tuple[int, int]:
    """Gold tokens found and gold tokens in all, over the labels taken from FHIR resources only."""
    rows = [s for label, s in result.label_recall.items() if not label.endswith(PATTERN)]
    return sum(s.found for s in rows), sum(s.gold for s in rows)


def _detector(spec: str) -> Callable[[str], list[PhiSpan]]:
    module, _, name = spec.partition(":")
    try:
        return getattr(importlib.import_module(module), name or "detect_phi")
    except (ImportError, AttributeError) as exc:
        raise DeidError(f"cannot load detector {spec!r} ({exc}); give module:function") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Score a PHI detector on Synthea notes (partial gold: recall only).")
    parser.add_argument("--data", type=Path, default=DATA, help="Synthea FHIR bulk export folder")
    parser.add_argument("--out", type=Path, default=None, help="where to write synthea.text/.phi (default: a temp dir)")
    parser.add_argument("--per-patient", type=int, default=60, help="at most this many notes per patient (0: all)")
    parser.add_argument("--limit", type=int, default=None, help="score a seeded sample of this many notes")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep-suffixes", action="store_true", help="keep Synthea's digits after names")
    parser.add_argument("--detector", default="hygeia.privacy:detect_phi", help="module:function (text -> spans)")
    parser.add_argument("--no-score", action="store_true", help="only write the gold files")
    args = parser.parse_args(argv)
    try:
        detector = None if args.no_score else _detector(args.detector)
        notes = synthea_notes(args.data, per_patient=args.per_patient or None, limit=args.limit, seed=args.seed,
                              keep_suffixes=args.keep_suffixes)
        out = args.out or Path(tempfile.mkdtemp(prefix="hygeia-synthea-"))
        gold = write_physionet(notes, out / "synthea.text")
        print(f"{len(notes)} notes, {sum(len(n.spans) for n in notes)} gold spans -> {out / 'synthea.text'}, {gold}")
        if detector is None:
            return 0
        result = evaluate(detector, notes, keep_errors=False)
        (out / "synthea_eval.json").write_text(json.dumps(result.to_dict(), indent=2) + "\n")
        print("Partial gold: only recall is meaningful; precision counts real PHI outside the gold as errors.\n")
        found, gold = resource_recall(result)
        print(f"Token recall on gold taken from FHIR resources only (no pattern-found dates or ages): "
              f"{found / gold if gold else float('nan'):.3f} ({found} of {gold} tokens)\n")
        print(result.to_markdown())
    except HygeiaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
