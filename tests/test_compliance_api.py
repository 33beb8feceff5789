"""The compliance routes (scan, vendors, transfers, records, model registry, oversight) on SQLite
and PostgreSQL: each answer equals what the CLI prints with ``--format json`` for the same
workspace, set up through the library and the CLI; scopes refuse the wrong roles; unknown keys
and bad parameters get the ``{error, message, details}`` body."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from _paths import RECORDS, SHOP
from trustcart.api.app import create_app
from trustcart.assessments import load_records, sign_off_dpia
from trustcart.catalog import load_manifest
from trustcart.catalog.repository import save_datamap
from trustcart.cli import app as cli_app
from trustcart.governance import Role, access_entries, approve_model, create_key
from trustcart.governance.users import create_user
from trustcart.workspace import Workspace

DAY = "2026-12-01"
SHA = "ab" * 32
runner = CliRunner()


def cli_json(ws: Workspace, *args: str, exit_code: int = 0) -> Any:
    r = runner.invoke(cli_app, ["-w", str(ws.root), *args])
    assert r.exit_code == exit_code, (args, r.stdout, r.stderr)
    return json.loads(r.stdout)


@pytest.fixture
def client(workspace: Workspace) -> Iterator[TestClient]:
    with TestClient(create_app(workspace), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def auth(workspace: Workspace) -> dict[Role, dict[str, str]]:
    keys = {role: create_key(workspace.store, role=role, name=f"t-{role}")[0] for role in Role}
    return {role: {"Authorization": f"Bearer {secret}"} for role, secret in keys.items()}


@pytest.fixture
def shop(workspace: Workspace) -> Workspace:
    """The example data map, and the example records loaded with ``trustcart records load``."""
    save_datamap(workspace.store, load_manifest(SHOP))
    r = runner.invoke(cli_app, ["-w", str(workspace.root), "records", "load", str(RECORDS)])
    assert r.exit_code == 0, r.stderr
    return workspace


def _models(ws: Workspace) -> str:
    """Two registered versions (one cleared by a stored fairness audit of its training data)
    and two oversight decisions; returns the clearing audit's id."""
    from trustcart.fairness.store import save_audit
    from trustcart.gateway import FeatureSpec, record_model

    for version, sha in (("1", SHA), ("2", None)):
        record_model(
            ws.store,
            name="recommender",
            version=version,
            kind="recommend",
            features=[
                FeatureSpec(
                    "pages_viewed", purpose="personalization", categories=("user.behavior",)
                )
            ],
            training_sha256=sha,
        )
    audit_id = save_audit(ws.store, _audit_of(SHA))
    create_user(ws.store, username="lena", role="dpo", password="a long passphrase 42")
    approve_model(ws.store, "recommender", "1", reviewer="lena", notes="checked the AIA")
    approve_model(ws.store, "recommender", "2", reviewer="lena", decision="rejected", notes="no")
    return audit_id


def _audit_of(sha: str) -> Any:
    """A stored disparity audit of the file whose sha256 is ``sha``, with one medium finding
    (no high one: it clears a model trained on that file)."""
    from trustcart.fairness.findings import Finding as FairnessFinding
    from trustcart.fairness.result import AuditResult

    finding = FairnessFinding(
        severity="medium",
        message="selection rate of gender=f is 85% of gender=m's",
        rule="29 CFR 1607.4(D)",
        metric="selection_rate_ratio",
        group={"gender": "f"},
        reference_group={"gender": "m"},
        value=0.85,
        threshold=0.8,
        p_value=0.04,
        p_value_holm=0.08,
        advice="Watch it.",
    )
    return AuditResult(
        kind="binary",
        rows=1000,
        excluded=0,
        groups=[],
        metrics={},
        findings=[finding],
        parameters={},
        source={
            "description": "recs.parquet",
            "fingerprint": {"files": [{"path": "recs.parquet", "sha256": sha}]},
        },
    )


