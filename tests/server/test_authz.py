"""Authorisation, role by role: every API route names its permission, and each role gets exactly what it may."""

from __future__ import annotations

import pytest

from hygeia.governance.accounts import PERMISSIONS, ROLES
from hygeia.server import create_app

ANY = "any signed-in user"
#: (method, path) -> the permission it needs. A new route fails the first test until it is listed here.
MATRIX: dict[tuple[str, str], str | None] = {
    ("GET", "/api/v1/health"): None,
    ("GET", "/api/v1/me"): ANY,
    ("GET", "/api/v1/job-kinds"): ANY,
    ("POST", "/api/v1/datasets"): "datasets:write",
    ("POST", "/api/v1/fhir"): "datasets:write",
    ("GET", "/api/v1/datasets"): "datasets:read",
    ("GET", "/api/v1/datasets/{dataset_id}"): "datasets:read",
    ("GET", "/api/v1/datasets/{dataset_id}/content"): "source:read",
    ("POST", "/api/v1/jobs"): "jobs:write",
    ("GET", "/api/v1/jobs"): "jobs:read",
    ("GET", "/api/v1/jobs/{job_id}"): "jobs:read",
    ("GET", "/api/v1/jobs/{job_id}/output"): "jobs:read",
    ("GET", "/api/v1/artifacts"): "artifacts:read",
    ("GET", "/api/v1/artifacts/{artifact_id}"): "artifacts:read",
    ("GET", "/api/v1/artifacts/{artifact_id}/report"): "artifacts:read",
    ("GET", "/api/v1/artifacts/{artifact_id}/figures/{name}"): "artifacts:read",
    ("GET", "/api/v1/artifacts/{artifact_id}/text"): "source:read",
    ("GET", "/api/v1/artifacts/{artifact_id}/reviews"): "artifacts:read",
    ("POST", "/api/v1/artifacts/{artifact_id}/reviews"): "reviews:write",
    ("POST", "/api/v1/artifacts/{artifact_id}/release"): "releases:write",
    ("GET", "/api/v1/releases"): "releases:read",
    ("GET", "/api/v1/releases/{artifact_id}"): "releases:read",
    ("GET", "/api/v1/releases/{artifact_id}/download"): "releases:read",
    ("GET", "/api/v1/releases/{artifact_id}/fhir"): "releases:read",
    ("GET", "/api/v1/ledger"): "ledger:read",
    ("GET", "/api/v1/ledger/verify"): "ledger:read",
    ("GET", "/api/v1/users"): "users:manage",
    ("POST", "/api/v1/users"): "users:manage",
    ("PATCH", "/api/v1/users/{name}"): "users:manage",
    ("POST", "/api/v1/users/{name}/tokens"): "users:manage",
    ("GET", "/api/v1/tokens"): "users:manage",
    ("DELETE", "/api/v1/tokens/{token_id}"): "users:manage",
}
#: A request each route accepts in shape; ids point at nothing, so an allowed caller gets 2xx, 404 or 422.
BODIES = {
    ("POST", "/api/v1/datasets"): {"files": {"file": ("x.csv", b"")}},
    ("POST", "/api/v1/fhir"): {"json": {"resourceType": "Patient"}},
    ("POST", "/api/v1/jobs"): {"json": {"kind": "deid", "params": {"dataset_id": "ds-none"}}},
    ("POST", "/api/v1/artifacts/{artifact_id}/reviews"): {"json": {"decision": "approve"}},
    ("POST", "/api/v1/users"): {"json": {"name": "matrix-user", "role": "researcher"}},
    ("PATCH", "/api/v1/users/{name}"): {"json": {"disabled": True}},
    ("POST", "/api/v1/users/{name}/tokens"): {"json": {"label": "x"}},
}


def api_routes() -> set[tuple[str, str]]:
    """Every documented API operation (the OpenAPI spec lists what the routers hold)."""
    paths = create_app(run_jobs=False).openapi()["paths"]
    return {(method.upper(), path) for path, operations in paths.items() for method in operations}


def test_every_api_route_declares_its_permission(tmp_path, monkeypatch):
    monkeypatch.setenv("HYGEIA_HOME", str(tmp_path))
    monkeypatch.delenv("HYGEIA_DATABASE_URL", raising=False)
    assert api_routes() == set(MATRIX)
    assert {p for p in MATRIX.values() if p not in (None, ANY)} == set().union(*PERMISSIONS.values())


def allowed(role: str, permission: str | None) -> bool:
    return permission in (None, ANY) or permission in PERMISSIONS[role]


def test_each_role_gets_exactly_its_permissions(live):
    outcomes: dict[tuple[str, str, str], int] = {}
    for role in (*ROLES, None):
        with live.client(role) as http:
            for (method, path), permission in MATRIX.items():
                url = path.format(dataset_id="ds-none", job_id="job-none", artifact_id="tab-none", name="nobody",
                                  token_id="tok-none")
                status = http.request(method, url, **BODIES.get((method, path), {})).status_code
                outcomes[(str(role), method, path)] = status
                if role is None:
                    expected_denied = 401 if permission is not None else None
                    assert (status == 401) == (expected_denied == 401), (role, method, path, status)
                elif allowed(role, permission):
                    assert status not in (401, 403) and status < 500, (role, method, path, status)
                else:
                    assert status == 403, (role, method, path, status)
    assert sum(1 for s in outcomes.values() if s == 403) > 80  # the matrix denies far more than it allows


def test_a_disabled_user_is_refused_everywhere(live):
    with live.client("admin") as http:
        assert http.patch("/api/v1/users/steward-1", json={"disabled": True}).status_code == 200
    with live.client("steward") as http:
        response = http.get("/api/v1/datasets")
    assert response.status_code == 401 and "disabled" in response.json()["detail"]


@pytest.mark.parametrize("role", ["researcher", "auditor", "admin"])
def test_phi_bearing_source_is_visible_only_to_stewards_and_reviewers(role):
    assert "source:read" not in PERMISSIONS[role]
    assert {r for r in ROLES if "source:read" in PERMISSIONS[r]} == {"steward", "reviewer"}
