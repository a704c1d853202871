"""The longitudinal commands end to end: `hygeia fhir ingest`, `hygeia synth-fhir`, review and release, bad input."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest

from hygeia.governance.ledger import Ledger
from hygeia.store import Store

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture
def synthea(hygeia_env) -> Path:
    if not (DATA / "synthea-fhir").is_dir():
        pytest.skip("../shared/data/synthea-fhir not present (see ../shared/data/README.md)")
    return DATA / "synthea-fhir"


def test_ingest_prints_what_was_read_and_skips_invalid_resources_by_name(synthea, hygeia_env, run):
    folder = hygeia_env / "export"
    shutil.copytree(DATA / "synthea-bulk-10", folder)
    with gzip.open(folder / "Condition.000.ndjson.gz", "rt", encoding="utf-8") as fh:
        lines = fh.read().splitlines()
    broken = json.loads(lines[2])
    broken["onsetDateTime"] = "2019-02-30T00:00:00Z"  # no such day
    lines[2] = json.dumps(broken)
    with gzip.open(folder / "Condition.000.ndjson.gz", "wt", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
    code, out, err = run("fhir", "ingest", folder, "--out", hygeia_env / "timelines")
    assert code == 0, err
    assert "Condition" in out and "1 invalid, skipped" in out
    assert "Condition.000.ndjson.gz:3" in out  # file and line of the bad resource
    assert (hygeia_env / "timelines" / "events.parquet").is_file()
    code, _, err = run("fhir", "ingest", folder, "--on-invalid", "reject")
    assert code == 2 and "Condition.000.ndjson.gz" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("content", [b"", b"{not json", b"\xff\xfe\x00garbage"])
def test_unreadable_fhir_is_one_line_and_exit_2(hygeia_env, run, content):
    bad = hygeia_env / "bad.ndjson"
    bad.write_bytes(content)
    code, _, err = run("fhir", "ingest", bad)
    assert code == 2 and "bad.ndjson" in err and len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_synth_fhir_review_and_release_from_the_command_line(synthea, hygeia_env, run, store_url):
    policy = hygeia_env / "policy.yaml"
    policy.write_text("name: cli-test\nrequire: [privacy, plausibility, validity]\nmin_rows: 20\n"
                      "thresholds: {validity.fhir_valid_share: 1.0, plausibility.violations_per_1000: 10}\n",
                      encoding="utf-8")
    code, out, err = run("synth-fhir", synthea, "--generator", "markov", "--baseline", "none", "--patients", 30,
                         "--policy", policy, "--out", hygeia_env / "cand", "--seed", 1)
    assert code == 0, err + out
    artifact_id = next(w for w in out.split() if w.startswith("fhir-"))
    assert "validity.fhir_valid_share" in out and "30 synthetic patients" in out
    code, out, _ = run("review", "show", artifact_id)
    assert code == 0 and "plausibility.violations_per_1000" in out
    assert run("release", artifact_id, "--out", hygeia_env / "rel")[0] == 2  # not approved yet
    assert run("review", "approve", artifact_id, "--reviewer", "dana")[0] == 0
    code, out, err = run("release", artifact_id, "--out", hygeia_env / "rel")
    assert code == 0, err
    assert len(list((hygeia_env / "rel" / "fhir" / "bundles").glob("*.json"))) == 30
    assert [e.event for e in Ledger(Store(store_url)).entries()][-1] == "release"


def test_synth_fhir_refuses_too_few_patients_and_leaves_nothing(hygeia_env, run, store_url):
    code, _, err = run("synth-fhir", DATA / "synthea-bulk-10", "--out", hygeia_env / "cand")
    assert code == 2 and "at least 20" in err and len(err.strip().splitlines()) == 1
    assert not (hygeia_env / "cand").exists() and Ledger(Store(store_url)).entries() == []
    code, _, err = run("synth-fhir", "--out", hygeia_env / "cand")
    assert code == 2 and "--omop" in err
