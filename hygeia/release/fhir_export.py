"""Export a (synthetic) :class:`~hygeia.data.longitudinal.Cohort` as FHIR R4, and validate an export.

Two layouts, written side by side under one folder:

- ``bundles/<patient>.json``: one ``transaction`` Bundle per patient; entries have ``fullUrl``
  ``urn:uuid:<id>`` and ``request`` POST, and refer to each other by those urn:uuids;
- ``ndjson/<ResourceType>.ndjson``: bulk-export style, one resource per line, references ``Type/<id>``.

Nothing of the source cohort's identifiers leaves: every id is a fresh uuid4 drawn from an RNG
seeded with ``seed``; names, addresses and phone numbers are Faker surrogates (phones in the
555-0100..0199 range reserved for fiction); the birth date is a uniform day of ``birth_year`` and
every event date is that birth date plus the event's ``age_days`` (time of day kept, UTC). Every
resource is tagged synthetic (``meta.tag`` ``v3-ObservationValue#SYNTH``), and each patient gets a
``Provenance`` naming Hygeia, the generator and the release it came from.

The same cohort, seed and ``recorded`` time give byte-identical files (without ``recorded`` the
Provenance carries the export time, the only thing that differs between runs).

>>> export = write_fhir(cohort, Path("cand/fhir"), release_id="fhir_cohort-1a2b", seed=7,
...                     generator="sequence_gru")  # doctest: +SKIP
>>> export.resources["Patient"], export.n_resources  # doctest: +SKIP
(200, 61234)
>>> validate_fhir(Path("cand/fhir")).valid_share  # doctest: +SKIP
1.0
"""

from __future__ import annotations

import calendar
import datetime as dt
import gzip
import json
import math
import random
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from hygeia import __version__
from hygeia.data.longitudinal import Cohort
from hygeia.errors import DataError, ReleaseError
from hygeia.release.fhir_resources import BUILDERS, META, Event, Refs, finite, patient, provenance

FORMATS: tuple[str, ...] = ("bundle", "ndjson")
BUNDLES, NDJSON = "bundles", "ndjson"
MAX_REASONS = 20

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


@dataclass(frozen=True)
class FhirExport:
    """What :func:`write_fhir` wrote: resources per type (each counted once, whatever the formats) and the files."""

    folder: Path
    n_patients: int
    resources: dict[str, int]
    files: tuple[Path, ...]
    seconds: float
    recorded: str
    #: Events of a kind no builder knows (``kind`` missing): left out, counted here.
    skipped_events: int = 0

    @property
    def n_resources(self) -> int:
        return sum(self.resources.values())

    @property
    def resources_per_second(self) -> float:
        return self.n_resources / self.seconds if self.seconds > 0 else math.nan

    def to_dict(self) -> dict[str, Any]:
        return {"folder": str(self.folder), "patients": self.n_patients, "resources": dict(self.resources),
                "files": len(self.files), "seconds": round(self.seconds, 3), "recorded": self.recorded,
                "skipped_events": self.skipped_events}


@dataclass(frozen=True)
class FhirValidation:
    """Resources checked against the ``fhir.resources.R4B`` models with every reference resolved.

    Bundle entries and NDJSON lines are counted separately (an export in both formats counts each
    resource twice), and each Bundle itself once: ``resources`` gives the checked count per type.
    """

    folder: Path
    valid: int
    invalid: int
    #: The first :data:`MAX_REASONS` failures, each "file#entry-or-line Type: what is wrong".
    reasons: tuple[str, ...] = ()
    resources: dict[str, int] = field(default_factory=dict)
    files: int = 0
    references: int = 0
    seconds: float = 0.0

    @property
    def valid_share(self) -> float:
        """Valid / checked; NaN when nothing was checked (an empty folder is not "100% valid")."""
        total = self.valid + self.invalid
        return self.valid / total if total else math.nan

    def to_dict(self) -> dict[str, Any]:
        share = self.valid_share
        return {"folder": str(self.folder), "valid": self.valid, "invalid": self.invalid,
                "valid_share": None if math.isnan(share) else share, "reasons": list(self.reasons),
                "resources": dict(self.resources), "files": self.files, "references": self.references,
                "seconds": round(self.seconds, 3)}


