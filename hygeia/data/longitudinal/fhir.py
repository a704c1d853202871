"""Read FHIR R4 (per-patient Bundles or bulk-export NDJSON, gzipped or not) into a :class:`Cohort`.

Every resource is validated with the ``fhir.resources`` R4B models (the default models are R5
and reject valid R4 Encounters and DocumentReferences). An invalid resource is either skipped
and listed in the report with its file, line (NDJSON line from 1, or Bundle entry index from 0)
and pydantic's first error, or, with ``on_invalid="reject"``, stops the read with a
:class:`DataError`. Resource types a timeline does not use (Claim, ExplanationOfBenefit,
DocumentReference, Provenance, Organization...) are counted and left out.

Direct identifiers never reach the cohort: no names, addresses, telecom, identifiers or FHIR
ids are read; patients get pseudonymous ids and dates become ages in days. The mapping of each
resource type is in :mod:`hygeia.data.longitudinal.fhir_mapping`.

>>> result = read_fhir(["../shared/data/synthea-bulk-10/"])  # doctest: +SKIP
>>> result.cohort.n_patients, result.report.resources["Encounter"], len(result.report.invalid)  # doctest: +SKIP
(13, 1215, 0)

Validation (``validate``): by default (``"used"``) every resource of a type the cohort is built
from (Patient, Encounter, Condition, Observation, MedicationRequest, Medication, Procedure,
Immunization, AllergyIntolerance) is validated against its full R4B model, and every other
resource gets a cheap check (a known R4 type, known top-level elements, a well-formed id).
``"all"`` validates everything fully: on the 60 Synthea Bundles it takes 2-3 times as long, as
their Claims and ExplanationOfBenefits cost more to validate than all the clinical resources.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import multiprocessing
import re
import sys
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from hygeia.data.longitudinal.cohort import Cohort
from hygeia.data.longitudinal.fhir_mapping import MAPPERS, Origin, Parsed, concept, link, patient
from hygeia.errors import DataError

OnInvalid = Literal["skip", "reject"]
Validate = Literal["all", "used"]
#: File names picked up inside folders (a file named explicitly is read whatever its name).
SUFFIXES: tuple[str, ...] = (".json", ".ndjson", ".json.gz", ".ndjson.gz")
#: Resource types a cohort is built from; the rest are only counted.
USED_TYPES: frozenset[str] = frozenset(MAPPERS) | {"Patient", "Medication"}
_GZIP_MAGIC = b"\x1f\x8b"
_FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
_MAX_REASON = 200


@dataclass(frozen=True)
class InvalidResource:
    """A resource left out: where it is and the first thing wrong with it."""

    file: str
    line: int  # NDJSON line (from 1) or Bundle entry index (from 0)
    resource_type: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line} {self.resource_type or 'resource'}: {self.reason}"


@dataclass(frozen=True)
class IngestReport:
    """What a FHIR read saw: resources per type, those used, the invalid ones, and the speed."""

    files: int
    resources: dict[str, int]
    used: dict[str, int]
    invalid: list[InvalidResource]
    seconds: float
    validated: Validate = "used"
    notes: list[str] = field(default_factory=list)

    @property
    def n_resources(self) -> int:
        return sum(self.resources.values())

    @property
    def resources_per_second(self) -> float:
        return self.n_resources / self.seconds if self.seconds > 0 else float("nan")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (the CLI prints it; a model card can keep it)."""
        out = asdict(self)
        out["invalid"] = [asdict(item) for item in self.invalid]
        out["resources_per_second"] = self.resources_per_second
        return out


@dataclass(frozen=True)
class IngestResult:
    cohort: Cohort
    report: IngestReport


