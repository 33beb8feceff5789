"""The DPO dashboard without a browser: accounts, sessions, CSRF, scopes, pages, charts.

Storage tests run on SQLite and PostgreSQL (the ``workspace`` fixture). The browser tests in
``test_dashboard_browser.py`` cover the same flows in Chromium.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from typer.testing import CliRunner

from trustcart.api.app import create_app
from trustcart.catalog import load_manifest
from trustcart.catalog.repository import save_datamap
from trustcart.cli import app as cli
from trustcart.clock import utcnow
from trustcart.compliance import get_scan, record_scan, scan, scan_history
from trustcart.dashboard import Bar, Series, bar_chart, line_chart, object_path, paired_bars
from trustcart.dashboard.charts import PALETTE, nice_max
from trustcart.errors import AuthenticationError, Conflict, ValidationError
from trustcart.governance import (
    LOGIN_LOG,
    MAX_FAILED_LOGINS,
    ROLE_SCOPES,
    Role,
    Scope,
    authenticate_password,
    create_key,
    create_user,
    csrf_ok,
    csrf_token,
    disable_user,
    end_session,
    session_of,
    set_password,
    start_session,
)
from trustcart.rights import RequestIn, RightsService
from trustcart.store.tables import DashboardSession, DashboardUser, RightsRequestRow, table_of
from trustcart.workspace import Workspace

EXAMPLE_SHOP = Path(__file__).resolve().parents[1] / "examples" / "shop.yaml"
PASSWORD = "correct horse battery staple"
_sessions = table_of(DashboardSession)
_users = table_of(DashboardUser)


# --- accounts and sessions (both backends) ------------------------------------------------------


def test_password_is_stored_as_argon2id_and_checked(workspace: Workspace) -> None:
    user = create_user(workspace.store, username="Dana", role="dpo", password=PASSWORD)
    assert user.username == "dana"  # normalised
    with workspace.store.read() as conn:
        stored = conn.execute(select(_users.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert authenticate_password(workspace.store, "DANA", PASSWORD).id == user.id
    with pytest.raises(AuthenticationError) as wrong:
        authenticate_password(workspace.store, "dana", PASSWORD + "x")
    with pytest.raises(AuthenticationError) as unknown:
        authenticate_password(workspace.store, "nobody", PASSWORD)
    assert wrong.value.message == unknown.value.message  # does not reveal which accounts exist
    with pytest.raises(Conflict):
        create_user(workspace.store, username="dana", role="analyst", password=PASSWORD)
    with pytest.raises(ValidationError, match="at least 12"):
        create_user(workspace.store, username="eve", role="dpo", password="short")
    with pytest.raises(ValidationError, match="unknown role"):
        create_user(workspace.store, username="eve", role="root", password=PASSWORD)
    actions = [r.payload["action"] for r in workspace.store.log(LOGIN_LOG)]
    assert actions == ["login", "login.failed", "login.failed"]


def test_account_locks_after_repeated_wrong_passwords(workspace: Workspace) -> None:
    create_user(workspace.store, username="dana", role="dpo", password=PASSWORD)
    for _ in range(MAX_FAILED_LOGINS):
        with pytest.raises(AuthenticationError, match="wrong username or password"):
            authenticate_password(workspace.store, "dana", "not the password at all")
    with pytest.raises(AuthenticationError, match="locked until"):
        authenticate_password(workspace.store, "dana", PASSWORD)  # even the right one
    set_password(workspace.store, "dana", PASSWORD + "!")  # an admin reset unlocks
    assert authenticate_password(workspace.store, "dana", PASSWORD + "!").username == "dana"


def test_sessions_expire_end_and_die_with_the_account(workspace: Workspace) -> None:
    store = workspace.store
    user = create_user(store, username="dana", role="dpo", password=PASSWORD)
    token = start_session(store, user)
    info = session_of(store, token)
    assert info.principal.role is Role.DPO and info.principal.can(Scope.FAIRNESS_READ)
    with store.read() as conn:
        assert token not in str(conn.execute(select(_sessions)).all())  # only its hash
    end_session(store, token)
    with pytest.raises(AuthenticationError):
        session_of(store, token)
    idle = start_session(store, user)
    with store.write() as conn:
        conn.execute(update(_sessions).values(expires_at=utcnow() - timedelta(seconds=1)))
    with pytest.raises(AuthenticationError, match="expired"):
        session_of(store, idle)
    live = start_session(store, user)
    set_password(store, "dana", PASSWORD + "2")
    with pytest.raises(AuthenticationError):
        session_of(store, live)  # a reset ends every session
    live = start_session(store, user)
    disable_user(store, "dana")
    with pytest.raises(AuthenticationError):
        session_of(store, live)
    with pytest.raises(AuthenticationError):
        authenticate_password(store, "dana", PASSWORD + "2")


def test_csrf_token_is_bound_to_its_session() -> None:
    key = b"k" * 32
    a, b = csrf_token(key, "session-a"), csrf_token(key, "session-b")
    assert a != b and csrf_ok(key, "session-a", a)
    assert not csrf_ok(key, "session-b", a)
    assert not csrf_ok(key, "session-a", None) and not csrf_ok(key, None, a)


def test_recorded_scans_make_the_trend(workspace: Workspace) -> None:
    save_datamap(workspace.store, load_manifest(EXAMPLE_SHOP))
    result = scan(workspace)
    first = record_scan(workspace.store, result, actor="test")
    second = record_scan(workspace.store, result, actor="test")
    history = scan_history(workspace.store)
    assert [s.id for s in history] == [first.id, second.id]
    assert history[0].score == result.score
    assert history[0].counts == {k: result.counts[k] for k in ("high", "medium", "low")}
    kept = get_scan(workspace.store, first.id).findings
    assert kept is not None and [f["id"] for f in kept] == [f.id for f in result.findings]


def test_support_role_lacks_fairness_and_concerns() -> None:
    support = ROLE_SCOPES[Role.SUPPORT]
    assert Scope.FAIRNESS_READ not in support and Scope.CONCERNS_READ not in support
    # whistleblower reports are for the ethics committee only, not even the DPO
    assert Scope.CONCERNS_READ not in ROLE_SCOPES[Role.DPO]
    assert Scope.CONCERNS_READ in ROLE_SCOPES[Role.ETHICS]


# --- the pages over HTTP ------------------------------------------------------------------------


@pytest.fixture
def shop(workspace: Workspace) -> Workspace:
    save_datamap(workspace.store, load_manifest(EXAMPLE_SHOP))
    create_user(workspace.store, username="dpo", role="dpo", password=PASSWORD)
    create_user(workspace.store, username="sam", role="support", password=PASSWORD)
    return workspace


@pytest.fixture
def client(shop: Workspace) -> Iterator[TestClient]:
    with TestClient(create_app(shop), raise_server_exceptions=True) as c:
        yield c


def _csrf(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, "no CSRF field in the form"
    return m.group(1)


def login(c: TestClient, username: str, password: str = PASSWORD, next_path: str = "") -> str:
    page = c.get("/dashboard/login")
    r = c.post(
        "/dashboard/login",
        data={
            "csrf": _csrf(page.text),
            "username": username,
            "password": password,
            "next": next_path,
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return str(r.headers["location"])


def test_login_sets_strict_cookies_and_pages_need_a_session(client: TestClient) -> None:
    r = client.get("/dashboard/rights?view=all", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/dashboard/login?next=/dashboard/rights")
    page = client.get("/dashboard/login")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"
    bad = client.post(
        "/dashboard/login",
        data={"csrf": _csrf(page.text), "username": "dpo", "password": "wrong password!!"},
    )
    assert bad.status_code == 401 and "wrong username or password" in bad.text
    page = client.get("/dashboard/login")
    r = client.post(
        "/dashboard/login",
        data={"csrf": _csrf(page.text), "username": "dpo", "password": PASSWORD, "next": "/x"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/dashboard/"  # no open redirect
    cookie = next(v for v in r.headers.get_list("set-cookie") if v.startswith("tc_dash="))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" not in cookie
    assert client.get("/dashboard/").status_code == 200


def test_cookies_are_secure_with_host_prefix_over_https(shop: Workspace) -> None:
    with TestClient(create_app(shop), base_url="https://testserver") as c:
        page = c.get("/dashboard/login")
        assert any(
            v.startswith("__Host-tc_dash_login=") for v in page.headers.get_list("set-cookie")
        )
        r = c.post(
            "/dashboard/login",
            data={"csrf": _csrf(page.text), "username": "dpo", "password": PASSWORD},
            follow_redirects=False,
        )
        cookie = next(v for v in r.headers.get_list("set-cookie") if "__Host-tc_dash=" in v)
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
        assert "Path=/" in cookie and "Domain" not in cookie
        assert c.get("/dashboard/").status_code == 200


def test_login_form_without_its_token_is_refused(client: TestClient) -> None:
    client.get("/dashboard/login")
    r = client.post("/dashboard/login", data={"username": "dpo", "password": PASSWORD})
    assert r.status_code == 403 and "CSRF" in r.text
    assert "tc_dash" not in client.cookies


def test_forms_without_csrf_token_change_nothing(client: TestClient, shop: Workspace) -> None:
    rights = RightsService(shop)
    req, _ = rights.submit(RequestIn(type="access", identifiers={"email": "c1@example.com"}))
    login(client, "dpo")
    page = client.get(f"/dashboard/rights/{req.id}")
    token = _csrf(page.text)
    for data in ({"reason": "complex request"}, {"reason": "complex", "csrf": "forged"}):
        r = client.post(f"/dashboard/rights/{req.id}/extend", data=data)
        assert r.status_code == 403 and "CSRF" in r.text
    assert rights.get(req.id).extended is False
    r = client.post(
        f"/dashboard/rights/{req.id}/extend",
        data={"reason": "many requests at once", "csrf": token},
        follow_redirects=False,
    )
    assert r.status_code == 303
    after = rights.get(req.id)
    assert after.extended and after.due_on > req.due_on
    assert client.post("/dashboard/logout", data={}).status_code == 403  # logout needs it too
    r = client.post("/dashboard/logout", data={"csrf": token}, follow_redirects=False)
    assert r.status_code == 303
    assert client.get("/dashboard/", follow_redirects=False).status_code == 303


def test_support_sees_rights_but_not_fairness_concerns_or_findings(client: TestClient) -> None:
    login(client, "sam")
    home = client.get("/dashboard/")
    assert home.status_code == 200
    assert 'href="/dashboard/rights"' in home.text
    for path in ("/dashboard/fairness", "/dashboard/governance/concerns", "/dashboard/findings"):
        assert f'href="{path}"' not in home.text
        r = client.get(path)
        assert r.status_code == 403 and "does not include" in r.text, path
    assert client.get("/dashboard/rights").status_code == 200


def test_every_page_renders_for_the_dpo(client: TestClient, shop: Workspace) -> None:
    rights = RightsService(shop)
    req, _ = rights.submit(RequestIn(type="access", identifiers={"email": "c1@example.com"}))
    create_key(shop.store, role="service", name="shop backend")
    login(client, "dpo")
    result = scan(shop)
    pages = [
        "/dashboard/",
        "/dashboard/findings",
        "/dashboard/findings?severity=high",
        f"/dashboard/findings/{result.findings[0].id}",
        "/dashboard/datamap",
        "/dashboard/datamap/system/esp",
        "/dashboard/datamap/dataset/orders",
        "/dashboard/consent",
        "/dashboard/decisions",
        "/dashboard/fairness",
        "/dashboard/rights",
        "/dashboard/rights?view=overdue",
        f"/dashboard/rights/{req.id}",
        "/dashboard/governance",
    ]
    for path in pages:
        r = client.get(path)
        assert r.status_code == 200, (path, r.text[:500])
        assert "<script>" not in r.text and " style=" not in r.text, path  # CSP-clean
    svg = client.get("/dashboard/datamap/graph.svg")
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert client.get("/dashboard/findings/nope-123").status_code == 404
    assert client.get("/dashboard/datamap/system/nope").status_code == 404
    assert client.get("/dashboard/rights/rr_NOPE").status_code == 404
    assert client.get("/dashboard/decisions?id=dec_NOPE").status_code == 404
    # concerns are for the ethics committee only: not even the DPO opens them
    assert client.get("/dashboard/governance/concerns").status_code == 403


def test_overview_numbers_match_the_database(client: TestClient, shop: Workspace) -> None:
    rights = RightsService(shop)
    for i in range(3):
        rights.submit(RequestIn(type="access", identifiers={"email": f"c{i}@example.com"}))
    login(client, "dpo")
    html = client.get("/dashboard/").text
    result = scan(shop)
    with shop.store.read() as conn:
        open_requests = conn.execute(
            select(func.count())
            .select_from(table_of(RightsRequestRow))
            .where(table_of(RightsRequestRow).c.status.not_in(["completed", "denied"]))
        ).scalar_one()

    def number(element_id: str) -> int:
        m = re.search(rf'id="{element_id}"[^>]*>([\d,]+)<', html)
        assert m, element_id
        return int(m.group(1).replace(",", ""))

    assert number("score") == result.score
    for severity in ("high", "medium", "low"):
        assert number(f"count-{severity}") == result.counts[severity]
    assert number("rights-open") == open_requests


def test_scan_is_recorded_from_the_findings_page(client: TestClient, shop: Workspace) -> None:
    login(client, "dpo")
    token = _csrf(client.get("/dashboard/findings").text)
    r = client.post("/dashboard/findings/record", data={"csrf": token}, follow_redirects=False)
    assert r.status_code == 303 and "recorded=scan_" in r.headers["location"]
    (snap,) = scan_history(shop.store)
    assert snap.actor == "dashboard:dpo" and snap.score == scan(shop).score


def test_ledger_verification_button_detects_tampering(client: TestClient, shop: Workspace) -> None:
    from trustcart.store.tables import LogEntry

    login(client, "dpo")
    token = _csrf(client.get("/dashboard/consent").text)
    ok = client.post("/dashboard/consent/verify", data={"csrf": token})
    assert ok.status_code == 200 and "verified intact" in ok.text
    entries = table_of(LogEntry)
    with shop.store.write() as conn:
        conn.execute(
            update(entries)
            .where(entries.c.log == "admin", entries.c.seq == 1)
            .values(payload='{"edited": true}')
        )
    bad = client.post("/dashboard/consent/verify", data={"csrf": token})
    assert "Verification FAILED" in bad.text


# --- the CLI ------------------------------------------------------------------------------------


def test_users_create_reads_the_password_from_env_or_prompt(shop: Workspace) -> None:
    runner = CliRunner()
    ws = ["-w", str(shop.root)]
    r = runner.invoke(
        cli,
        [*ws, "users", "create", "--role", "analyst", "-u", "ana"],
        env={"TRUSTCART_USER_PASSWORD": PASSWORD},
    )
    assert r.exit_code == 0, r.stderr
    assert authenticate_password(shop.store, "ana", PASSWORD).role == "analyst"
    r = runner.invoke(
        cli,
        [*ws, "users", "create", "--role", "dpo", "-u", "bo"],
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert r.exit_code == 0, r.stderr
    assert PASSWORD not in r.stdout
    assert authenticate_password(shop.store, "bo", PASSWORD).role == "dpo"
    r = runner.invoke(
        cli,
        [*ws, "users", "create", "--role", "dpo", "-u", "cy"],
        env={"TRUSTCART_USER_PASSWORD": "short"},
    )
    assert r.exit_code == 2 and "at least 12" in r.stderr
    r = runner.invoke(cli, [*ws, "users", "list", "--format", "json"])
    assert '"username": "ana"' in r.stdout and "argon2" not in r.stdout
    r = runner.invoke(cli, [*ws, "users", "disable", "-u", "ana"])
    assert r.exit_code == 0
    with pytest.raises(AuthenticationError):
        authenticate_password(shop.store, "ana", PASSWORD)


# --- charts and links ---------------------------------------------------------------------------


def _luminance(hex_color: str) -> float:
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def test_chart_colours_have_3_to_1_contrast_on_white() -> None:
    for color in PALETTE:
        assert (1.05) / (_luminance(color) + 0.05) >= 3.0, color


def test_charts_are_accessible_svg_with_escaped_labels() -> None:
    svg = line_chart(
        "c1",
        ["2026-11-01", "2026-11-02"],
        [Series("<script>alert(1)</script>", [0.5, None]), Series("b", [0.25, 0.75])],
        title="Grant rate",
        y_max=1.0,
        percent=True,
    )
    root = ET.fromstring(str(svg))
    assert root.get("role") == "img" and root.get("aria-labelledby") == "c1-title c1-desc"
    assert "<script>" not in str(svg)
    desc = root.find("{http://www.w3.org/2000/svg}desc")
    assert desc is not None and "2026-11-01: 50.0%" in (desc.text or "")
    assert "2026-11-02: 75.0%" in (desc.text or "")
    bars = bar_chart("c2", [Bar("a", 0.3, 0.25, 0.35), Bar("b", 0.2)], title="Rate")
    root = ET.fromstring(str(bars))
    assert len(root.findall("{http://www.w3.org/2000/svg}rect")) == 2
    assert "95% CI 0.25 to 0.35" in str(bars)
    pairs = paired_bars("c3", [("g", 0.2, 0.3)], title="before/after")
    assert "before 0.2" in str(pairs) and "after 0.3" in str(pairs)
    ET.fromstring(str(pairs))


@pytest.mark.parametrize(
    ("value", "top"), [(0.083, 0.1), (0.38, 0.5), (7, 10), (21, 25), (100, 100), (0, 1)]
)
def test_nice_axis_ends(value: float, top: float) -> None:
    assert nice_max(value) == pytest.approx(top)


def test_object_links() -> None:
    assert object_path("system:esp") == "/datamap/system/esp"
    assert object_path("dataset:orders.field:email") == "/datamap/dataset/orders#field-email"
    assert object_path("rights_request:rr_01") == "/rights/rr_01"
    assert object_path("fairness_audit:aud_1") == "/fairness/aud_1"
    assert object_path(
        "model:pricing@3",
    ).startswith("/decisions?model=pricing")
    assert object_path("vendor:mailpilot") == "/vendors/mailpilot"
    assert object_path("dpia:dpia-pricing") == "/assessments#dpia-dpia-pricing"
    assert object_path("unknown_kind:x") is None


# --- vendors, assessments, transfers ------------------------------------------------------------


@pytest.fixture
def with_records(shop: Workspace) -> Workspace:
    from trustcart.assessments import load_records_file, save_records

    records = load_records_file(EXAMPLE_SHOP.parent / "records.yaml")
    first = records.dpias[0].model_copy(update={"sign_off": None})
    records = records.model_copy(update={"dpias": [first, *records.dpias[1:]]})
    save_records(shop.store, records)
    create_user(shop.store, username="ana", role="analyst", password=PASSWORD)
    return shop


def test_vendor_and_transfer_pages_show_the_library_figures(
    client: TestClient, with_records: Workspace
) -> None:
    from trustcart.assessments import load_records
    from trustcart.catalog.repository import load_datamap
    from trustcart.rules import load_rules
    from trustcart.transfers import assess_transfers
    from trustcart.vendors import vendor_risk

    login(client, "dpo")
    records = load_records(with_records.store)
    dm, rules, today = load_datamap(with_records.store), load_rules(), utcnow().date()
    listing = client.get("/dashboard/vendors").text
    for v in records.vendors:
        assert v.name in listing
        risk = vendor_risk(v, rules, on=today, checklist=records.dpa_checklist, datamap=dm)
        page = client.get(f"/dashboard/vendors/{v.key}").text
        assert f"Risk {risk.score}" in page
        for factor in risk.factors:
            assert factor.reason.split("(")[0].strip()[:30] in page.replace("&#39;", "'")
    assessed = assess_transfers(dm, rules, vendors=records.vendors, on=today)
    html = client.get("/dashboard/transfers").text
    assert f"{len(assessed)} transfer(s)" in html
    overview = client.get("/dashboard/").text
    signed = sum(1 for d in records.dpias if d.signed_off)
    assert re.search(rf'id="dpias-signed">{signed}<', overview)


def test_dpo_signs_a_dpia_off_and_an_analyst_cannot(
    client: TestClient, with_records: Workspace
) -> None:
    from trustcart.assessments import load_records

    (key,) = [d.key for d in load_records(with_records.store).dpias if not d.signed_off]
    login(client, "ana")
    page = client.get("/dashboard/assessments")
    assert page.status_code == 200 and "Sign off" not in page.text
    r = client.post(f"/dashboard/assessments/dpia/{key}/sign", data={"csrf": _csrf(page.text)})
    assert r.status_code == 403
    assert not load_records(with_records.store).dpia(key).signed_off  # type: ignore[union-attr]
    client.cookies.clear()
    login(client, "dpo")
    page = client.get("/dashboard/assessments")
    assert "Sign off" in page.text
    r = client.post(
        f"/dashboard/assessments/dpia/{key}/sign",
        data={"csrf": _csrf(page.text), "opinion": "Proceed; review the measures in a year."},
        follow_redirects=False,
    )
    assert r.status_code == 303
    dpia = load_records(with_records.store).dpia(key)
    assert dpia is not None and dpia.signed_off and dpia.sign_off is not None
    assert dpia.sign_off.by == "dpo" and dpia.sign_off.role == "dpo"
    assert dpia.dpo_opinion is not None and dpia.dpo_opinion.text.startswith("Proceed")


def test_ethics_sees_the_concern_list_without_any_text(client: TestClient, shop: Workspace) -> None:
    from trustcart.governance.concerns import ConcernBox

    box = ConcernBox.of(shop)
    secret_text = "The pricing model charges the south more, managers know"
    first = box.raise_concern(secret_text, system="pricing")
    box.raise_concern("Recommendations push debt-financed purchases", category="other")
    box.reply(first.id, "Thank you, we are looking into it.", actor="ethics committee")
    create_user(shop.store, username="erin", role="ethics", password=PASSWORD)
    login(client, "erin")
    page = client.get("/dashboard/governance/concerns")
    assert page.status_code == 200
    summaries = box.summaries()
    assert "2 concern(s)" in page.text
    awaiting = sum(1 for c in summaries if c.awaiting_reply)
    assert f"{awaiting} awaiting a reply" in page.text
    assert all(c.id in page.text for c in summaries)
    assert secret_text not in page.text and "debt-financed" not in page.text  # list opens nothing


# --- governance pages: access review, training, ethics, concerns (issue 9 / issue 8) -----------


def _personal_dashboard_routes() -> dict[tuple[str, str], Scope]:
    """Every dashboard route guarded by a personal-data scope, found by introspecting the
    scope captured in its ``need``/``posted`` dependency (so a new page cannot be missed)."""
    from fastapi.routing import APIRoute

    from trustcart.dashboard import router
    from trustcart.governance import PERSONAL_DATA_SCOPES

    found: dict[tuple[str, str], Scope] = {}

    def scopes_of(dependant: Any) -> list[Scope]:
        out: list[Scope] = []
        for dep in dependant.dependencies:
            for cell in getattr(dep.call, "__closure__", None) or ():
                if isinstance(cell.cell_contents, Scope):
                    out.append(cell.cell_contents)
            out.extend(scopes_of(dep))
        return out

    for route in router.routes:
        if isinstance(route, APIRoute):
            for scope in scopes_of(route.dependant):
                if scope in PERSONAL_DATA_SCOPES:
                    for method in route.methods:
                        found[(method, route.path)] = scope
    return found


def test_every_dashboard_page_reading_personal_data_is_access_logged(
    client: TestClient, shop: Workspace
) -> None:
    from trustcart.governance import access_entries
    from trustcart.governance.concerns import ConcernBox

    rights = RightsService(shop)
    req, _ = rights.submit(RequestIn(type="access", identifiers={"email": "c9@example.com"}))
    concern = ConcernBox.of(shop).raise_concern("The offer model ignores older shoppers")
    create_user(shop.store, username="erin", role="ethics", password=PASSWORD)
    routes = _personal_dashboard_routes()
    gets = {path: scope for (method, path), scope in routes.items() if method == "GET"}
    # the enumeration finds the pages we know read personal data (and fails on a new one)
    assert set(gets) == {
        "/dashboard/decisions",
        "/dashboard/rights",
        "/dashboard/rights/{request_id}",
        "/dashboard/governance",
        "/dashboard/governance/concerns",
        "/dashboard/governance/concerns/{concern_id}",
        "/dashboard/review",
        "/dashboard/review/{case_id}",  # visited in test_review_api.py (needs a contested case)
    }
    gets.pop("/dashboard/review/{case_id}")
    params = {"request_id": req.id, "concern_id": concern.id}
    ethics_scopes = {Scope.CONCERNS_READ, Scope.CONCERNS_WRITE}
    for user in ("dpo", "erin"):
        client.cookies.clear()
        login(client, user)
        for template, scope in sorted(gets.items()):
            if (scope in ethics_scopes) != (user == "erin"):
                continue
            before = len(access_entries(shop.store, limit=10_000))
            r = client.get(template.format(**params))
            assert r.status_code == 200, (template, r.text[:300])
            after = access_entries(shop.store, limit=10_000)  # newest first
            new = after[: len(after) - before]
            assert [(e.route, e.channel, e.scope) for e in new] == [
                (template, "web", scope.value)
            ], template
            assert new[0].key_id and new[0].purpose
    # an aggregate page reads no personal data and logs nothing
    before = len(access_entries(shop.store, limit=10_000))
    client.cookies.clear()
    login(client, "dpo")
    assert client.get("/dashboard/consent").status_code == 200
    assert len(access_entries(shop.store, limit=10_000)) == before


def test_access_review_and_training_from_the_governance_page(
    client: TestClient, shop: Workspace
) -> None:
    from trustcart.governance import access_reviews, list_keys, training_gaps, training_records

    keep = create_key(shop.store, role="support", name="sam")[1]
    drop = create_key(shop.store, role="analyst", name="old report job")[1]
    login(client, "dpo")
    page = client.get("/dashboard/governance")
    assert page.status_code == 200
    assert f'id="grant-{keep.id}"' in page.text and f'id="grant-{drop.id}"' in page.text
    token = _csrf(page.text)
    # without the form's token nothing is decided
    r = client.post(f"/dashboard/governance/access/{keep.id}/review", data={"decision": "approved"})
    assert r.status_code == 403 and access_reviews(shop.store) == []
    r = client.post(
        f"/dashboard/governance/access/{keep.id}/review",
        data={"csrf": token, "decision": "approved", "note": "still answers customers"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    r = client.post(
        f"/dashboard/governance/access/{drop.id}/review",
        data={"csrf": token, "decision": "revoked"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    reviews = {rv.key_id: rv for rv in access_reviews(shop.store)}
    assert reviews[keep.id].decision == "approved" and reviews[keep.id].reviewer == "dpo"
    assert reviews[keep.id].note == "still answers customers"
    assert reviews[keep.id].next_due == reviews[keep.id].reviewed_on + timedelta(
        days=shop.settings.access_review_days
    )
    revoked = {k.id: k.revoked_at for k in list_keys(shop.store)}
    assert revoked[drop.id] is not None and revoked[keep.id] is None
    bad = client.post(
        f"/dashboard/governance/access/{keep.id}/review",
        data={"csrf": token, "decision": "maybe"},
    )
    assert bad.status_code == 400 and "re-approve" in bad.text
    # training: sam has personal-data access and no course; recording them closes the gap
    required = shop.settings.training_required
    assert {g.course for g in training_gaps(shop.store, required=required) if g.person == "sam"}
    for course in required:
        r = client.post(
            "/dashboard/governance/training",
            data={"csrf": token, "person": "sam", "course": course, "completed_on": "2026-11-01"},
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text
    assert not [g for g in training_gaps(shop.store, required=required) if g.person == "sam"]
    assert {t.course for t in training_records(shop.store, "sam")} == set(required)
    bad_date = client.post(
        "/dashboard/governance/training",
        data={"csrf": token, "person": "sam", "course": "x", "completed_on": "yesterday"},
    )
    assert bad_date.status_code == 400 and "YYYY-MM-DD" in bad_date.text
    # support has no access:read: no governance page
    client.cookies.clear()
    login(client, "sam")
    assert client.get("/dashboard/governance").status_code == 403


def test_ethics_committee_records_a_decision_engineer_only_reads(
    client: TestClient, shop: Workspace
) -> None:
    from trustcart.governance import ethics_reviews

    create_user(shop.store, username="erin", role="ethics", password=PASSWORD)
    create_user(shop.store, username="eli", role="engineer", password=PASSWORD)
    login(client, "erin")
    page = client.get("/dashboard/governance/ethics")
    assert page.status_code == 200 and 'id="ethics-form"' in page.text
    token = _csrf(page.text)
    rejected = client.post(
        "/dashboard/governance/ethics",
        data={"csrf": token, "model": "pricing", "version": "3", "decision": "rejected"},
    )
    assert rejected.status_code in (400, 422) and "reason" in rejected.text.lower()
    assert ethics_reviews(shop.store) == []
    ok = client.post(
        "/dashboard/governance/ethics",
        data={
            "csrf": token,
            "model": "pricing",
            "version": "3",
            "decision": "approved_with_conditions",
            "conditions": "re-audit monthly\nno postcode features\n",
        },
        follow_redirects=False,
    )
    assert ok.status_code == 303
    (review,) = ethics_reviews(shop.store)
    assert review.reviewer == "erin" and review.conditions == [
        "re-audit monthly",
        "no postcode features",
    ]
    client.cookies.clear()
    login(client, "eli")
    page = client.get("/dashboard/governance/ethics")
    assert page.status_code == 200 and "no postcode features" in page.text
    assert 'id="ethics-form"' not in page.text
    r = client.post(
        "/dashboard/governance/ethics",
        data={
            "csrf": _csrf(client.get("/dashboard/").text),
            "model": "m",
            "version": "1",
            "decision": "approved",
        },
    )
    assert r.status_code == 403 and len(ethics_reviews(shop.store)) == 1


def test_ethics_reads_and_answers_a_concern_the_dpo_cannot(
    client: TestClient, shop: Workspace
) -> None:
    from trustcart.governance.concerns import ConcernBox

    box = ConcernBox.of(shop)
    text = "Managers know the south is charged more"
    raised = box.raise_concern(text, system="pricing")
    create_user(shop.store, username="erin", role="ethics", password=PASSWORD)
    login(client, "dpo")
    assert client.get(f"/dashboard/governance/concerns/{raised.id}").status_code == 403
    client.cookies.clear()
    login(client, "erin")
    listing = client.get("/dashboard/governance/concerns")
    assert f'href="/dashboard/governance/concerns/{raised.id}"' in listing.text
    page = client.get(f"/dashboard/governance/concerns/{raised.id}")
    assert page.status_code == 200 and text in page.text
    token = _csrf(page.text)
    r = client.post(
        f"/dashboard/governance/concerns/{raised.id}/reply",
        data={"csrf": token, "text": "We are re-auditing the pricing model."},
        follow_redirects=False,
    )
    assert r.status_code == 303
    thread = box.follow_up(raised.token)  # what the anonymous reporter sees
    assert thread.messages[-1].author == "ethics"
    assert thread.messages[-1].text == "We are re-auditing the pricing model."
    r = client.post(
        f"/dashboard/governance/concerns/{raised.id}/close",
        data={"csrf": token},
        follow_redirects=False,
    )
    assert r.status_code == 303 and box.read(raised.id).status == "closed"
    assert client.get("/dashboard/governance/concerns/cn_NOPE").status_code == 404


def test_continuous_audit_page_shows_the_distribution_per_group(
    client: TestClient, shop: Workspace, tmp_path: Path
) -> None:
    """The audit page draws p10…p90 and the mean CI per group from the stored audit's numbers."""
    import html as html_lib

    import numpy as np
    import pandas as pd

    from trustcart.fairness import audit
    from trustcart.fairness.store import save_audit

    rng = np.random.default_rng(5)
    g = rng.choice(["a", "b"], 400)
    frame = pd.DataFrame({"g": g, "price": rng.gamma(4.0, 10.0, 400) + (g == "b") * 5})
    frame.to_parquet(tmp_path / "p.parquet")
    result = audit(tmp_path / "p.parquet", ["g"], "price", kind="continuous")
    audit_id = save_audit(shop.store, result)
    login(client, "dpo")
    page = client.get(f"/dashboard/fairness/{audit_id}").text
    boxes = re.findall(r'<g class="spread" ([^>]*)>', page)
    assert len(boxes) == 2
    for attrs in boxes:
        d = {k: html_lib.unescape(v) for k, v in re.findall(r'data-([a-z0-9]+)="([^"]*)"', attrs)}
        cell = next(c for c in result.groups if f"g={c.group['g']}" == d["group"])
        for key in ("p10", "p25", "median", "p75", "p90", "mean"):
            assert float(d[key]) == cell.metrics[key]
        assert (float(d["low"]), float(d["high"])) == tuple(cell.metrics["mean_ci"])