def write_fhir(cohort: Cohort, folder: Path, *, release_id: str, seed: int = 0,
               formats: Iterable[str] = FORMATS, generator: str = "", progress: bool = False,
               recorded: dt.datetime | str | None = None) -> FhirExport:
    """Write ``cohort`` as FHIR R4 under ``folder`` (``bundles/`` and/or ``ndjson/``); see the module docstring.

    ``release_id`` names the Hygeia artifact the data belongs to (it goes into each Provenance);
    ``recorded`` pins Provenance.recorded (default: now, UTC) for byte-reproducible output.
    """
    started = time.perf_counter()
    folder, formats = Path(folder), tuple(formats)
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown or not formats:
        raise ReleaseError(f"unknown FHIR export format(s) {unknown or formats}; use any of {list(FORMATS)}")
    if not str(release_id).strip():
        raise ReleaseError("write_fhir needs a release_id (the artifact id) to name in each Provenance")
    for sub in (BUNDLES, NDJSON):
        if (folder / sub).is_dir() and any((folder / sub).iterdir()):
            raise ReleaseError(f"{folder / sub} already holds files; export into an empty folder")
    recorded_at = _instant(recorded)
    ids = random.Random(f"hygeia-fhir-ids:{seed}")  # str seeds hash with SHA-512: stable across runs
    people = _people(seed)

    def new_id() -> str:
        return str(uuid.UUID(int=ids.getrandbits(128), version=4))

    patients, events = cohort.patients, cohort.events
    births = [_birth_day(row.birth_year, i, ids) for i, row in enumerate(patients.itertuples(index=False))]
    starts, ends, deaths = _dates(cohort, births)
    col = {c: events[c].tolist() for c in ("event_id", "kind", "system", "code", "display", "value", "unit",
                                            "value_code", "encounter_id")}
    positions = events.groupby("patient_id", sort=False).indices

    bundle_dir, ndjson_dir = folder / BUNDLES, folder / NDJSON
    if "bundle" in formats:
        bundle_dir.mkdir(parents=True, exist_ok=True)
    if "ndjson" in formats:
        ndjson_dir.mkdir(parents=True, exist_ok=True)
    streams: dict[str, IO[str]] = {}
    written: list[Path] = []
    counts: Counter[str] = Counter()
    skipped, n = 0, len(patients)
    try:
        for i, row in enumerate(patients.itertuples(index=False)):
            refs = Refs()
            pid = new_id()
            subject = refs.ref("Patient", pid)
            resources = [patient(pid, sex=row.sex, race=row.race, ethnicity=row.ethnicity,
                                 birth_date=births[i].isoformat(), deceased=deaths[i], person=people(row.sex))]
            rows = positions.get(row.patient_id, ())
            new_ids = {j: new_id() for j in rows}
            # Contained events point at their encounter's new id; only this patient's encounters count.
            encounters = {col["event_id"][j]: rid for j, rid in new_ids.items() if col["kind"][j] == "encounter"}
            for j, rid in new_ids.items():
                kind = col["kind"][j]
                if kind not in BUILDERS:
                    skipped += 1
                    continue
                enc = encounters.get(col["encounter_id"][j]) if kind != "encounter" else None
                event = Event(kind, col["system"][j], col["code"][j], col["display"][j], starts[j], ends[j],
                              finite(col["value"][j]), col["unit"][j], col["value_code"][j],
                              refs.ref("Encounter", enc) if enc else None)
                resources.append(BUILDERS[kind](event, rid, subject))
            targets = [refs.ref(r["resourceType"], r["id"]) for r in resources]
            resources.append(provenance(new_id(), targets=targets, recorded=recorded_at, release_id=str(release_id),
                                        version=__version__, generator=generator))
            bundle_id = new_id()  # drawn whatever the formats, so ids do not depend on them
            counts.update(r["resourceType"] for r in resources)
            if "ndjson" in formats:
                for res in resources:
                    kind = res["resourceType"]
                    if kind not in streams:
                        streams[kind] = (ndjson_dir / f"{kind}.ndjson").open("w", encoding="utf-8", newline="\n")
                    streams[kind].write(_dumps(res) + "\n")
            if "bundle" in formats:
                refs.to_urn()  # the same dicts, now pointing at fullUrls
                bundle = {"resourceType": "Bundle", "id": bundle_id, "meta": META, "type": "transaction",
                          "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r,
                                     "request": {"method": "POST", "url": r["resourceType"]}} for r in resources]}
                path = bundle_dir / f"{pid}.json"
                path.write_text(_dumps(bundle) + "\n", encoding="utf-8")
                written.append(path)
            if progress and (i + 1 == n or (i + 1) % max(1, n // 10) == 0):
                print(f"FHIR export: {i + 1:,}/{n:,} patients", file=sys.stderr, flush=True)
    finally:
        for stream in streams.values():
            stream.close()
    written += [ndjson_dir / f"{kind}.ndjson" for kind in sorted(streams)]
    return FhirExport(folder, n, dict(sorted(counts.items())), tuple(written), time.perf_counter() - started,
                      recorded_at, skipped)


def collection_bundle(folder: Path, limit: int | None = None) -> dict[str, Any]:
    """The patients exported under ``folder`` (its ``bundles/``) as one FHIR R4 Bundle of type ``collection``."""
    bundles = sorted((folder / "bundles").glob("*.json"))
    if not bundles:
        raise ReleaseError(f"{folder} holds no FHIR bundles")
    entries = [{"fullUrl": entry.get("fullUrl"), "resource": entry["resource"]}
               for path in bundles[:limit] for entry in json.loads(path.read_text(encoding="utf-8")).get("entry", [])]
    return {"resourceType": "Bundle", "type": "collection", "total": len(entries), "entry": entries}


def validate_fhir(folder: Path) -> FhirValidation:
    """Validate every Bundle entry and NDJSON line under ``folder`` with the R4B models; resolve every reference.

    Reads ``bundles/*.json`` and ``ndjson/*.ndjson`` (gzipped too), or such files directly in ``folder``.
    A reference must resolve inside its Bundle (by fullUrl or ``Type/id``) or inside the NDJSON export;
    contained (``#id``) and conditional (``Type?search``) references are not checked.
    """
    started = time.perf_counter()
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder} is not a folder; give the folder write_fhir wrote (with bundles/ and ndjson/)")
    tally = _Tally(folder)
    bundle_dir = folder / BUNDLES if (folder / BUNDLES).is_dir() else folder
    ndjson_dir = folder / NDJSON if (folder / NDJSON).is_dir() else folder
    bundle_files = sorted([*bundle_dir.glob("*.json"), *bundle_dir.glob("*.json.gz")])
    ndjson_files = sorted([*ndjson_dir.glob("*.ndjson"), *ndjson_dir.glob("*.ndjson.gz")])
    for path in bundle_files:
        _check_bundle(path, tally)
    _check_ndjson(ndjson_files, tally)
    if not bundle_files and not ndjson_files:
        tally.reasons.append(f"{folder}: no bundles/*.json or ndjson/*.ndjson files found")
    return FhirValidation(folder, tally.valid, tally.invalid, tuple(tally.reasons), dict(sorted(tally.types.items())),
                          len(bundle_files) + len(ndjson_files), tally.references, time.perf_counter() - started)


# --- export helpers -------------------------------------------------------------------------------------------


def _instant(value: dt.datetime | str | None) -> str:
    """A FHIR instant (seconds, with offset)."""
    if isinstance(value, str):
        return value
    value = value or dt.datetime.now(dt.UTC)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.isoformat(timespec="seconds")


def _birth_day(birth_year: float, row: int, rng: random.Random) -> dt.date:
    """A uniform day of ``birth_year``: the exact birth date is never modelled, so it is drawn here."""
    if birth_year is None or not math.isfinite(birth_year) or not 1 <= birth_year <= 9999:
        raise DataError(f"patient row {row} has birth_year {birth_year!r}; the FHIR export needs a year "
                        "to place the events in time")
    year = int(birth_year)
    return dt.date(year, 1, 1) + dt.timedelta(days=rng.randrange(366 if calendar.isleap(year) else 365))


def _dates(cohort: Cohort, births: list[dt.date]) -> tuple[list[str | None], ...]:
    """Event starts, event ends and deaths as dateTimes: birth date (midnight UTC) + age, for all rows at once."""
    patients, events = cohort.patients, cohort.events
    birth_seconds = np.array([(b - dt.date(1970, 1, 1)).days * 86400 for b in births], dtype=float)
    row_of = {pid: i for i, pid in enumerate(patients["patient_id"])}
    event_birth = birth_seconds[events["patient_id"].map(row_of).to_numpy(dtype=int)]

    def at(base: np.ndarray, ages: pd.Series) -> list[str | None]:
        return _datetimes(base + np.round(ages.to_numpy(float) * 86400))  # whole seconds

    return at(event_birth, events["age_days"]), at(event_birth, events["end_age_days"]), \
        at(birth_seconds, patients["deceased_age_days"])


def _datetimes(seconds: np.ndarray) -> list[str | None]:
    """FHIR dateTimes (UTC, whole seconds) from seconds since 1970; None where the time is missing."""
    out = np.full(len(seconds), None, dtype=object)
    known = np.isfinite(seconds)
    if known.any():
        text = np.datetime_as_string(seconds[known].astype("int64").astype("datetime64[s]"), unit="s")
        out[known] = [t + "+00:00" for t in text.tolist()]
    return out.tolist()


def _people(seed: int):  # -> Callable[[str | None], dict]
    """Surrogate names, addresses and phones from Faker, seeded apart from the id stream."""
    from faker import Faker  # imported here: ~0.1 s, only needed when exporting

    fake = Faker("en_US")
    fake.seed_instance(f"hygeia-fhir-people:{seed}")

    def person(sex: str | None) -> dict[str, Any]:
        first = {"female": fake.first_name_female, "male": fake.first_name_male}.get(sex or "",
                                                                                    fake.first_name_nonbinary)()
        phone = f"+1 {fake.random_int(201, 989)}-555-01{fake.random_int(0, 99):02d}"
        return {"name": {"use": "official", "family": fake.last_name(), "given": [first]},
                "telecom": [{"system": "phone", "value": phone, "use": "home"}],
                "address": {"use": "home", "line": [fake.street_address()], "city": fake.city(),
                            "state": fake.state_abbr(), "postalCode": fake.postcode(), "country": "US"}}

    return person


# --- validation helpers ---------------------------------------------------------------------------------------


class _Tally:
    def __init__(self, folder: Path) -> None:
        self.folder, self.valid, self.invalid, self.references = folder, 0, 0, 0
        self.reasons: list[str] = []
        self.types: Counter[str] = Counter()

    def where(self, path: Path, item: object) -> str:
        try:
            return f"{path.relative_to(self.folder).as_posix()}#{item}"
        except ValueError:
            return f"{path}#{item}"

    def count(self, resource_type: str | None, path: Path, item: object, problem: str | None) -> None:
        self.types[resource_type or "?"] += 1
        if problem is None:
            self.valid += 1
            return
        self.invalid += 1
        if len(self.reasons) < MAX_REASONS:  # the location is formatted only for the few reasons kept
            self.reasons.append(f"{self.where(path, item)} {resource_type or '?'}: {problem}")


def _model_problem(resource: Any) -> str | None:
    """None if ``resource`` validates against its R4B model, else the first error (and how many more)."""
    from fhir.resources.R4B import get_fhir_model_class

    if not isinstance(resource, dict):
        return "not a JSON object"
    kind = resource.get("resourceType")
    try:
        model = get_fhir_model_class(kind) if isinstance(kind, str) and kind[:1].isupper() else None
    except ValueError:
        model = None
    if model is None:
        return f"unknown resourceType {kind!r}"
    try:
        model.model_validate(resource)
    except ValidationError as exc:
        errors = exc.errors()
        first = errors[0]
        loc = ".".join(str(p) for p in first["loc"]) or "(resource)"
        more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
        return f"{loc}: {first['msg']}{more}"
    except (ValueError, TypeError) as exc:
        return str(exc).splitlines()[0]
    return None


def _references(node: Any) -> Iterator[str]:
    """Every ``Reference.reference`` string inside a resource."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                if key == "reference" and isinstance(value, str):
                    yield value
                elif isinstance(value, (dict, list)):
                    stack.append(value)
        elif isinstance(item, list):
            stack.extend(v for v in item if isinstance(v, (dict, list)))


def _checked(ref: str) -> bool:
    """Contained (#id) and conditional (Type?query) references cannot be resolved offline."""
    return not ref.startswith("#") and "?" not in ref


def _read_text(path: Path) -> str:
    if path.suffix == ".gz":
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            return handle.read()
    return path.read_text(encoding="utf-8")


def _check_bundle(path: Path, tally: _Tally) -> None:
    try:
        bundle = json.loads(_read_text(path))
    except (OSError, ValueError) as exc:
        tally.count("Bundle", path, "0", f"unreadable JSON ({exc.__class__.__name__})")
        return
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        tally.count("Bundle", path, "0", "not a Bundle")
        return
    entries = bundle.get("entry") if isinstance(bundle.get("entry"), list) else []
    # The envelope (type, fullUrl, request) is checked without its resources, which are checked one by one.
    envelope = dict(bundle)
    if entries:
        envelope["entry"] = [{k: v for k, v in e.items() if k != "resource"} if isinstance(e, dict) else e
                             for e in entries]
    known: set[str] = set()
    duplicates: set[str] = set()
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        res = entry.get("resource") if isinstance(entry.get("resource"), dict) else {}
        for key in (entry.get("fullUrl"), f"{res.get('resourceType')}/{res.get('id')}" if res.get("id") else None):
            if key:
                (duplicates if key in known else known).add(key)
    problem = _model_problem(envelope)
    if problem is None and duplicates:
        problem = f"duplicate fullUrl/id {min(duplicates)}"
    tally.count("Bundle", path, "bundle", problem)
    for i, entry in enumerate(entries):
        res = entry.get("resource") if isinstance(entry, dict) else None
        kind = res.get("resourceType") if isinstance(res, dict) else None
        problem = _model_problem(res)
        if problem is None:
            url = (entry.get("request") or {}).get("url")
            if bundle.get("type") == "transaction" and url and url.split("?")[0].split("/")[0] != kind:
                problem = f"request.url {url!r} does not match the resource type"
        if problem is None:
            refs = [r for r in _references(res) if _checked(r)]
            tally.references += len(refs)
            missing = [r for r in refs if r not in known]
            if missing:
                problem = f"reference {missing[0]!r} does not resolve inside the bundle"
        tally.count(kind, path, f"entry{i}", problem)


def _check_ndjson(files: list[Path], tally: _Tally) -> None:
    """Two passes: validate each line and collect its references, then resolve them against every id read."""
    known: set[str] = set()
    pending: list[tuple[str, Path, int, list[str]]] = []  # (type, file, line, references) of valid lines
    for path in files:
        try:
            _check_lines(path, tally, known, pending)
        except (OSError, UnicodeDecodeError) as exc:
            tally.count("?", path, "0", f"unreadable ({exc.__class__.__name__})")
    for kind, path, number, refs in pending:
        tally.references += len(refs)
        missing = [r for r in refs if r not in known]
        tally.count(kind, path, number, f"reference {missing[0]!r} does not resolve in the export" if missing else None)


def _check_lines(path: Path, tally: _Tally, known: set[str], pending: list[tuple[str, Path, int, list[str]]]) -> None:
    """One NDJSON file, streamed line by line (an export's Observation file can be hundreds of MB)."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                res = json.loads(line)
            except ValueError:
                tally.count("?", path, number, "not JSON")
                continue
            kind = res.get("resourceType") if isinstance(res, dict) else None
            problem = _model_problem(res)
            if problem is None:
                key = f"{kind}/{res.get('id')}"
                if not res.get("id"):
                    problem = "no id (NDJSON resources are referenced by Type/id)"
                elif key in known:
                    problem = f"duplicate id {key}"
                else:
                    known.add(key)
            if problem is not None:
                tally.count(kind, path, number, problem)
                continue
            pending.append((kind, path, number, [r for r in _references(res) if _checked(r)]))
