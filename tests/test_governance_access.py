"""The access log: every /v1 route with a personal-data scope writes one entry (who, what, why,
when) before it runs; no other route does; entries are hash-chained and the table copy is
checked against the chain. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text, update
from typer.testing import CliRunner

from trustcart.api.app import create_app
from trustcart.api.auth import ACCESS_LOG_EXTRA, SCOPE_EXTRA
from trustcart.catalog import load_manifest
from trustcart.catalog.repository import save_datamap
from trustcart.cli import app as cli
from trustcart.governance import (
    PERSONAL_DATA_SCOPES,
    ROLE_PURPOSES,
    ROLE_SCOPES,
    Role,
    Scope,
    access_entries,
    create_key,
    verify_access_log,
)
from trustcart.privacy import Pseudonymizer
from trustcart.store.tables import AccessEntry, table_of
from trustcart.workspace import Workspace

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "shop.yaml"
SUBJECT = "alice@example.com"
#: A plausible value per path parameter, so handlers run (and answer 404) rather than 422.
PARAMS = {
    "subject": SUBJECT,
    "request_id": "rr_01J0000000000000000000000",
    "concern_id": "c_00112233445566778899",
    "decision_id": "dec_01J0000000000000000000000",
    "ref": "dec_01J0000000000000000000000",
}
_rows = table_of(AccessEntry)


@pytest.fixture
def client(workspace: Workspace) -> Iterator[TestClient]:
    save_datamap(workspace.store, load_manifest(EXAMPLE))
    with TestClient(create_app(workspace), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def keys(workspace: Workspace) -> dict[Role, tuple[str, str]]:
    out = {}
    for role in Role:
        secret, info = create_key(workspace.store, role=role.value, name=f"t-{role.value}")
        out[role] = (secret, info.id)
    return out


def _operations(client: TestClient) -> list[tuple[str, str, Scope, bool]]:
    """Every /v1 operation: method, path template, scope, whether it declares access logging."""
    ops = []
    for path, operations in client.get("/openapi.json").json()["paths"].items():
        if path.startswith("/v1"):
            for method, op in operations.items():
                ops.append(
                    (method.upper(), path, Scope(op[SCOPE_EXTRA]), bool(op.get(ACCESS_LOG_EXTRA)))
                )
    return ops


def _fill(template: str) -> str:
    return re.sub(r"\{([^}]+)\}", lambda m: PARAMS.get(m.group(1), "x"), template)


def _head(workspace: Workspace) -> int:
    return workspace.store.log("access").head()[0]


def test_every_personal_data_route_writes_one_access_entry(
    client: TestClient, workspace: Workspace, keys: dict[Role, tuple[str, str]]
) -> None:
    ops = _operations(client)
    personal = [(m, p, s) for m, p, s, _ in ops if s in PERSONAL_DATA_SCOPES]
    # The enumeration reaches every personal-data scope, and the OpenAPI marker agrees.
    assert {s for _, _, s in personal} == set(PERSONAL_DATA_SCOPES)
    assert all(logged == (s in PERSONAL_DATA_SCOPES) for _, _, s, logged in ops)
    pseudonym = Pseudonymizer(workspace.settings.pseudonym_key()).pseudonym(SUBJECT)
    unlogged = []
    for method, template, scope in personal:
        role = next(r for r in Role if scope in ROLE_SCOPES[r])
        secret, key_id = keys[role]
        before = _head(workspace)
        r = client.request(
            method,
            _fill(template),
            headers={"Authorization": f"Bearer {secret}", "X-Purpose": "route_audit"},
            json={},
        )
        assert r.status_code not in (401, 403) and r.status_code < 500, (method, template, r.text)
        new = [e for e in access_entries(workspace.store, limit=10) if e.seq > before]
        if len(new) != 1:
            unlogged.append(f"{method} {template}: {len(new)} entries")
            continue
        e = new[0]
        assert (e.route, e.method, e.key_id, e.role, e.scope, e.kind, e.purpose, e.channel) == (
            template,
            method,
            key_id,
            role.value,
            scope.value,
            PERSONAL_DATA_SCOPES[scope],
            "route_audit",
            "api",
        )
        if "{subject}" in template:
            assert e.subject == pseudonym and e.object is None
        for name in ("request_id", "concern_id", "decision_id", "ref"):
            if "{" + name + "}" in template:
                assert e.object == PARAMS[name]
    assert unlogged == [], f"personal-data routes not in the access log: {unlogged}"
    check = verify_access_log(workspace.store)
    assert check.ok and check.chain.checked == len(personal)
    # No raw identifier anywhere in the access log (table or chain).
    with workspace.store.read() as conn:
        dump = repr(conn.execute(text("SELECT * FROM access_log")).all())
        dump += repr(conn.execute(text("SELECT payload FROM log_entries")).all())
    assert SUBJECT not in dump and pseudonym in dump


def test_routes_without_personal_data_write_no_entry(
    client: TestClient, workspace: Workspace, keys: dict[Role, tuple[str, str]]
) -> None:
    dpo = {"Authorization": f"Bearer {keys[Role.DPO][0]}"}
    gets = [p for m, p, s, _ in _operations(client) if m == "GET" and s not in PERSONAL_DATA_SCOPES]
    assert "/v1/catalog" in gets and "/v1/consent/stats" in gets
    for path in gets:
        assert client.get(_fill(path), headers=dpo).status_code < 500, path
    assert _head(workspace) == 0


def test_purpose_defaults_to_the_role_or_is_required(
    client: TestClient,
    workspace: Workspace,
    keys: dict[Role, tuple[str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    support = {"Authorization": f"Bearer {keys[Role.SUPPORT][0]}"}
    path = f"/v1/consent/subjects/{SUBJECT}"
    assert client.get(path, headers=support).status_code == 200
    assert access_entries(workspace.store, limit=1)[0].purpose == ROLE_PURPOSES[Role.SUPPORT]
    r = client.get(path, headers=support, params={"access_purpose": "complaint_1234"})
    assert r.status_code == 200
    assert access_entries(workspace.store, limit=1)[0].purpose == "complaint_1234"
    # A malformed purpose is refused before anything is read or logged.
    before = _head(workspace)
    r = client.get(path, headers={**support, "X-Purpose": "Because I <3 data"})
    assert r.status_code == 422 and r.json()["error"] == "validation_error"
    assert _head(workspace) == before
    # A workspace may require every read to state its purpose.
    monkeypatch.setenv("TRUSTCART_ACCESS_PURPOSE_REQUIRED", "true")
    strict = Workspace.open(workspace.root)
    try:
        with TestClient(create_app(strict), raise_server_exceptions=False) as c:
            r = c.get(path, headers=support)
            assert r.status_code == 422 and "X-Purpose" in r.json()["message"]
            assert _head(workspace) == before
            assert c.get(path, headers={**support, "X-Purpose": "refund"}).status_code == 200
    finally:
        strict.close()
    assert access_entries(workspace.store, limit=1)[0].purpose == "refund"


def test_denied_requests_are_not_logged_as_access(
    client: TestClient, workspace: Workspace, keys: dict[Role, tuple[str, str]]
) -> None:
    analyst = {"Authorization": f"Bearer {keys[Role.ANALYST][0]}"}
    assert client.get(f"/v1/consent/subjects/{SUBJECT}", headers=analyst).status_code == 403
    assert client.get(f"/v1/consent/subjects/{SUBJECT}").status_code == 401
    assert _head(workspace) == 0


def test_tampering_with_the_access_log_is_detected(
    client: TestClient, workspace: Workspace, keys: dict[Role, tuple[str, str]]
) -> None:
    support = {"Authorization": f"Bearer {keys[Role.SUPPORT][0]}"}
    for who in ("a", "b", "c"):
        assert client.get(f"/v1/consent/subjects/{who}", headers=support).status_code == 200
    assert verify_access_log(workspace.store).ok
    # Someone hides who read the data by editing the queryable copy.
    with workspace.store.write() as conn:
        conn.execute(update(_rows).where(_rows.c.seq == 2).values(key_id="key_someone_else"))
    check = verify_access_log(workspace.store)
    assert not check.ok and check.chain.ok
    assert check.copy.first_bad == 2 and "key_id" in (check.copy.reason or "")
    # ... or deletes the evidence row itself.
    with workspace.store.write() as conn:
        conn.execute(text("DELETE FROM log_entries WHERE log = 'access' AND seq = 1"))
    assert verify_access_log(workspace.store).chain.first_bad == 1


def test_access_log_api_and_cli(
    client: TestClient, workspace: Workspace, keys: dict[Role, tuple[str, str]]
) -> None:
    support_secret, support_id = keys[Role.SUPPORT]
    support = {"Authorization": f"Bearer {support_secret}"}
    assert client.get(f"/v1/consent/subjects/{SUBJECT}", headers=support).status_code == 200
    assert client.get("/v1/consent/subjects/bob", headers=support).status_code == 200
    dpo = {"Authorization": f"Bearer {keys[Role.DPO][0]}"}
    # Who read Alice's data? (asked by id; the log holds only her pseudonym)
    r = client.get("/v1/access/log", headers=dpo, params={"subject": SUBJECT})
    assert r.status_code == 200
    assert [(e["key_id"], e["route"]) for e in r.json()] == [
        (support_id, "/v1/consent/subjects/{subject}")
    ]
    # Reading the access log is itself a logged read.
    assert access_entries(workspace.store, limit=1)[0].route == "/v1/access/log"
    assert client.get("/v1/access/verify", headers=dpo).json()["ok"] is True
    assert client.get("/v1/access/log", headers=support).status_code == 403
    runner = CliRunner()
    ws_args = ["-w", str(workspace.root)]
    res = runner.invoke(cli, [*ws_args, "access", "log", "--subject", SUBJECT, "-f", "json"])
    assert res.exit_code == 0, res.output
    assert '"/v1/consent/subjects/{subject}"' in res.stdout and SUBJECT not in res.stdout
    res = runner.invoke(cli, [*ws_args, "access", "verify"])
    assert res.exit_code == 0 and "table copy agrees" in res.stdout
