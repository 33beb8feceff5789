"""Pseudonym key rotation on SQLite and PostgreSQL.

Records are written under key k0; the key rotates; the same raw identifier still finds every
record (consent, decisions, access log, rights requests, shredding) while the old key is live;
people seen during the window stay findable after the old key is destroyed, the others do not;
every hash-chained log still verifies. Expected pseudonyms are computed independently with
``hmac`` from the key material on disk / in the environment.
"""

# ruff: noqa: E402
from __future__ import annotations

import hashlib
import hmac
import io
import json
import stat
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

pytest.register_assert_rewrite("_gateway_fixtures")
from sqlalchemy import select, text
from typer.testing import CliRunner

from _gateway_fixtures import choose
from trustcart.catalog import DataMap, load_manifest
from trustcart.catalog.repository import save_datamap
from trustcart.cli import app
from trustcart.clock import utcnow
from trustcart.compliance import scan
from trustcart.consent import ConsentService
from trustcart.demo.stores import build_shop_stores, customer_id, email
from trustcart.errors import ConfigError, ValidationError
from trustcart.gateway import Gateway
from trustcart.governance import record_access
from trustcart.privacy import (
    Pseudonymizer,
    SubjectKeys,
    key_versions,
    parse_window,
    retire_keys,
    rotate_key,
)
from trustcart.privacy.keyring import key_file
from trustcart.rights import RequestIn, RequestStatus, RightsService
from trustcart.store.tables import PseudonymLink, table_of
from trustcart.workspace import Workspace

pytest_plugins = ["_gateway_fixtures"]

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "shop.yaml"
CTX = {"loyalty_tier": 3, "basket_size": 6, "stock_level": 0.2, "gender": 1, "postcode_band": 2}
PURPOSES = ["dynamic_pricing", "personalization"]


def hm(key: bytes, identifier: str) -> str:
    """The pseudonym, computed independently of TrustCart's code."""
    return "p_" + hmac.new(key, identifier.encode(), hashlib.sha256).hexdigest()[:32]


def k0(ws: Workspace) -> bytes:
    return (ws.root / "secret.key").read_text().strip().encode()


def kfile(ws: Workspace, kid: str) -> bytes:
    return key_file(ws.settings, kid).read_text().strip().encode()


def allowed(svc: ConsentService, subject: str, purpose: str = "dynamic_pricing") -> bool:
    return bool(svc.may_use(subject, purpose, jurisdiction="EU"))


def all_logs_verify(ws: Workspace) -> None:
    with ws.store.read() as conn:
        names = [r[0] for r in conn.execute(text("SELECT DISTINCT log FROM log_entries"))]
    assert {"consent", "admin", "decisions"} <= set(names)
    for name in names:
        result = ws.store.log(name).verify()
        assert result.ok, (name, result)


def admin_actions(ws: Workspace) -> list[dict[str, Any]]:
    return [dict(r.payload) for r in ws.store.log("admin") if "pseudonym_key" in str(r.payload)]