def read_fhir(paths: Sequence[str | Path] | str | Path, *, on_invalid: OnInvalid = "skip",
              validate: Validate = "used", progress: bool = False, workers: int = 1) -> IngestResult:
    """Read FHIR files and folders (``*.json``, ``*.ndjson``, also gzipped) into a cohort and a report.

    Folders are searched recursively; gzip is recognised by its magic bytes. Files in a folder
    that are JSON but not FHIR (an export log, a manifest) are skipped with a note; an empty or
    malformed file raises :class:`DataError`. ``workers > 1`` validates files in that many
    processes (the result is the same; worth it on an idle machine with many files).
    """
    if on_invalid not in ("skip", "reject"):
        raise DataError(f"on_invalid takes 'skip' or 'reject', not {on_invalid!r}")
    if validate not in ("all", "used"):
        raise DataError(f"validate takes 'all' or 'used', not {validate!r}")
    started = time.perf_counter()
    given = [paths] if isinstance(paths, (str, Path)) else list(paths)
    files = _expand(given)
    reader = _Reader(on_invalid, validate)
    with _progress(progress, len(files)) as advance:
        if workers > 1 and len(files) > 1:
            context = multiprocessing.get_context("spawn")  # no fork: the progress bar runs a thread
            with ProcessPoolExecutor(min(workers, len(files)), mp_context=context) as pool:
                jobs = [pool.submit(_read_one, path, explicit, on_invalid, validate) for path, explicit in files]
                try:
                    for job, (path, _) in zip(jobs, files):
                        reader.merge(job.result())  # in file order, so ids and reports match a serial read
                        advance(path.name)
                except BaseException:
                    pool.shutdown(wait=False, cancel_futures=True)  # a rejected file stops the rest
                    raise
        else:
            for path, explicit in files:
                reader.read_file(path, explicit)
                advance(path.name)
    if not reader.parsed.patients:
        raise DataError(f"{_label(given)}: no valid Patient resource found; include the Patient resources "
                        "(per-patient Bundles, or Patient.ndjson of a bulk export)")
    linked = link(reader.parsed)
    for origin, reason in linked.bad_references:
        reader.invalid_found(InvalidResource(origin.file, origin.line, origin.resource_type, reason))
    notes = reader.notes + linked.notes
    if reader.invalid:
        notes.append(f"{len(reader.invalid):,} invalid resource(s) skipped (file, line and reason in the report)")
    cohort = Cohort(linked.patients, linked.events, source=_label(given), sha256=reader.sha256(),
                    notes=notes)
    report = IngestReport(files=reader.files, resources=dict(sorted(reader.counts.items())),
                          used=dict(sorted(linked.used.items())), invalid=reader.invalid,
                          seconds=time.perf_counter() - started, validated=validate, notes=list(notes))
    return IngestResult(cohort, report)


class _Reader:
    """Reads files one by one into a :class:`Parsed`, validating and counting every resource."""

    def __init__(self, on_invalid: OnInvalid, validate: Validate) -> None:
        self.on_invalid, self.validate = on_invalid, validate
        self.parsed = Parsed()
        self.counts: Counter[str] = Counter()
        self.invalid: list[InvalidResource] = []
        self.notes: list[str] = []
        self.digests: list[str] = []
        self.files = 0

    def sha256(self) -> str:
        """Hash of the source files' bytes (of their hashes, in reading order)."""
        return hashlib.sha256("".join(self.digests).encode()).hexdigest()

    def merge(self, other: _Reader) -> None:
        self.parsed.patients += other.parsed.patients
        self.parsed.events += other.parsed.events
        self.parsed.medications.update(other.parsed.medications)
        self.parsed.aliases.update(other.parsed.aliases)
        self.counts.update(other.counts)
        self.invalid += other.invalid
        self.notes += other.notes
        self.digests += other.digests
        self.files += other.files

    def read_file(self, path: Path, explicit: bool) -> None:
        raw, text = _load(path)
        counted = False
        for line, record in _records(path, text):
            if not counted:
                if not isinstance(record, _Malformed) and not (isinstance(record, dict) and "resourceType" in record):
                    if explicit:
                        raise DataError(f"{path}: JSON but not FHIR (no resourceType); give FHIR R4 Bundles "
                                        "(*.json) or bulk-export NDJSON (*.ndjson)")
                    self.notes.append(f"skipped {path}: JSON but not FHIR (no resourceType), e.g. an export log")
                    return
                counted = True
                self.files += 1
                self.digests.append(hashlib.sha256(raw).hexdigest())
            if isinstance(record, _Malformed):
                self.counts["(malformed)"] += 1
                self.invalid_found(InvalidResource(str(path), line, "", record.reason))
            else:
                self.take(record, str(path), line, None)

    def take(self, res: Any, file: str, line: int, full_url: str | None) -> None:
        """Validate one resource and hand it to its mapper; Bundles are opened entry by entry."""
        rtype = res.get("resourceType") if isinstance(res, dict) else None
        if rtype == "Bundle":
            for index, entry in enumerate(res.get("entry") or []):
                if isinstance(entry, dict) and entry.get("resource") is not None:
                    self.take(entry["resource"], file, index, entry.get("fullUrl"))
            return
        self.counts[rtype if isinstance(rtype, str) else "(none)"] += 1
        reason = self.check(res, rtype)
        if reason:
            self.invalid_found(InvalidResource(file, line, rtype if isinstance(rtype, str) else "", reason))
            return
        key = f"{rtype}/{res['id']}" if res.get("id") else (full_url or f"{file}#{line}")
        if full_url and full_url != key:
            self.parsed.aliases[full_url] = key
        origin = Origin(file, line, rtype, key)
        if rtype == "Patient":
            self.parsed.patients.append((origin, patient(res)))
        elif rtype == "Medication":
            self.parsed.medications[key] = concept(res.get("code"))
        elif rtype in MAPPERS:
            self.parsed.events.append((origin, MAPPERS[rtype](res)))

    def check(self, res: Any, rtype: Any) -> str | None:
        """None if the resource is valid FHIR R4, else one short line saying why not."""
        if not isinstance(rtype, str):
            return "not a FHIR resource (no resourceType)"
        model = _model(rtype)
        if model is None:
            return f"unknown resourceType {rtype!r} (not a FHIR R4 resource)"
        if self.validate == "all" or rtype in USED_TYPES:
            try:
                model.model_validate(res)
            except ValidationError as exc:
                return _first_error(exc)
            except (ValueError, TypeError) as exc:
                return _one_line(str(exc))
        else:  # the cheap check: a known type, known top-level elements, a well-formed id
            unknown = sorted(set(res) - _elements(rtype))
            if unknown:
                return f"{unknown[0]}: Extra inputs are not permitted"
            if "id" in res and not (isinstance(res["id"], str) and _FHIR_ID.fullmatch(res["id"])):
                return f"id: {str(res['id'])[:40]!r} is not a FHIR id"
        return None

    def invalid_found(self, item: InvalidResource) -> None:
        if self.on_invalid == "reject":
            raise DataError(f"{item}; fix the resource, or read with on_invalid='skip' to leave it out")
        self.invalid.append(item)


