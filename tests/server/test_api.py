"""The REST API against a real uvicorn: upload, jobs, review, release, FHIR in and out, ledger; problem details."""

from __future__ import annotations

import gzip
import io
import json
import zipfile
from pathlib import Path

import pytest

from hygeia.governance.ledger import Ledger

ROOT = Path(__file__).resolve().parents[2]
NOTE = ROOT / "hygeia" / "text" / "examples" / "pneumonia_discharge.txt"
SYNTHEA = ROOT.parent / "shared" / "data" / "synthea-fhir"
#: Exercises the API's path, not the model: 21 training patients are too few for the shipped thresholds.
PATH_POLICY = """name: api-path-test
require: [fidelity, privacy, plausibility, validity]
min_rows: 20
thresholds:
  validity.fhir_valid_share: 1.0
  plausibility.violations_per_1000: 10
  privacy.exact_trajectory_copies: 0.05
"""


def upload(http, name: str, content: bytes):
    return http.post("/api/v1/datasets", files={"file": (name, content)})


def run_job(live, kind: str, params: dict) -> dict:
    with live.client("steward") as http:
        response = http.post("/api/v1/jobs", json={"kind": kind, "params": params})
    assert response.status_code == 202, response.text
    assert response.headers["location"] == f"/api/v1/jobs/{response.json()['id']}"
    job = live.wait_job(response.json()["id"])
    assert job["status"] == "succeeded", job["error"]
    return job


def test_without_a_token_nothing_is_readable_and_errors_are_problem_details(live):
    with live.client() as http:
        assert http.get("/api/v1/health").json()["status"] == "ok"
        response = http.get("/api/v1/artifacts")
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["www-authenticate"].startswith("Bearer")
        body = response.json()
        assert body["status"] == 401 and body["type"] == "urn:hygeia:problem:unauthorized" and "token" in body["detail"]
    with live.client(headers={"Authorization": "Bearer hyg_forged"}) as http:
        assert http.get("/api/v1/ledger").status_code == 401


@pytest.mark.parametrize("name, content, message", [
    ("empty.csv", b"", "empty"),
    ("scan.pdf", b"%PDF-1.4", "extension"),
    ("broken.json", b'{"resourceType": "Bundle", "entry": [', "JSON"),
    ("note.txt", b"\x00\x01\x02binary", "binary"),
])
def test_bad_uploads_get_one_line_and_store_nothing(live, name, content, message):
    with live.client("steward") as http:
        response = upload(http, name, content)
        assert response.status_code == 422, response.text
        body = response.json()
        assert body["type"] == "urn:hygeia:problem:invalid-input" and "\n" not in body["detail"]
        assert message.lower() in body["detail"].lower()
        assert http.get("/api/v1/datasets").json() == []
    assert not any((live.home / "datasets").glob("ds-*"))


def test_a_one_row_table_is_profiled_and_a_job_on_it_fails_with_the_reason(live):
    with live.client("steward") as http:
        dataset = upload(http, "one_row.csv", b"age,sex\n34,F\n").json()
        assert [f["check"] for f in dataset["profile"]["findings"] if f["severity"] == "error"] == ["few_rows"]
        job = http.post("/api/v1/jobs", json={"kind": "synth_table", "params": {"dataset_id": dataset["id"]}}).json()
    failed = live.wait_job(job["id"])
    assert failed["status"] == "failed" and "1 row" in failed["error"] and "\n" not in failed["error"]
    with live.client("reviewer") as http:
        assert http.get("/api/v1/artifacts").json() == []


def test_a_table_goes_from_upload_to_a_downloaded_release(live, actg175):
    csv = actg175.frame.head(400).to_csv(index=False).encode()
    with live.client("steward") as http:
        dataset = upload(http, "actg.csv", csv).json()
    assert dataset["kind"] == "table" and dataset["profile"]["rows"] == 400
    job = run_job(live, "synth_table", {"dataset_id": dataset["id"], "generator": "gaussian_copula",
                                        "policy": "demo", "seed": 1})
    artifact_id = job["result"]["artifact_id"]
    assert job["result"]["gate_passed"] and job["attempts"] == 1

    with live.client("reviewer") as http:
        artifact = http.get(f"/api/v1/artifacts/{artifact_id}").json()
        assert artifact["status"] == "candidate" and artifact["scorecard"]["metrics"]
        figure = http.get(f"/api/v1/artifacts/{artifact_id}/figures/{artifact['figures'][0]}")
        assert figure.status_code == 200 and figure.content.startswith(b"\x89PNG")
        assert "<html" in http.get(f"/api/v1/artifacts/{artifact_id}/report").text.lower()
        decided = http.post(f"/api/v1/artifacts/{artifact_id}/reviews",
                            json={"decision": "approve", "comment": "subgroups checked", "usefulness": 4, "trust": 3})
        assert decided.status_code == 201
        assert (decided.json()["reviewer"], decided.json()["usefulness"]) == ("reviewer-1", 4)  # from the token
        again = http.post(f"/api/v1/artifacts/{artifact_id}/reviews", json={"decision": "reject", "comment": "x"})
        assert again.status_code == 409 and "already approved" in again.json()["detail"]

    with live.client("steward") as http:
        manifest = http.post(f"/api/v1/artifacts/{artifact_id}/release").json()
        assert manifest["reviewers"] == ["reviewer-1"] and "synthetic.csv" in manifest["files"]
    with live.client("researcher") as http:
        assert [r["id"] for r in http.get("/api/v1/releases").json()] == [artifact_id]
        archive = zipfile.ZipFile(io.BytesIO(http.get(f"/api/v1/releases/{artifact_id}/download").content))
        names = archive.namelist()
        assert f"{artifact_id}/manifest.json" in names and f"{artifact_id}/synthetic.csv" in names
    access = [e.content for e in Ledger(live.store).entries(artifact_id) if e.event == "access"]
    assert [(a["actor"], a["payload"]["what"]) for a in access] == [("researcher-1", "release download")]
    with live.client("auditor") as http:
        assert http.get("/api/v1/ledger/verify").json()["ok"] is True
        events = [e["event"] for e in http.get("/api/v1/ledger", params={"artifact_id": artifact_id}).json()]
        assert events[-3:] == ["review", "release", "access"]