# -- the window ------------------------------------------------------------------------------
def test_rotation_keeps_old_records_resolvable_then_retires(
    workspace: Workspace, consent: ConsentService, gateway: Gateway
) -> None:
    ws = workspace
    seen, unseen = "c-seen", "c-unseen"
    for s in (seen, unseen):
        choose(consent, s, PURPOSES, "granted")
    d_seen = gateway.decide("price", seen, CTX, jurisdiction="EU", list_price="50").id
    d_unseen = gateway.decide("price", unseen, CTX, jurisdiction="EU", list_price="50").id
    old = {s: hm(k0(ws), s) for s in (seen, unseen)}
    with ws.store.read() as conn:
        stored = set(conn.execute(text("SELECT subject FROM consent_events")).scalars())
    assert stored == set(old.values())  # written under k0 = the workspace secret

    done = rotate_key(ws.settings, ws.store, window="30d")
    assert (done.kid, done.previous, done.source) == ("k1", "k0", "file")
    assert done.retire_after - utcnow() > timedelta(days=29, hours=23)
    consent.pseudonyms.refresh()  # another process would see it within max_staleness (1 s)
    gateway.keys.refresh()
    new = {s: hm(kfile(ws, "k1"), s) for s in (seen, unseen)}
    assert consent.pseudonyms.pseudonym(seen) == new[seen]
    # a fresh process finds the k0 records under the same raw identifier
    fresh = ConsentService(ws, max_staleness=0)
    assert fresh.pseudonyms.key_ids == ("k1", "k0")
    assert allowed(fresh, seen) and allowed(consent, seen)
    assert set(fresh.state(seen)) == set(PURPOSES)
    assert [d["id"] for d in gateway.for_subject(seen)] == [d_seen]
    # a new decision during the window keeps the subject's token (one person, one token)
    d2 = gateway.decide("price", seen, CTX, jurisdiction="EU", list_price="50").id
    assert [d["id"] for d in gateway.for_subject(seen)] == [d2, d_seen]
    # a withdrawal under the new key beats the grant under the old one
    choose(consent, seen, ["personalization"], "withdrawn")
    assert not allowed(consent, seen, "personalization") and allowed(consent, seen)
    with ws.store.read() as conn:
        links = conn.execute(select(table_of(PseudonymLink))).all()
    assert {(r.pseudonym, r.linked) for r in links} == {(new[seen], old[seen])}

    # the window ends: no process resolves k0 any more, even before retire-keys runs
    later = utcnow() + timedelta(days=31)
    assert [v.live for v in key_versions(ws.settings, ws.store, now=later)] == [False, True]
    assert retire_keys(ws.settings, ws.store, now=utcnow()) == []  # not yet
    gone = retire_keys(ws.settings, ws.store, now=later)
    assert [r.kid for r in gone] == ["k0"] and "workspace secret" in gone[0].action
    after = ConsentService(ws, max_staleness=0)
    assert after.pseudonyms.key_ids == ("k1",)
    # seen during the window: linked, so everything is still found
    assert allowed(after, seen) and not allowed(after, seen, "personalization")
    assert len(after.events(seen)) == 3
    gw2 = Gateway(ws, consent=after, max_staleness=0)
    try:
        assert [d["id"] for d in gw2.for_subject(seen)] == [d2, d_seen]
        # never seen during the window: their k0 records are linked to nobody any more
        assert not allowed(after, unseen)
        assert after.events(unseen) == [] and after.state(unseen) == {}
        assert gw2.for_subject(unseen) == []
        assert gw2.get(d_unseen)["erased"] is False  # the row itself is untouched evidence
    finally:
        gw2.close()
    all_logs_verify(ws)
    actions = admin_actions(ws)
    assert [a["action"] for a in actions] == ["pseudonym_key.rotated", "pseudonym_key.retired"]
    assert actions[0]["kid"] == "k1" and actions[1]["kid"] == "k0"
    assert seen not in json.dumps(actions) and old[seen] not in json.dumps(actions)


