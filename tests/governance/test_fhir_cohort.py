"""The longitudinal path end to end on real FHIR: ingest -> fit -> sample -> export -> evaluate -> gate -> review ->
release, on SQLite and PostgreSQL; a leaky generator is blocked; bad input leaves nothing behind."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hygeia.data.longitudinal import Cohort
from hygeia.data.longitudinal.fhir import read_fhir
from hygeia.errors import DataError, GeneratorError, ReleaseError
from hygeia.evaluate import catalog
from hygeia.evaluate.longitudinal import COHORT_METRIC_NAMES
from hygeia.generators.sequence.base import SEQUENCE_REGISTRY, SequenceGenerator, register_sequence
from hygeia.governance.fhir_cohort import KIND, synthesize_cohort
from hygeia.governance.ledger import Ledger
from hygeia.governance.policy import load_policy, parse_policy
from hygeia.governance.release import release_artifact
from hygeia.governance.review import ReviewQueue
from hygeia.store import Store

SYNTHEA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "synthea-fhir"
#: The shipped policy with the fidelity bar lowered: these tests exercise the path, not the Markov model's quality.
PATH_POLICY = parse_policy("""
name: path-test
require: [fidelity, privacy, plausibility, validity]
min_rows: 20
thresholds:
  validity.fhir_valid_share: 1.0
  plausibility.violations_per_1000: 10
  privacy.exact_trajectory_copies: 0.05
  privacy.dcr_share_closer_to_train: 0.60
""")


@pytest.fixture(scope="module")
def synthea() -> Cohort:
    if not SYNTHEA.is_dir():
        pytest.skip(f"{SYNTHEA} not present (see ../shared/data/README.md)")
    return read_fhir([SYNTHEA]).cohort


def test_catalogue_lists_every_cohort_metric():
    assert catalog.COHORT_METRIC_NAMES == (*COHORT_METRIC_NAMES, "validity.fhir_valid_share")
    load_policy("fhir-cohort")  # the shipped policy names only known metrics and families


def test_round_trip_from_fhir_to_a_released_fhir_cohort(synthea, store_url, tmp_path):
    store = Store(store_url)
    result = synthesize_cohort(synthea, out_dir=tmp_path / "cand", policy=PATH_POLICY, generator="markov",
                               patients=100, seed=3, store=store, ingest={"resources": {"Patient": 59}})
    assert result.verdict.passed, result.verdict.reasons
    assert result.patients == 100 and result.validation.valid_share == 1.0
    card = result.verdict.scorecard
    assert card.value("plausibility.violations_per_1000") == 0.0
    assert card.get("fidelity.temporal_overall").reference > 0.5  # the real holdout's score is the ceiling shown
    bundles = sorted((tmp_path / "cand" / "fhir" / "bundles").glob("*.json"))
    assert len(bundles) == 100
    bundle = json.loads(bundles[0].read_text(encoding="utf-8"))
    assert bundle["type"] == "transaction"
    provenance = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Provenance"]
    assert len(provenance) == 1 and json.dumps(provenance).count(result.artifact_id) >= 1

    artifact = store.get_artifact(result.artifact_id)
    assert artifact.kind == KIND and artifact.status == "candidate"
    entries = [e for e in Ledger(store).entries() if e.artifact_id == result.artifact_id]
    assert [e.event for e in entries] == ["ingest", "fit", "sample", "export", "evaluate", "gate"]
    names = set(synthea.patients["patient_id"])
    assert not any(pid in e.body for e in entries for pid in names)  # pseudonymous source ids stay out too

    with pytest.raises(ReleaseError, match="has not been approved"):
        release_artifact(store, result.artifact_id, tmp_path / "early")
    ReviewQueue(store).decide(result.artifact_id, "approve", reviewer="dana", role="data steward")
    folder = release_artifact(store, result.artifact_id, tmp_path / "release")
    files = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert {"model_card.json", "model_card.md", "report.html", "manifest.json",
            "cohort/events.parquet"} <= files
    assert sum(f.startswith("fhir/bundles/") for f in files) == 100
    assert any(f.startswith("fhir/ndjson/Patient") for f in files)
    card_json = json.loads((folder / "model_card.json").read_text(encoding="utf-8"))
    assert card_json["identity"]["artifact_kind"] == KIND and card_json["data_lineage"]["unit"] == "patients"
    report = (folder / "report.html").read_text(encoding="utf-8")
    assert "Released" in report and "dana" in report and "Clinical plausibility" in report
    assert Ledger(store).verify().ok


class _CopyTraining(SequenceGenerator):
    """A 'generator' that memorises: it returns training patients under new ids. The gate must stop it."""

    name = "copy_training_test"

    def _fit_streams(self, *args: Any) -> None:  # fit and sample below skip the token streams
        raise NotImplementedError

    _sample_streams = _fit_streams

    def fit(self, cohort: Cohort) -> _CopyTraining:
        self.cohort_ = cohort
        return self

    def sample(self, n: int, seed: int | None = None) -> Cohort:
        ids = list(self.cohort_.patients["patient_id"])[:n]
        rename = {pid: f"S{i:05d}" for i, pid in enumerate(ids)}
        patients = self.cohort_.patients[self.cohort_.patients["patient_id"].isin(ids)].copy()
        events = self.cohort_.events[self.cohort_.events["patient_id"].isin(ids)].copy()
        patients["patient_id"] = patients["patient_id"].map(rename)
        events["patient_id"] = events["patient_id"].map(rename)
        events["event_id"] = "S" + events["event_id"]
        events["encounter_id"] = events["encounter_id"].map(lambda e: None if e is None else "S" + e)
        return Cohort(patients, events, source="copy")


@pytest.fixture
def copier() -> Any:
    register_sequence(_CopyTraining)
    yield _CopyTraining.name
    SEQUENCE_REGISTRY.pop(_CopyTraining.name, None)


def test_gate_blocks_a_generator_that_copies_training_patients(synthea, copier, tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'h.db'}")
    result = synthesize_cohort(synthea, out_dir=tmp_path / "cand", generator=copier, patients=30, baseline=None,
                               store=store)
    assert not result.verdict.passed
    reasons = " ".join(result.verdict.reasons)
    assert "privacy.exact_trajectory_copies" in reasons and "privacy.dcr_share_closer_to_train" in reasons
    ReviewQueue(store).decide(result.artifact_id, "approve", reviewer="dana")
    with pytest.raises(ReleaseError, match="failed the gate"):
        release_artifact(store, result.artifact_id, tmp_path / "release")


def test_bad_input_is_refused_before_anything_is_written(synthea, tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'h.db'}")
    few = synthea.subset(list(synthea.patients["patient_id"])[:10])
    with pytest.raises(DataError, match="at least 20 are needed"):
        synthesize_cohort(few, out_dir=tmp_path / "a", generator="markov", store=store)
    with pytest.raises(GeneratorError, match="did you mean"):
        synthesize_cohort(synthea, out_dir=tmp_path / "b", generator="markov", params={"min_code_patent": 3},
                          store=store)
    with pytest.raises(GeneratorError, match="unknown"):
        synthesize_cohort(synthea, out_dir=tmp_path / "c", generator="sequence_gan", store=store)
    assert not any((tmp_path / d).exists() for d in "abc")
    assert store.list_artifacts() == [] and Ledger(store).entries() == []
