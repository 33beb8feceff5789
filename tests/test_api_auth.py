"""Every /v1 route requires a key with the right scope; errors are JSON, never tracebacks."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from trustcart.api.app import create_app
from trustcart.api.auth import SCOPE_EXTRA
from trustcart.governance import ROLE_SCOPES, Role, Scope, create_key
from trustcart.workspace import Workspace


@pytest.fixture
def client(workspace: Workspace) -> Iterator[TestClient]:
    with TestClient(create_app(workspace), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def keys(workspace: Workspace) -> dict[Role, str]:
    return {role: create_key(workspace.store, role=role, name=f"t-{role}")[0] for role in Role}


def _protected_routes(client: TestClient) -> list[tuple[str, str, Scope]]:
    """Every /v1 operation from the OpenAPI document (FastAPI nests included routers, so the
    public spec is the reliable enumeration), with the scope it declares."""
    routes = []
    for path, operations in client.get("/openapi.json").json()["paths"].items():
        if not path.startswith("/v1"):
            continue
        for method, op in operations.items():
            assert SCOPE_EXTRA in op, f"{method.upper()} {path} declares no scope"
            routes.append((method.upper(), re.sub(r"\{[^}]+\}", "x", path), Scope(op[SCOPE_EXTRA])))
    return routes


def test_there_are_protected_routes(client: TestClient) -> None:
    scopes = {s for _, _, s in _protected_routes(client)}
    assert {Scope.LEDGER_READ, Scope.KEYS_ADMIN} <= scopes


def test_every_route_refuses_missing_and_wrong_keys(
    client: TestClient, keys: dict[Role, str]
) -> None:
    for method, path, scope in _protected_routes(client):
        for headers in ({}, {"Authorization": "Bearer tc_not-a-key"}, {"X-API-Key": "junk"}):
            r = client.request(method, path, headers=headers, json={})
            assert r.status_code == 401, (method, path, headers, r.text)
            body = r.json()
            assert body["error"] == "unauthenticated" and body["message"]
        for role, secret in keys.items():
            r = client.request(method, path, headers={"Authorization": f"Bearer {secret}"}, json={})
            if scope in ROLE_SCOPES[role]:
                assert r.status_code not in (401, 403), (method, path, role, r.text)
            else:
                assert r.status_code == 403, (method, path, role, r.text)
                assert r.json()["details"]["required_scope"] == scope.value


def test_revoked_key_is_refused(client: TestClient, workspace: Workspace) -> None:
    secret, info = create_key(workspace.store, role="dpo", name="soon revoked")
    auth = {"Authorization": f"Bearer {secret}"}
    assert client.get("/v1/ledgers", headers=auth).status_code == 200
    assert client.delete(f"/v1/keys/{info.id}", headers=auth).status_code == 204
    r = client.get("/v1/ledgers", headers=auth)
    assert r.status_code == 401 and "revoked" in r.json()["message"]


def test_keys_api_creates_usable_key_and_logs_it(
    client: TestClient, keys: dict[Role, str], workspace: Workspace
) -> None:
    dpo = {"Authorization": f"Bearer {keys[Role.DPO]}"}
    r = client.post("/v1/keys", headers=dpo, json={"name": "recommender", "role": "service"})
    assert r.status_code == 201
    new = r.json()
    assert new["secret"].startswith("tc_") and new["role"] == "service"
    listed = client.get("/v1/keys", headers=dpo).json()
    assert new["id"] in {k["id"] for k in listed}
    assert all("secret" not in k for k in listed)
    r = client.post("/v1/keys", headers=dpo, json={"name": "x", "role": "overlord"})
    assert r.status_code == 422 and r.json()["error"] == "validation_error"
    assert "role" in r.json()["message"]
    actions = [e.payload["action"] for e in workspace.store.log("admin")]
    assert actions.count("api_key.created") == len(Role) + 1
    assert workspace.store.log("admin").verify().ok


def test_ledger_verify_route(client: TestClient, keys: dict[Role, str]) -> None:
    auth = {"Authorization": f"Bearer {keys[Role.ANALYST]}"}
    ledgers = client.get("/v1/ledgers", headers=auth).json()
    assert [x["name"] for x in ledgers] == ["admin"]
    r = client.get("/v1/ledgers/admin/verify", headers=auth).json()
    assert r["ok"] is True and r["checked"] == len(Role)
    r = client.get("/v1/ledgers/nope/verify", headers=auth)
    assert r.status_code == 404 and r.json()["error"] == "not_found"


def test_healthz_and_openapi_need_no_key(client: TestClient) -> None:
    h = client.get("/healthz").json()
    assert h["status"] == "ok" and h["database"] in {"sqlite", "postgresql"}
    spec = client.get("/openapi.json").json()
    assert "HTTPBearer" in spec["components"]["securitySchemes"]
    assert spec["paths"]["/v1/keys"]["post"][SCOPE_EXTRA] == "keys:admin"


def test_unknown_path_is_json_404(client: TestClient) -> None:
    r = client.get("/v1/nothing-here")
    assert r.status_code == 404 and r.json()["error"] == "not_found"


def test_rules_routes(client: TestClient, keys: dict[Role, str]) -> None:
    auth = {"Authorization": f"Bearer {keys[Role.SERVICE]}"}
    pack = client.get("/v1/rules/jurisdictions", headers=auth).json()
    assert "US-CA" in {j["code"] for j in pack["jurisdictions"]}
    ca = client.get("/v1/rules/jurisdictions/us-ca", headers=auth).json()
    assert ca["deadline"]["extension"] == {"amount": 45, "unit": "days"}
    fallback = client.get("/v1/rules/jurisdictions/ZZ", headers=auth).json()
    assert fallback["is_fallback"] is True and fallback["fallback_reason"]
    r = client.get("/v1/rules/jurisdictions/%3Cscript%3E", headers=auth)
    assert r.status_code == 422 and r.json()["error"] == "validation_error"


def test_security_doc_lists_every_role_scope_grant() -> None:
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[1] / "docs" / "security.md").read_text()
    for scope in Scope:
        row = next(line for line in doc.splitlines() if line.startswith(f"| `{scope.value}` |"))
        marks = [cell.strip() == "✓" for cell in row.strip("|").split("|")[1:]]
        assert marks == [scope in ROLE_SCOPES[role] for role in Role], scope