def _error(r: Any, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body: dict[str, Any] = r.json()
    assert set(body) == {"error", "message", "details"} and body["error"] == code
    assert body["message"]
    return body


# --- scan ---------------------------------------------------------------------------------------


def _without_time(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k != "generated_at"}


def test_scan_equals_the_cli_json_and_gates_like_its_exit_code(
    shop: Workspace, client: TestClient, auth: dict[Role, dict[str, str]]
) -> None:
    printed = cli_json(shop, "scan", "--format", "json", "--fail-on", "never", "--on", DAY)
    r = client.get("/v1/compliance/scan", params={"on": DAY}, headers=auth[Role.ANALYST])
    assert r.status_code == 200, r.text
    served = r.json()
    assert _without_time(served) == _without_time(printed)
    assert date.fromisoformat(served["generated_at"][:10]) >= date(2026, 1, 1)
    # the example shop has findings; each cites a rule and says how to fix it
    assert served["findings"] and all(f["rule"] and f["fix"] for f in served["findings"])
    counts = {s: sum(f["severity"] == s for f in served["findings"]) for s in served["counts"]}
    assert counts == served["counts"]
    assert served["score"] == max(
        0, 100 - 20 * counts["high"] - 5 * counts["medium"] - counts["low"]
    )
    # the gate: the CLI exits 1 exactly when the route says it fails
    for level in ("low", "medium", "high"):
        code = runner.invoke(
            cli_app, ["-w", str(shop.root), "scan", "--fail-on", level, "--on", DAY]
        ).exit_code
        gated = client.get(
            "/v1/compliance/scan", params={"on": DAY, "fail_on": level}, headers=auth[Role.DPO]
        ).json()
        reach = [f for f in served["findings"] if _rank(f["severity"]) >= _rank(level)]
        assert gated["gate"] == {"fail_on": level, "fails": bool(reach), "failing": len(reach)}
        assert code == (1 if reach else 0)
    never = client.get(
        "/v1/compliance/scan", params={"fail_on": "never"}, headers=auth[Role.DPO]
    ).json()
    assert never["gate"] == {"fail_on": "never", "fails": False, "failing": 0}


def _rank(severity: str) -> int:
    return ("low", "medium", "high").index(severity)


def test_scan_areas_and_bad_parameters(
    shop: Workspace, client: TestClient, auth: dict[Role, dict[str, str]]
) -> None:
    dpo = auth[Role.DPO]
    printed = cli_json(
        shop, "scan", "-f", "json", "--fail-on", "never", "--on", DAY, "-a", "vendors", "-a", "aia"
    )
    r = client.get(
        "/v1/compliance/scan", params={"on": DAY, "area": ["vendors", "aia"]}, headers=dpo
    )
    assert _without_time(r.json()) == _without_time(printed)
    assert r.json()["areas"] == ["aia", "vendors"]
    assert {f["area"] for f in r.json()["findings"]} <= {"aia", "vendors"}
    body = _error(
        client.get("/v1/compliance/scan", params={"area": "nope"}, headers=dpo),
        422,
        "validation_error",
    )
    assert body["details"] == {"unknown": ["nope"]} and "vendors" in body["message"]
    _error(
        client.get("/v1/compliance/scan", params={"fail_on": "severe"}, headers=dpo),
        422,
        "validation_error",
    )
    _error(
        client.get("/v1/compliance/scan", params={"on": "12/01/2026"}, headers=dpo),
        422,
        "validation_error",
    )


# --- vendors, transfers -------------------------------------------------------------------------


def test_vendors_equal_the_cli_json(
    shop: Workspace, client: TestClient, auth: dict[Role, dict[str, str]]
) -> None:
    headers = auth[Role.ENGINEER]
    listed = client.get("/v1/vendors", params={"on": DAY}, headers=headers).json()
    assert listed == cli_json(shop, "vendors", "list", "--format", "json", "--on", DAY)
    # as computed by hand in test_records: MailPilot personal data 10 + US without DPF 20
    assert {v["key"]: (v["risk"], v["band"]) for v in listed} == {
        "mailpilot": (30, "medium"),
        "metricly": (30, "medium"),
        "nimbus": (0, "low"),
    }
    for v in listed:
        assert v["risk"] == sum(f["points"] for f in v["factors"])
    one = client.get("/v1/vendors/mailpilot", params={"on": DAY}, headers=headers).json()
    assert one == cli_json(shop, "vendors", "show", "mailpilot", "--format", "json", "--on", DAY)
    stored = load_records(shop.store).vendor("mailpilot")
    assert stored is not None and one["vendor"] == stored.model_dump(mode="json")
    assert {"dpa", "certifications"} <= set(one["vendor"])
    body = _error(client.get("/v1/vendors/nobody", headers=headers), 404, "not_found")
    assert "nobody" in body["message"] and body["details"]["known"] == sorted(
        v["key"] for v in listed
    )
    _error(
        client.get("/v1/vendors", params={"on": "2026-13-01"}, headers=headers),
        422,
        "validation_error",
    )


def test_transfers_equal_the_cli_json(
    shop: Workspace, client: TestClient, auth: dict[Role, dict[str, str]]
) -> None:
    r = client.get("/v1/transfers", params={"on": DAY}, headers=auth[Role.ANALYST])
    doc = r.json()
    assert doc == cli_json(shop, "transfers", "list", "--format", "json", "--on", DAY)
    by_object = {t["object"]: t for t in doc["transfers"] if t["outcome"] != "adequacy"}
    assert by_object["system:esp"]["problems"][0]["code"] == "dpf_not_certified"
    assert all("basis" in t and "covered_by" in t for t in doc["transfers"])


# --- records ------------------------------------------------------------------------------------


def test_records_by_kind_and_one_record_with_its_versions(
    shop: Workspace, client: TestClient, auth: dict[Role, dict[str, str]]
) -> None:
    headers = auth[Role.ETHICS]
    records = load_records(shop.store)
    expected = {
        "vendor": [v.key for v in records.vendors],
        "screening": [s.key for s in records.screenings],
        "dpia": [d.key for d in records.dpias],
        "aia": [a.key for a in records.aias],
    }
    for kind, keys in expected.items():
        listed = client.get(f"/v1/records/{kind}", headers=headers).json()
        assert [r["key"] for r in listed] == sorted(keys), kind
        assert all(r["kind"] == kind and r["version"] == 1 for r in listed)
    sign_off_dpia(shop.store, "dpia-pricing", by="Dr. Lena Hoffmann", role="dpo")
    r = client.get("/v1/records/dpia/dpia-pricing", headers=headers)
    assert r.status_code == 200, r.text
    one = r.json()
    history = cli_json(shop, "records", "history", "dpia", "dpia-pricing", "--format", "json")
    assert one["versions"] == history
    assert [v["version"] for v in one["versions"]] == [1, 2]
    assert one["current"]["sign_off"]["by"] == "Dr. Lena Hoffmann"
    first = one["versions"][0]["body"]["sign_off"]  # the example's own, superseded
    assert first["by"] == "Jonas Weber" and first["content_sha256"] is None
    pricing = load_records(shop.store).dpia("dpia-pricing")
    assert pricing is not None and one["current"] == pricing.model_dump(mode="json")
    newest = {d["key"]: d for d in client.get("/v1/records/dpia", headers=headers).json()}
    assert newest["dpia-pricing"]["version"] == 2
    assert newest["dpia-pricing"]["body_hash"] == history[-1]["body_hash"]
    _error(client.get("/v1/records/dpia/nope", headers=headers), 404, "not_found")
    _error(client.get("/v1/records/vendors", headers=headers), 422, "validation_error")
    _error(client.get("/v1/records/contract/x", headers=headers), 422, "validation_error")


def test_records_of_an_empty_workspace(
    workspace: Workspace, client: TestClient, auth: dict[Role, dict[str, str]]
) -> None:
    r = client.get("/v1/records/aia", headers=auth[Role.DPO])
    assert (r.status_code, r.json()) == (200, [])
    assert client.get("/v1/vendors", headers=auth[Role.DPO]).json() == []


# --- model registry, oversight ------------------------------------------------------------------


def test_models_and_oversight_equal_the_cli_json(
    shop: Workspace, client: TestClient, auth: dict[Role, dict[str, str]]
) -> None:
    audit_id = _models(shop)
    models = client.get("/v1/models", headers=auth[Role.ANALYST]).json()
    assert models == cli_json(shop, "models", "list", "--format", "json")
    by_version = {m["version"]: m for m in models}
    assert by_version["1"]["training_sha256"] == SHA
    assert by_version["1"]["audit"] == by_version["1"]["cleared_by"] == audit_id
    assert by_version["2"]["audit"] is None and by_version["2"]["cleared_by"] is None
    assert by_version["1"]["features"][0]["name"] == "pages_viewed"
    assert by_version["1"]["features"][0]["purpose"] == "personalization"
    only = client.get("/v1/models", params={"kind": "price"}, headers=auth[Role.DPO]).json()
    assert only == cli_json(shop, "models", "list", "--kind", "price", "--format", "json") == []
    _error(
        client.get("/v1/models", params={"kind": "horoscope"}, headers=auth[Role.DPO]),
        422,
        "validation_error",
    )

    rows = client.get("/v1/oversight", headers=auth[Role.ENGINEER]).json()
    assert rows == cli_json(shop, "oversight", "list", "--format", "json")
    assert [(o["version"], o["decision"], o["reviewer"], o["role"]) for o in rows] == [
        ("1", "approved", "lena", "dpo"),
        ("2", "rejected", "lena", "dpo"),
    ]
    assert rows[0]["aia"] == "aia-recommender" and rows[0]["screening"]["tier"]
    one = client.get(
        "/v1/oversight", params={"model": "recommender", "version": "2"}, headers=auth[Role.DPO]
    ).json()
    assert [o["id"] for o in one] == [rows[1]["id"]]
    none = client.get("/v1/oversight", params={"model": "other"}, headers=auth[Role.DPO])
    assert none.json() == []


# --- scopes and the access log ------------------------------------------------------------------

ROUTES = {
    "/v1/compliance/scan": "compliance:read",
    "/v1/vendors": "compliance:read",
    "/v1/vendors/mailpilot": "compliance:read",
    "/v1/transfers": "compliance:read",
    "/v1/records/dpia": "compliance:read",
    "/v1/records/dpia/dpia-pricing": "compliance:read",
    "/v1/dpia/screening": "compliance:read",
    "/v1/aia/aia-recommender": "compliance:read",
    "/v1/models": "compliance:read",
    "/v1/oversight": "ethics:read",
}


def test_roles_without_the_scope_get_403_and_nothing_is_access_logged(
    shop: Workspace, client: TestClient, auth: dict[Role, dict[str, str]]
) -> None:
    from trustcart.governance import ROLE_SCOPES, Scope

    allowed = {
        "compliance:read": {Role.DPO, Role.ANALYST, Role.ENGINEER, Role.ETHICS},
        "ethics:read": {Role.DPO, Role.ENGINEER, Role.ETHICS},
    }
    for scope, roles in allowed.items():  # the table above is what roles.py grants
        assert roles == {r for r in Role if Scope(scope) in ROLE_SCOPES[r]}
    for path, scope in ROUTES.items():
        assert client.get(path).status_code == 401
        for role, headers in auth.items():
            r = client.get(path, headers=headers)
            if role in allowed[scope]:
                assert r.status_code == 200, (path, role, r.text)
            else:
                body = _error(r, 403, "forbidden")
                assert body["details"] == {"required_scope": scope, "role": role.value}
    assert access_entries(shop.store) == []  # no shopper's data: not personal-data reads
    spec = client.get("/openapi.json").json()["paths"]
    for path, scope in ROUTES.items():
        template = path.replace("mailpilot", "{key}").replace("/dpia-pricing", "/{key}")
        template = template.replace("/records/dpia", "/records/{kind}")
        template = template.replace("aia-recommender", "{key}")
        op = spec[template]["get"]
        assert op["x-required-scope"] == scope and "x-access-logged" not in op


# --- the one write: a DPIA sign-off ---------------------------------------------------------------


def test_dpia_sign_off_by_the_callers_key_equals_the_cli_sign_off(
    shop: Workspace, client: TestClient, auth: dict[Role, dict[str, str]]
) -> None:
    from trustcart.assessments import DpiaRecord
    from trustcart.clock import utcnow

    path = "/v1/records/dpia/dpia-pricing/sign-off"
    for role in (Role.ANALYST, Role.ENGINEER, Role.ETHICS, Role.SUPPORT, Role.SERVICE):
        body = _error(client.post(path, json={}, headers=auth[role]), 403, "forbidden")
        assert body["details"]["required_scope"] == "assessments:sign"
    r = client.post(path, json={"opinion": "Residual risk acceptable."}, headers=auth[Role.DPO])
    assert r.status_code == 201, r.text
    signed = r.json()
    assert (signed["kind"], signed["key"], signed["version"]) == ("dpia", "dpia-pricing", 2)
    s = signed["body"]["sign_off"]
    assert (s["by"], s["role"], s["signed_on"]) == ("t-dpo", "dpo", utcnow().date().isoformat())
    assert signed["body"]["dpo_opinion"]["text"] == "Residual risk acceptable."
    # bound to the content it accepts: recomputed independently from the answered body
    assert s["content_sha256"] == DpiaRecord.model_validate(signed["body"]).content_hash()
    assert DpiaRecord.model_validate(signed["body"]).signed_off
    history = client.get("/v1/records/dpia/dpia-pricing", headers=auth[Role.DPO]).json()
    assert history["versions"][-1] == signed
    admin = [e.payload for e in shop.store.log("admin")]
    assert admin[-1]["action"] == "dpia.signed_off" and admin[-1]["actor"].startswith("api:")
    # the CLI making the same sign-off on the same day stores the same body
    code = runner.invoke(
        cli_app,
        ["-w", str(shop.root), "dpia", "sign-off", "dpia-pricing", "--by", "t-dpo", "--role",
         "dpo", "--opinion", "Residual risk acceptable."],
    ).exit_code  # fmt: skip
    assert code == 0
    after = client.get("/v1/records/dpia/dpia-pricing", headers=auth[Role.DPO]).json()
    assert after["versions"][-1]["version"] == 3
    assert after["versions"][-1]["body"] == signed["body"]
    assert after["versions"][-1]["body_hash"] == signed["body_hash"]
    # an edit voids it (the scanner says who signed what), a new sign-off over HTTP restores it
    from trustcart.assessments import save_records
    from trustcart.compliance import scan

    def unsigned() -> list[str]:
        found = scan(shop, areas=["dpia"]).findings
        return [
            f.message for f in found if (f.check, f.object) == ("TC-DPIA-002", "dpia:dpia-pricing")
        ]

    assert unsigned() == []
    records = load_records(shop.store)
    edited = records.model_copy(deep=True)
    dpia = edited.dpia("dpia-pricing")
    assert dpia is not None
    dpia.description = "Prices now also depend on the weather."
    save_records(shop.store, edited)
    assert len(unsigned()) == 1 and "t-dpo" in unsigned()[0]
    assert client.post(path, headers=auth[Role.DPO]).status_code == 201
    assert unsigned() == []
    # unknown DPIA, a field that does not exist, an empty opinion
    _error(client.post("/v1/records/dpia/nope/sign-off", headers=auth[Role.DPO]), 404, "not_found")
    for bad in ({"by": "someone else"}, {"opinion": ""}):
        _error(client.post(path, json=bad, headers=auth[Role.DPO]), 422, "validation_error")
    assert len(client.get("/v1/records/dpia/dpia-pricing", headers=auth[Role.DPO]).json()[
        "versions"]) == 5  # fmt: skip


# --- computed assessments: DPIA screening, AIA with its AI Act screening -------------------------


def test_dpia_screening_and_aia_equal_the_cli_json(
    shop: Workspace, client: TestClient, auth: dict[Role, dict[str, str]]
) -> None:
    headers = auth[Role.ANALYST]
    screened = client.get("/v1/dpia/screening", headers=headers).json()
    assert screened == cli_json(shop, "dpia", "screen", "--format", "json")
    required = {s["purpose"]: s["dpia"] for s in screened if s["required"]}
    assert required == dict.fromkeys(  # as in test_records' CLI test
        ["fraud_detection", "personalization", "targeted_offers", "dynamic_pricing"], True
    )
    one = client.get("/v1/dpia/screening", params={"purpose": "dynamic_pricing"}, headers=headers)
    assert one.json() == cli_json(shop, "dpia", "screen", "dynamic_pricing", "--format", "json")
    assert [s["purpose"] for s in one.json()] == ["dynamic_pricing"]
    _error(
        client.get("/v1/dpia/screening", params={"purpose": "astrology"}, headers=headers),
        404,
        "not_found",
    )

    from trustcart.fairness.store import save_audit

    audit_id = save_audit(shop.store, _audit_of(SHA))
    params: dict[str, Any] = {"on": DAY, "date": ["annex_iii=2027-12-02"]}
    aia = client.get("/v1/aia/aia-recommender", params=params, headers=headers).json()
    printed = cli_json(
        shop, "aia", "show", "aia-recommender", "-f", "json", "--on", DAY,
        "--date", "annex_iii=2027-12-02",
    )  # fmt: skip
    assert aia == printed
    assert aia["aia"]["model"] == "recommender" and aia["approved"] is True
    assert aia["fairness_audit"]["id"] == audit_id
    assert aia["fairness_audit"]["findings"] == {"high": 0, "medium": 1, "low": 0}
    _error(client.get("/v1/aia/nope", headers=headers), 404, "not_found")
    for bad in ("pluto=2027-01-01", "annex_iii=2027-13-45", "annex_iii 2027-01-01"):
        _error(
            client.get("/v1/aia/aia-recommender", params={"date": bad}, headers=headers),
            422,
            "validation_error",
        )