def test_rotating_twice_and_retiring_a_file_key(
    workspace: Workspace, consent: ConsentService
) -> None:
    ws = workspace
    a, b = "c-a", "c-b"
    choose(consent, a, PURPOSES, "granted")
    rotate_key(ws.settings, ws.store, window="10d")
    consent.pseudonyms.refresh()
    choose(consent, b, PURPOSES, "granted")  # b's records live under k1 only
    assert allowed(consent, a)  # seen during k0 -> k1: linked k1 -> k0
    k1_path = key_file(ws.settings, "k1")
    assert stat.S_IMODE(k1_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(k1_path.parent.stat().st_mode) == 0o700
    now = utcnow()
    second = rotate_key(ws.settings, ws.store, window="20d", now=now + timedelta(days=11))
    # k0's window had ended: the second rotation retired it first
    assert [r.kid for r in second.retired] == ["k0"] and second.previous == "k1"
    live = [
        v.kid for v in key_versions(ws.settings, ws.store, now=now + timedelta(days=12)) if v.live
    ]
    assert live == ["k1", "k2"]
    fresh = ConsentService(ws, max_staleness=0)
    assert fresh.pseudonyms.key_ids == ("k2", "k1")
    assert allowed(fresh, a) and allowed(fresh, b)  # a: link k2 -> k1 -> k0 flattened
    k1 = kfile(ws, "k1")
    gone = retire_keys(ws.settings, ws.store, now=now + timedelta(days=40))
    assert [(r.kid, r.action) for r in gone] == [("k1", "key file deleted")]
    assert not k1_path.exists() and key_file(ws.settings, "k2").exists()
    final = ConsentService(ws, max_staleness=0)
    assert final.pseudonyms.key_ids == ("k2",)
    assert allowed(final, a) and allowed(final, b)  # both seen during the k1 -> k2 window
    with ws.store.read() as conn:
        links = {(r.pseudonym, r.linked) for r in conn.execute(select(table_of(PseudonymLink)))}
    k2 = kfile(ws, "k2")
    assert {(hm(k2, a), hm(k1, a)), (hm(k2, a), hm(k0(ws), a)), (hm(k2, b), hm(k1, b))} <= links
    all_logs_verify_min(ws)
    assert [x["action"] for x in admin_actions(ws)] == [
        "pseudonym_key.rotated",
        "pseudonym_key.retired",
        "pseudonym_key.rotated",
        "pseudonym_key.retired",
    ]


def all_logs_verify_min(ws: Workspace) -> None:
    for name in ("consent", "admin"):
        assert ws.store.log(name).verify().ok


def test_window_end_is_noticed_without_a_command(workspace: Workspace) -> None:
    """A long-lived process stops resolving the old key when the window ends (its clock)."""
    from trustcart.privacy import WorkspaceKeys

    ws = workspace
    rotate_key(ws.settings, ws.store, window="1h")
    clock = [utcnow()]
    p = Pseudonymizer.from_source(
        WorkspaceKeys(ws.settings, ws.store, max_staleness=3600, clock=lambda: clock[0])
    )
    assert p.key_ids == ("k1", "k0") and len(p.candidates("c-9")) == 2
    clock[0] += timedelta(hours=2)
    p._recheck_at = 0.0  # the deadline passed (monotonic time is not under the test's control)
    assert p.key_ids == ("k1",)
    k1 = kfile(ws, "k1")
    assert p.candidates("c-10") == (hm(k1, "c-10"),)  # not seen in the window: k0 is gone
    assert p.candidates("c-9") == (hm(k1, "c-9"), hm(k0(ws), "c-9"))  # seen: linked


# -- rights requests -------------------------------------------------------------------------
@pytest.fixture
def shop(
    workspace: Workspace, consent: ConsentService, monkeypatch: pytest.MonkeyPatch
) -> Workspace:
    url = str(workspace.store.engine.url.render_as_string(hide_password=False))
    if url.startswith("sqlite"):
        url = f"sqlite:///{workspace.root / 'shop-data' / 'shop.db'}"
    monkeypatch.setenv("SHOP_DB_URL", url)
    build_shop_stores(workspace.root, customers=20, seed=3, sql_url=url)
    raw = load_manifest(EXAMPLE).model_dump(by_alias=True, exclude_none=True)
    for d in raw["datasets"]:
        if d["key"] == "analytics_events":
            del d["connector"]
    save_datamap(workspace.store, DataMap.model_validate(raw))
    consent.reload()
    return workspace


def _verified(rights: RightsService, **kw: Any) -> str:
    import re

    req, new = rights.submit(RequestIn(**kw))
    assert new
    body = rights.outbox.messages(req.id)[0].body
    m = re.search(r"\b(\d{6})\b", body)
    assert m
    rights.verify(req.id, m.group(1))
    return req.id


def test_rights_requests_reach_records_under_both_keys(
    shop: Workspace, consent: ConsentService, gateway: Gateway
) -> None:
    ws = shop
    i = 9
    cid = customer_id(i)
    choose(consent, cid, PURPOSES, "granted")
    before = gateway.decide("price", cid, CTX, jurisdiction="EU", list_price="50").id
    rotate_key(ws.settings, ws.store, window="30d")
    consent.pseudonyms.refresh()
    gateway.keys.refresh()
    choose(consent, cid, ["personalization"], "withdrawn")  # under k1
    rights = RightsService(ws, consent=consent, gateway=gateway)
    rid = _verified(rights, type="access", identifiers={"email": email(i)}, jurisdiction="FR")
    req = rights.run(rid)
    assert req.status is RequestStatus.COMPLETED, req.result
    zip_bytes, _ = rights.package(rid)
    pkg = json.loads(zipfile.ZipFile(io.BytesIO(zip_bytes)).read("package.json"))
    assert [d["id"] for d in pkg["decisions"]] == [before]
    history = [(e["purpose"], e["decision"]) for e in pkg["consent_history"]]
    assert sorted(history) == sorted(
        [("dynamic_pricing", "granted"), ("personalization", "granted"),
         ("personalization", "withdrawn")]
    )  # fmt: skip
    # the request itself is keyed by the current pseudonym
    with ws.store.read() as conn:
        subject = conn.execute(
            text("SELECT subject FROM rights_requests WHERE id = :r"), {"r": rid}
        ).scalar_one()
    assert subject == hm(kfile(ws, "k1"), email(i))  # the first identifier given

    # erasure shreds the old key's subject key and finds the consent under both pseudonyms
    after = gateway.decide("price", cid, CTX, jurisdiction="EU", list_price="50").id
    eid = _verified(rights, type="erasure", identifiers={"email": email(i)}, jurisdiction="FR")
    req = rights.run(eid)
    assert req.status is RequestStatus.COMPLETED, req.result
    assert gateway.for_subject(cid) == []
    assert gateway.get(before)["erased"] and gateway.get(after)["erased"]
    with ws.store.read() as conn:
        left = conn.execute(
            text("SELECT count(*) FROM subject_keys WHERE lookup IN (:a, :b)"),
            {"a": hm(k0(ws), cid), "b": hm(kfile(ws, "k1"), cid)},
        ).scalar_one()
    assert left == 0
    assert not allowed(consent, cid)  # the erasure withdrew the grant made under k0
    all_logs_verify(ws)


def test_shred_removes_keys_under_old_and_new_pseudonym(
    workspace: Workspace, consent: ConsentService, gateway: Gateway
) -> None:
    """Two subject keys for one person (an old-key row and a new-key row written by a process
    that did not know the old key yet): a shred destroys both."""
    ws = workspace
    s = "c-two"
    choose(consent, s, PURPOSES, "granted")
    d_old = gateway.decide("price", s, CTX, jurisdiction="EU", list_price="50").id
    rotate_key(ws.settings, ws.store, window="30d")
    k1 = kfile(ws, "k1")
    # a process that knows only the new key makes a second subject key for the same person
    SubjectKeys(ws.store, Pseudonymizer(k1)).token(s)
    with ws.store.read() as conn:
        assert conn.execute(text("SELECT count(*) FROM subject_keys")).scalar_one() == 2
    gateway.keys.refresh()
    consent.pseudonyms.refresh()
    report = gateway.shred_subject(s)
    assert report.key_existed and report.unlinkable["decisions"] == 1
    with ws.store.read() as conn:
        assert conn.execute(text("SELECT count(*) FROM subject_keys")).scalar_one() == 0
    assert gateway.get(d_old)["erased"]


# -- access log, preference links ------------------------------------------------------------
def test_access_log_and_preference_links_across_rotation(workspace: Workspace) -> None:
    from trustcart.consent.tokens import make_subject_token, read_subject_token
    from trustcart.governance import access_entries

    ws = workspace
    p = Pseudonymizer.of(ws, max_staleness=0)
    s = "c-read"
    record_access_for(ws, p.pseudonym(s))
    token = make_subject_token(p, ws.settings.pseudonym_key(), s)  # names the k0 pseudonym
    rotate_key(ws.settings, ws.store, window="7d")
    p.refresh()
    record_access_for(ws, p.pseudonym(s))
    assert len(access_entries(ws.store, subject=p.candidates(s))) == 2
    # the old link still verifies (signed with the workspace secret) and reaches the new key's
    # records once the person was seen during the window (p.candidates(s) above linked them)
    old = read_subject_token(ws.settings.pseudonym_key(), token)
    assert old == hm(k0(ws), s)
    assert p.candidates(old) == (old, hm(kfile(ws, "k1"), s))
    retire_keys(ws.settings, ws.store, now=utcnow() + timedelta(days=8))
    q = Pseudonymizer.of(ws)
    assert len(access_entries(ws.store, subject=q.candidates(s))) == 2
    assert len(access_entries(ws.store, subject=q.candidates("c-nobody"))) == 0
    assert ws.store.log("access").verify().ok


def record_access_for(ws: Workspace, pseudonym: str) -> None:
    from trustcart.governance.keys import Principal
    from trustcart.governance.roles import ROLE_SCOPES, Role, Scope

    principal = Principal("key_test", "test key", Role.DPO, ROLE_SCOPES[Role.DPO])
    record_access(
        ws.store,
        principal,
        scope=Scope.CONSENT_READ,
        route="/consent/{subject}",
        purpose="test",
        subject=pseudonym,
    )


# -- environment mode ------------------------------------------------------------------------
def test_environment_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db_url: str) -> None:
    from trustcart.config import init_workspace

    root = init_workspace(tmp_path / "envws")
    (root / "secret.key").unlink()
    secret0 = "e" * 40
    monkeypatch.setenv("TRUSTCART_SECRET_KEY", secret0)
    if not db_url.startswith("sqlite"):
        monkeypatch.setenv("TRUSTCART_DATABASE_URL", db_url)
    ws = Workspace.open(root)
    try:
        p = Pseudonymizer.of(ws, max_staleness=0)
        assert p.pseudonym("c-1") == hm(secret0.encode(), "c-1")
        with pytest.raises(ConfigError, match="TRUSTCART_SECRET_KEYS"):
            rotate_key(ws.settings, ws.store)
        assert not (root / "keys").exists()
    finally:
        ws.close()
    secret1 = "f" * 40
    monkeypatch.setenv("TRUSTCART_SECRET_KEYS", f"k1:{secret1}")
    ws = Workspace.open(root)
    try:
        done = rotate_key(ws.settings, ws.store, window="2d")
        assert (done.kid, done.source, done.path) == ("k1", "env", None)
        assert not (root / "keys").exists()  # nothing written to disk in environment mode
        p = Pseudonymizer.of(ws, max_staleness=0)
        assert p.pseudonym("c-1") == hm(secret1.encode(), "c-1")
        assert p.candidates("c-1")[:2] == (hm(secret1.encode(), "c-1"), hm(secret0.encode(), "c-1"))
        gone = retire_keys(ws.settings, ws.store, now=utcnow() + timedelta(days=3))
        assert [r.kid for r in gone] == ["k0"]
    finally:
        ws.close()
    # a wrong key under a registered id is refused, not silently used
    monkeypatch.setenv("TRUSTCART_SECRET_KEYS", f"k1:{'g' * 40}")
    ws = Workspace.open(root)
    try:
        with pytest.raises(ConfigError, match="does not match"):
            Pseudonymizer.of(ws)
    finally:
        ws.close()
    for bad, msg in [("k0:" + "h" * 40, "k0 is"), ("k1:short", "too short"), ("x", "must be")]:
        monkeypatch.setenv("TRUSTCART_SECRET_KEYS", bad)
        ws = Workspace.open(root)
        try:
            with pytest.raises(ConfigError, match=msg):
                Pseudonymizer.of(ws)
        finally:
            ws.close()