def test_a_note_is_drafted_reviewed_with_an_edit_and_the_originals_are_shown_only_on_record(live):
    with live.client("steward") as http:
        note = upload(http, NOTE.name, NOTE.read_bytes()).json()
    assert note["kind"] == "note"
    job = run_job(live, "draft", {"dataset_id": note["id"], "task": "discharge-summary", "patient": "p-7"})
    artifact_id = job["result"]["artifact_id"]
    original = NOTE.read_text(encoding="utf-8")

    with live.client("reviewer") as http:
        view = http.get(f"/api/v1/artifacts/{artifact_id}/text").json()
        assert view["source"] != original and view["grounding"]["sentences"]
        assert not [e for e in Ledger(live.store).entries(artifact_id) if e.event == "reidentified_view"]
        shown = http.get(f"/api/v1/artifacts/{artifact_id}/text", params={"reidentify": "true"}).json()
        assert shown["source"] == original.replace("\r\n", "\n") or shown["source"] != view["source"]
        views = [e.content for e in Ledger(live.store).entries(artifact_id) if e.event == "reidentified_view"]
        assert [v["actor"] for v in views] == ["reviewer-1"]
        edited = view["draft"].rstrip() + "\nFollow up with the primary care physician in one week.\n"
        response = http.post(f"/api/v1/artifacts/{artifact_id}/reviews",
                             json={"decision": "edit", "text": edited, "comment": "added follow-up", "trust": 4})
        assert response.status_code == 201, response.text
        assert response.json()["diff"].count("+Follow up") == 1
    with live.client("auditor") as http:  # an auditor reads the record, never the texts
        assert http.get(f"/api/v1/artifacts/{artifact_id}").status_code == 200
        assert http.get(f"/api/v1/artifacts/{artifact_id}/text").status_code == 403


@pytest.mark.skipif(not SYNTHEA.is_dir(), reason="../shared/data/synthea-fhir not present")
def test_fhir_in_synthetic_patients_out(live):
    entries = []
    for path in sorted(SYNTHEA.glob("*.json.gz"))[:30]:
        entries += json.loads(gzip.decompress(path.read_bytes()))["entry"]
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": entries}
    (live.home / "policies").mkdir(parents=True)
    (live.home / "policies" / "api-path-test.yaml").write_text(PATH_POLICY, encoding="utf-8")
    with live.client("steward") as http:
        refused = http.post("/api/v1/fhir", content=b'{"resourceType": "Patient"}',
                            headers={"Content-Type": "application/fhir+json"})
        assert refused.status_code == 422 and "Bundle" in refused.json()["detail"]
        posted = http.post("/api/v1/fhir", content=json.dumps(bundle).encode(),
                           headers={"Content-Type": "application/fhir+json"})
        assert posted.status_code == 201, posted.text
        assert posted.json()["profile"]["patients"] == 30
    job = run_job(live, "synth_fhir", {"dataset_id": posted.json()["id"], "generator": "markov", "patients": 25,
                                       "baseline": "none", "policy": "api-path-test", "seed": 2})
    artifact_id = job["result"]["artifact_id"]
    assert job["result"]["gate_passed"], job["result"]["reasons"]
    with live.client("reviewer") as http:
        assert http.post(f"/api/v1/artifacts/{artifact_id}/reviews", json={"decision": "approve"}).status_code == 201
    with live.client("steward") as http:
        assert http.post(f"/api/v1/artifacts/{artifact_id}/release").status_code == 201
    with live.client("researcher") as http:
        response = http.get(f"/api/v1/releases/{artifact_id}/fhir")
    assert response.headers["content-type"].startswith("application/fhir+json")
    out = response.json()
    assert out["resourceType"] == "Bundle" and out["type"] == "collection"
    kinds = {e["resource"]["resourceType"] for e in out["entry"]}
    assert {"Patient", "Encounter", "Provenance"} <= kinds
    assert sum(e["resource"]["resourceType"] == "Patient" for e in out["entry"]) == 25


def test_an_admin_manages_people_and_tokens_but_sees_no_data(live):
    with live.client("admin") as http:
        created = http.post("/api/v1/users", json={"name": "dr.new", "role": "reviewer"}).json()
        assert created["token"].startswith("hyg_")
        assert http.get("/api/v1/artifacts").status_code == 403
        token_id = next(t["id"] for t in http.get("/api/v1/tokens").json() if t["user_name"] == "dr.new")
        assert "token_sha256" not in http.get("/api/v1/tokens").json()[0]
    with live.client(headers={"Authorization": f"Bearer {created['token']}"}) as http:
        assert http.get("/api/v1/me").json()["role"] == "reviewer"
    with live.client("admin") as http:
        assert http.delete(f"/api/v1/tokens/{token_id}").status_code == 204
    with live.client(headers={"Authorization": f"Bearer {created['token']}"}) as http:
        assert http.get("/api/v1/me").status_code == 401