def _read_one(path: Path, explicit: bool, on_invalid: OnInvalid, validate: Validate) -> _Reader:
    """One file read in a worker process."""
    reader = _Reader(on_invalid, validate)
    reader.read_file(path, explicit)
    return reader


@cache
def _model(resource_type: str) -> Any:
    try:
        return get_fhir_model_class(resource_type)
    except (ValueError, KeyError, ImportError, AttributeError):
        return None


@cache
def _elements(resource_type: str) -> frozenset[str]:
    """Top-level JSON names a resource type allows (``_status`` extensions included)."""
    fields = _model(resource_type).model_fields
    return frozenset({"resourceType"} | {info.alias or name for name, info in fields.items()})


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"])
    return _one_line(f"{where}: {error['msg']}" if where else error["msg"])


def _one_line(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_REASON else text[:_MAX_REASON - 1] + "…"


def _expand(paths: list[str | Path]) -> list[tuple[Path, bool]]:
    """The files to read, each with whether it was named explicitly (folders: recursive, sorted)."""
    if not paths:
        raise DataError("no FHIR input given; name FHIR files or folders (*.json, *.ndjson, also .gz)")
    files: list[tuple[Path, bool]] = []
    for item in map(Path, paths):
        if item.is_dir():
            found = sorted(p for p in item.rglob("*") if p.is_file() and p.name.lower().endswith(SUFFIXES))
            if not found:
                raise DataError(f"{item}: no FHIR files (*.json, *.ndjson, also .gz) in this folder; "
                                "point to the folder holding the export")
            files += [(p, False) for p in found]
        elif item.is_file():
            files.append((item, True))
        else:
            raise DataError(f"{item}: no such file or folder; check the path")
    return files


def _load(path: Path) -> tuple[bytes, str]:
    """The file's bytes (for the hash) and its text, gunzipped when its magic bytes say gzip."""
    raw = path.read_bytes()
    data = raw
    if raw[:2] == _GZIP_MAGIC:
        try:
            data = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise DataError(f"{path}: corrupt gzip data ({exc}); copy or download the file again") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DataError(f"{path}: not UTF-8 text; FHIR JSON must be UTF-8 (is this the right file?)") from None
    if not text.strip():
        raise DataError(f"{path}: file is empty; export it again or leave it out")
    return raw, text


@dataclass(frozen=True)
class _Malformed:
    """Stands in for the record of a malformed NDJSON line."""

    reason: str


def _records(path: Path, text: str) -> Iterator[tuple[int, Any]]:
    """(position, JSON value) per record; a malformed NDJSON line yields :class:`_Malformed` instead."""
    if not path.name.lower().removesuffix(".gz").endswith(".ndjson"):
        try:
            yield 1, json.loads(text)
            return
        except json.JSONDecodeError as exc:
            if not exc.msg.startswith("Extra data"):  # else: NDJSON under a .json name
                raise DataError(f"{path}: malformed JSON at line {exc.lineno} column {exc.colno} ({exc.msg}); "
                                "fix or re-export the file") from None
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                yield number, json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, _Malformed(f"malformed JSON at column {exc.colno} ({exc.msg})")


def _label(paths: list[str | Path]) -> str:
    return str(paths[0]) if len(paths) == 1 else f"{paths[0]} (+{len(paths) - 1} more)"


@contextmanager
def _progress(enabled: bool, total: int) -> Iterator[Callable[[str], None]]:
    """A rich progress bar on stderr, one step per file; a no-op when not asked for."""
    if not enabled:
        yield lambda name: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("reading FHIR"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("{task.description}"), console=Console(file=sys.stderr), transient=True) as bar:
        task = bar.add_task("", total=total)
        yield lambda name: bar.update(task, advance=1, description=name)