# -- errors, CLI, scanner --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text_", "expected"),
    [("30d", timedelta(days=30)), ("12h", timedelta(hours=12)), ("90m", timedelta(minutes=90)),
     ("7", timedelta(days=7)), ("0", timedelta(0))],
)  # fmt: skip
def test_window_values(text_: str, expected: timedelta) -> None:
    assert parse_window(text_) == expected


@pytest.mark.parametrize("bad", ["", "-1d", "30x", "1.5d", "d30", "367d", "thirty days"])
def test_bad_window_values_are_clear_errors(bad: str) -> None:
    with pytest.raises(ValidationError, match="window"):
        parse_window(bad)


def test_cli_rotate_status_retire_and_scanner(workspace: Workspace) -> None:
    ws = workspace
    runner = CliRunner()
    base = ["--workspace", str(ws.root)]
    bad = runner.invoke(app, [*base, "privacy", "rotate-key", "--window", "2 weeks"])
    assert bad.exit_code == 2 and "window" in bad.output and "Traceback" not in bad.output
    assert key_versions(ws.settings, ws.store)[0].retire_after is None  # nothing rotated
    ok = runner.invoke(app, [*base, "privacy", "rotate-key", "--window", "0", "--format", "json"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["kid"] == "k1"
    status = runner.invoke(app, [*base, "privacy", "key-status", "--format", "json"])
    rows = json.loads(status.stdout)
    assert [(r["kid"], r["current"], r["live"]) for r in rows] == [
        ("k0", False, False),
        ("k1", True, True),
    ]
    retired = runner.invoke(app, [*base, "privacy", "retire-keys", "--format", "json"])
    assert [r["kid"] for r in json.loads(retired.stdout)] == ["k0"]

    # scanner: the current key is new -> no age finding; a permissive key file -> finding
    def privacy_findings(on: Any = None) -> list[Any]:
        report = scan(ws, areas=["privacy"], on=on)
        return list(report.findings)

    assert privacy_findings() == []
    path = key_file(ws.settings, "k1")
    path.chmod(0o644)
    found = privacy_findings()
    assert [f.check for f in found] == ["TC-PRIV-002"] and "0600" in found[0].message
    path.chmod(0o600)
    later = (utcnow() + timedelta(days=400)).date()
    aged = privacy_findings(on=later)
    assert [f.check for f in aged] == ["TC-PRIV-001"]
    assert "TrustCart default" in aged[0].rule and "rotate-key" in aged[0].fix
