"""Data-subject rights end to end over the example shop's real stores.

The shop (``trustcart.demo.stores``): CRM and order tables in a SQL database (SQLite, the
workspace's PostgreSQL, or a MariaDB database: every test runs once per shop backend), a Parquet
event export in 16 files, a newsletter CSV; plus TrustCart's consent ledger and decision log.
Every expectation is checked against the stores directly (SQL, DuckDB, the CSV text), not
against what the rights service says about itself.
"""

# ruff: noqa: E402
from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

pytest.register_assert_rewrite("_gateway_fixtures")
from sqlalchemy import create_engine, text

from _gateway_fixtures import choose
from conftest import db_url_for_shop
from trustcart.catalog import DataMap, load_manifest
from trustcart.catalog.repository import save_datamap
from trustcart.consent import ConsentService
from trustcart.demo.stores import build_shop_stores, customer_id, device_id, email
from trustcart.errors import Conflict, TooManyAttempts, ValidationError, VerificationFailed
from trustcart.gateway import Gateway
from trustcart.rights import RequestIn, RequestStatus, RightsService
from trustcart.workspace import Workspace

pytest_plugins = ["_gateway_fixtures"]

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "shop.yaml"
N = 60
CTX = {"loyalty_tier": 3, "basket_size": 6, "stock_level": 0.2, "gender": 1, "postcode_band": 2}


@pytest.fixture
def db_url(shop_backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """One run per shop backend (SQLite, PostgreSQL, MariaDB), see conftest.db_url_for_shop."""
    return db_url_for_shop(shop_backend, request, tmp_path)


@pytest.fixture
def shop(
    workspace: Workspace,
    consent: ConsentService,
    monkeypatch: pytest.MonkeyPatch,
    shop_sql_url: str,
) -> Workspace:
    """The workspace with the example data map and the example stores: the SQL tables in a
    SQLite file, the workspace's PostgreSQL schema or a fresh MariaDB database."""
    url = shop_sql_url
    monkeypatch.setenv("SHOP_DB_URL", url)
    build_shop_stores(workspace.root, customers=N, seed=3, sql_url=url)
    # the analytics vendor's webhook is tested in test_rights_api.py; here it is unreachable
    raw = load_manifest(EXAMPLE).model_dump(by_alias=True, exclude_none=True)
    for d in raw["datasets"]:
        if d["key"] == "analytics_events":
            del d["connector"]
    save_datamap(workspace.store, DataMap.model_validate(raw))
    consent.reload()
    return workspace


@pytest.fixture
def rights(shop: Workspace, consent: ConsentService, gateway: Gateway) -> RightsService:
    return RightsService(shop, consent=consent, gateway=gateway)


def code_from_outbox(rights: RightsService, request_id: str) -> str:
    body = rights.outbox.messages(request_id)[0].body
    m = re.search(r"\b(\d{6})\b", body)
    assert m, body
    return m.group(1)


def verified(rights: RightsService, **kw: Any) -> str:
    req, new = rights.submit(RequestIn(**kw))
    assert new and req.status is RequestStatus.RECEIVED
    rights.verify(req.id, code_from_outbox(rights, req.id))
    return req.id


def sql_count(ws: Workspace, sql: str, **params: Any) -> int:
    import os

    eng = create_engine(os.environ["SHOP_DB_URL"])
    try:
        with eng.connect() as conn:
            return int(conn.execute(text(sql), params).scalar_one())
    finally:
        eng.dispose()


def events_count(ws: Workspace, where: str, *params: Any) -> int:
    files = str(ws.root / "shop-data" / "browsing" / "*.parquet")
    row = duckdb.sql(
        f"SELECT count(*) FROM read_parquet('{files}') WHERE {where}", params=list(params)
    ).fetchone()
    return int(row[0]) if row else 0


# -- access ----------------------------------------------------------------------------------
def test_access_returns_every_planted_record(
    rights: RightsService, consent: ConsentService, gateway: Gateway
) -> None:
    i = 9  # i % 3 == 0: also in the newsletter export
    cid = customer_id(i)
    choose(consent, cid, ["dynamic_pricing", "personalization"], "granted")
    decision = gateway.decide("price", cid, CTX, jurisdiction="EU", list_price="50")
    rid = verified(rights, type="access", identifiers={"email": email(i)}, jurisdiction="FR")
    req = rights.run(rid)
    assert req.status is RequestStatus.COMPLETED, req.result

    import io
    import json
    import zipfile

    zip_bytes, html = rights.package(rid)
    pkg = json.loads(zipfile.ZipFile(io.BytesIO(zip_bytes)).read("package.json"))
    rows = {d["key"]: d["rows"] for d in pkg["datasets"]}
    # every planted record, counted independently in the stores themselves
    assert (
        len(rows["customers"])
        == sql_count(rights.ws, "SELECT count(*) FROM customers WHERE email = :e", e=email(i))
        == 1
    )
    assert (
        len(rows["orders"])
        == sql_count(rights.ws, "SELECT count(*) FROM orders WHERE customer_id = :c", c=cid)
        == 2
    )
    assert len(rows["browsing_events"]) == events_count(rights.ws, "customer_id = ?", cid) == 3
    assert len(rows["fit_profiles"]) == 1 and len(rows["price_quotes"]) == 1
    assert rows["newsletter_audience"] == [
        {
            "email": email(i),
            "first_name": rows["customers"][0]["first_name"],
            "subscribed_at": rows["newsletter_audience"][0]["subscribed_at"],
        }
    ]
    # found through the CRM link email -> customer_id; device ids through nothing (not a linker)
    assert rights.get(rid).result["identities_linked_via"] == ["customers"]
    # Art. 15 contents: purposes, recipients, retention, source, consent history, decisions
    crm = next(d for d in pkg["datasets"] if d["key"] == "customers")
    assert crm["retention"] == "3 years" and crm["purposes"] and crm["source"]
    assert {e["purpose"] for e in pkg["consent_history"]} == {"dynamic_pricing", "personalization"}
    assert [d["id"] for d in pkg["decisions"]] == [decision.id]
    assert (
        pkg["decisions"][0]["explanation"]
        and "unavailable" not in pkg["decisions"][0]["explanation"]
    )
    assert pkg["automated_decision_logic"]
    assert email(i) in html and "Your consent choices" in html
    names = set(zipfile.ZipFile(io.BytesIO(zip_bytes)).namelist())
    assert {
        "package.json",
        "index.html",
        "customers.csv",
        "orders.csv",
        "browsing_events.csv",
        "consent_history.csv",
        "decisions.csv",
    } <= names
    # another customer's data is not in the package
    assert email(10) not in zip_bytes.decode("latin-1")
    # identifiers are dropped from the request once it is completed
    with rights.store.read() as conn:
        left = conn.execute(
            text("SELECT count(*) FROM rights_identities WHERE request_id = :r"), {"r": rid}
        ).scalar_one()
    assert left == 0


# -- erasure ---------------------------------------------------------------------------------
def test_erasure_leaves_no_identifier_and_keeps_proof_and_totals(
    rights: RightsService, consent: ConsentService, gateway: Gateway
) -> None:
    i = 12
    cid = customer_id(i)
    choose(consent, cid, ["dynamic_pricing", "personalization"], "granted")
    for s in (cid, customer_id(13), customer_id(14)):
        gateway.decide("price", s, CTX, jurisdiction="EU", list_price="50")
    with rights.store.read() as conn:
        totals = conn.execute(text("SELECT count(*), sum(length(output)) FROM decisions")).one()
    orders_before = sql_count(rights.ws, "SELECT count(*) FROM orders")
    revenue_before = sql_count(
        rights.ws, "SELECT CAST(round(sum(total_amount) * 100) AS INTEGER) FROM orders"
    )
    events_before = events_count(rights.ws, "true")
    mtimes = {
        p.name: p.stat().st_mtime_ns
        for p in (rights.ws.root / "shop-data" / "browsing").glob("*.parquet")
    }

    rid = verified(rights, type="erasure", identifiers={"email": email(i)}, jurisdiction="DE")
    req = rights.run(rid)
    assert req.status is RequestStatus.COMPLETED, req.result

    # no identifier anywhere, by independent searches of every store
    for table in ("customers", "orders", "fit_profiles", "price_quotes"):
        assert (
            sql_count(rights.ws, f"SELECT count(*) FROM {table} WHERE customer_id = :c", c=cid) == 0
        )
    assert sql_count(rights.ws, "SELECT count(*) FROM customers WHERE email = :e", e=email(i)) == 0
    assert events_count(rights.ws, "customer_id = ? OR device_id = ?", cid, device_id(i)) == 0
    assert email(i) not in (rights.ws.root / "shop-data" / "newsletter.csv").read_text()
    # orders are kept for accounting (pseudonymised, address blanked): totals unchanged
    assert sql_count(rights.ws, "SELECT count(*) FROM orders") == orders_before
    assert (
        sql_count(rights.ws, "SELECT CAST(round(sum(total_amount) * 100) AS INTEGER) FROM orders")
        == revenue_before
    )
    assert (
        sql_count(
            rights.ws,
            "SELECT count(*) FROM orders "
            "WHERE customer_id LIKE 'erased_%' AND shipping_address IS NULL",
        )
        == 2
    )
    # only this customer's rows left the export, and only the file holding them was rewritten
    assert events_count(rights.ws, "true") == events_before - 3
    changed = [
        n
        for n, t in mtimes.items()
        if (rights.ws.root / "shop-data" / "browsing" / n).stat().st_mtime_ns != t
    ]
    assert changed == [f"part-{(i - 1) * 16 // N:03d}.parquet"]
    # other customers untouched
    assert sql_count(rights.ws, "SELECT count(*) FROM customers") == N - 1
    assert (
        sql_count(
            rights.ws, "SELECT count(*) FROM orders WHERE customer_id = :c", c=customer_id(13)
        )
        == 2
    )

    # consent proof kept, grants withdrawn: the gateway no longer personalises
    events = consent.events(cid)
    assert len(events) == 4 and {str(e.decision) for e in events} == {"granted", "withdrawn"}
    assert not consent.may_use(cid, "dynamic_pricing", (), "EU")
    # decision log: crypto-shredded, audit totals unchanged, chain intact
    assert gateway.for_subject(cid) == []
    with rights.store.read() as conn:
        assert (
            conn.execute(text("SELECT count(*), sum(length(output)) FROM decisions")).one()
            == totals
        )
    assert rights.store.log("decisions").verify().ok
    assert len(gateway.for_subject(customer_id(13))) == 1

    # the certificate says what was found and changed where, and the scan found nothing
    cert = rights.get(rid).result["certificate"]
    stores = {s["dataset"]: s for s in cert["stores"]}
    assert stores["customers"]["rows_changed"] == 1
    assert stores["orders"]["strategy"] == "pseudonymize"
    assert stores["orders"]["fields_changed"] == [
        "customer_id",
        "payment_reference",
        "shipping_address",
    ]
    assert stores["browsing_events"]["rows_changed"] == 3
    assert stores["newsletter_audience"]["rows_changed"] == 1
    assert stores["trustcart_consent"]["status"] == "retained"
    assert stores["trustcart_decisions"]["rows_changed"] == 1
    assert cert["verification"]["remaining"] == {}
    assert cert["not_reachable"] == ["analytics_events"]
    # the rights log holds no identifier
    for rec in rights.log.entries():
        assert email(i) not in str(rec.payload) and cid not in str(rec.payload)


def test_erasure_fails_loudly_when_an_identifier_remains(
    rights: RightsService, monkeypatch: pytest.MonkeyPatch
) -> None:
    from trustcart.rights.connectors import SqlConnector

    real = SqlConnector.erase

    def lazy(self: SqlConnector, ids: Any) -> Any:  # a store that claims success but keeps rows
        change = real(self, {}) if self.key == "fit_profiles" else real(self, ids)
        return change

    monkeypatch.setattr(SqlConnector, "erase", lazy)
    rid = verified(
        rights, type="erasure", identifiers={"customer_id": customer_id(5)}, contact="x@example.com"
    )
    with pytest.raises(Conflict, match="fit_profiles"):
        rights.run(rid)
    req = rights.get(rid)
    assert req.status is RequestStatus.IN_PROGRESS
    assert req.result["verification"]["remaining"] == {"fit_profiles": 1}
    # running again with the store fixed completes it
    monkeypatch.setattr(SqlConnector, "erase", real)
    assert rights.run(rid).status is RequestStatus.COMPLETED


# -- workflow: verification, idempotency, opt-outs, denial, rectification ----------------------
def test_verification_codes_are_limited_and_checked(rights: RightsService) -> None:
    req, _ = rights.submit(RequestIn(type="access", identifiers={"email": email(4)}))
    with pytest.raises(Conflict, match="verification"):
        rights.run(req.id)
    good = code_from_outbox(rights, req.id)
    bad = f"{(int(good) + 1) % 10**6:06d}"
    with pytest.raises(VerificationFailed, match="4 attempt"):
        rights.verify(req.id, bad)
    for _ in range(3):
        with pytest.raises(VerificationFailed):
            rights.verify(req.id, bad)
    with pytest.raises(TooManyAttempts):
        rights.verify(req.id, bad)
    with pytest.raises(TooManyAttempts):  # locked even with the right code
        rights.verify(req.id, good)
    rights.send_code(req.id)  # a new code resets the attempts
    assert (
        rights.verify(req.id, code_from_outbox(rights, req.id)).status
        is RequestStatus.IDENTITY_VERIFIED
    )
    with pytest.raises(VerificationFailed, match="not waiting"):
        rights.verify(req.id, good)


def test_expired_code_is_refused(
    shop: Workspace, consent: ConsentService, gateway: Gateway
) -> None:
    now = [datetime(2027, 3, 1, 12, tzinfo=UTC)]
    rights = RightsService(shop, consent=consent, gateway=gateway, clock=lambda: now[0])
    req, _ = rights.submit(RequestIn(type="access", identifiers={"email": email(4)}))
    code = code_from_outbox(rights, req.id)
    now[0] = now[0].replace(hour=13)
    with pytest.raises(VerificationFailed, match="expired"):
        rights.verify(req.id, code)


def test_same_request_twice_is_one_request(rights: RightsService) -> None:
    a, new_a = rights.submit(RequestIn(type="erasure", identifiers={"email": email(3)}))
    b, new_b = rights.submit(
        RequestIn(type="erasure", identifiers={"email": " " + email(3).upper()})
    )
    assert (new_a, new_b) == (True, False) and a.id == b.id
    c, new_c = rights.submit(RequestIn(type="access", identifiers={"email": email(3)}))
    assert new_c and c.id != a.id
    assert len(rights.requests()) == 2


def test_opt_out_is_honoured_at_once_without_verification(
    rights: RightsService, consent: ConsentService, gateway: Gateway
) -> None:
    cid = customer_id(21)
    choose(consent, cid, ["personalization", "dynamic_pricing", "targeted_offers"], "granted")
    assert consent.may_use(cid, "personalization", (), "EU")
    req, _ = rights.submit(
        RequestIn(type="opt_out_profiling", identifiers={"customer_id": cid}, jurisdiction="EU")
    )
    assert req.status is RequestStatus.COMPLETED and not req.needs_verification
    assert not consent.may_use(cid, "personalization", (), "EU")
    assert not consent.may_use(
        cid, "dynamic_pricing", (), "EU"
    )  # personalize.pricing is profiling too
    assert consent.may_use(cid, "targeted_offers", (), "EU")  # a marketing purpose: untouched
    d = gateway.decide("price", cid, CTX, jurisdiction="EU", list_price="50")
    assert not d.personalised


def test_denial_tells_reasons_and_complaint_right(rights: RightsService) -> None:
    req, _ = rights.submit(
        RequestIn(type="erasure", identifiers={"email": email(2)}, jurisdiction="IT")
    )
    denied = rights.deny(req.id, "the account is party to an open fraud investigation")
    assert denied.status is RequestStatus.DENIED
    assert denied.result["citation"] == "GDPR Art. 12(4)"
    body = rights.outbox.messages(req.id)[0].body
    assert "fraud investigation" in body and "complaint" in body
    with pytest.raises(Conflict, match="already denied"):
        rights.run(req.id)
    va, _ = rights.submit(
        RequestIn(type="access", identifiers={"email": email(2)}, jurisdiction="US-VA")
    )
    assert "appeal" in rights.deny(va.id, "no such customer").result["rights_info"]


def test_rectification_updates_every_store_holding_the_field(rights: RightsService) -> None:
    with pytest.raises(ValidationError, match=r"details\.changes"):
        rights.submit(RequestIn(type="rectification", identifiers={"email": email(8)}))
    with pytest.raises(ValidationError, match="no dataset"):
        rights.submit(
            RequestIn(
                type="rectification",
                identifiers={"email": email(8)},
                details={"changes": {"shoe_size": "42"}},
            )
        )
    rid = verified(
        rights,
        type="rectification",
        identifiers={"email": email(8)},
        details={"changes": {"city": "Nantes", "first_name": "Zoé"}},
    )
    rights.run(rid)
    assert (
        sql_count(
            rights.ws, "SELECT count(*) FROM customers WHERE city = 'Nantes' AND first_name = 'Zoé'"
        )
        == 1
    )
    assert "Zoé" not in (rights.ws.root / "shop-data" / "newsletter.csv").read_text()  # 8 % 3 != 0
    changes = {c["dataset"]: c for c in rights.get(rid).result["changes"]}
    assert changes["customers"]["fields_changed"] == ["city", "first_name"]


# -- deadlines -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("jurisdiction", "received", "due", "ack"),
    [
        ("FR", date(2027, 1, 31), date(2027, 2, 28), None),  # 31 Jan + 1 month
        ("GB", date(2028, 1, 31), date(2028, 2, 29), None),  # leap year
        (
            "US-CA",
            date(2027, 3, 5),
            date(2027, 4, 19),
            date(2027, 3, 19),
        ),  # 45 days; 10 business days
        ("BR", date(2027, 3, 5), date(2027, 3, 20), None),  # LGPD 15 days
        ("CA", date(2027, 3, 5), date(2027, 4, 4), None),  # PIPEDA 30 days
    ],
)
def test_deadlines_per_jurisdiction(
    shop: Workspace,
    consent: ConsentService,
    gateway: Gateway,
    jurisdiction: str,
    received: date,
    due: date,
    ack: date | None,
) -> None:
    when = datetime(received.year, received.month, received.day, 9, tzinfo=UTC)
    rights = RightsService(shop, consent=consent, gateway=gateway, clock=lambda: when)
    req, _ = rights.submit(
        RequestIn(type="access", identifiers={"email": email(1)}, jurisdiction=jurisdiction)
    )
    assert (req.due_on, req.acknowledge_by) == (due, ack)
    assert req.statutory and req.citation


def test_extension_rules(shop: Workspace, consent: ConsentService, gateway: Gateway) -> None:
    now = [datetime(2027, 1, 31, 9, tzinfo=UTC)]
    rights = RightsService(shop, consent=consent, gateway=gateway, clock=lambda: now[0])
    eu, _ = rights.submit(
        RequestIn(type="access", identifiers={"email": email(1)}, jurisdiction="EU")
    )
    ext = rights.extend(eu.id, "your data is spread over many archived systems")
    assert (
        ext.due_on == date(2027, 4, 28) and ext.extended
    )  # 28 Feb + 2 months, under the 3-month cap
    assert "2027-04-28" in rights.outbox.messages(eu.id)[0].body
    with pytest.raises(Conflict, match="already extended"):
        rights.extend(eu.id, "again")
    br, _ = rights.submit(
        RequestIn(type="access", identifiers={"email": email(2)}, jurisdiction="BR")
    )
    with pytest.raises(Conflict, match="no extension"):
        rights.extend(br.id, "busy")
    ca, _ = rights.submit(
        RequestIn(type="access", identifiers={"email": email(3)}, jurisdiction="US-CA")
    )
    now[0] = datetime(2027, 4, 1, 9, tzinfo=UTC)  # after the 45 days
    with pytest.raises(Conflict, match="within it"):
        rights.extend(ca.id, "late")
    # BR was due 15 Feb, US-CA on 17 Mar; the extended EU request on 28 Apr
    assert [r.id for r in rights.overdue()] == [br.id, ca.id]
    assert [r.id for r in rights.due_soon(days=30)] == [eu.id]
    assert rights.due_soon(days=20) == []


def test_not_a_statutory_right_is_accepted_and_marked(rights: RightsService) -> None:
    req, _ = rights.submit(
        RequestIn(type="erasure", identifiers={"email": email(2)}, jurisdiction="CA")
    )
    assert not req.statutory and req.citation is None  # PIPEDA: no statutory erasure right


# -- bad input -------------------------------------------------------------------------------
def test_bad_requests_give_clear_errors(rights: RightsService) -> None:
    from pydantic import ValidationError as PydanticError

    with pytest.raises(PydanticError, match="type"):
        RequestIn(type="delete_everything", identifiers={"email": "a@b.example"})
    with pytest.raises(PydanticError, match="identifiers"):
        RequestIn(type="access", identifiers={})
    with pytest.raises(ValidationError, match=r"unknown identifier type.*passport"):
        rights.submit(RequestIn(type="access", identifiers={"passport": "X1"}))
    with pytest.raises(ValidationError, match="contact e-mail"):
        rights.submit(RequestIn(type="access", identifiers={"customer_id": "C0000001"}))
    with pytest.raises(ValidationError, match="unknown jurisdiction"):
        rights.submit(
            RequestIn(type="access", identifiers={"email": "a@b.example"}, jurisdiction="Narnia")
        )


# -- erase strategies, connector by connector ---------------------------------------------------
def _with_connector(key: str, **changes: Any) -> DataMap:
    raw = load_manifest(EXAMPLE).model_dump(by_alias=True, exclude_none=True)
    for d in raw["datasets"]:
        if d["key"] == key:
            d["connector"].update(changes)
    return DataMap.model_validate(raw)


@pytest.mark.parametrize("strategy", ["mask", "pseudonymize"])
def test_mask_and_pseudonymize_keep_rows_but_no_identifier(shop: Workspace, strategy: str) -> None:
    from trustcart.rights.connectors import connector_for

    dm = _with_connector("customers", erase=strategy, mask_fields=["first_name", "street"])
    sql = connector_for(next(d for d in dm.datasets if d.key == "customers"), root=shop.root)
    dm = _with_connector("browsing_events", erase=strategy, mask_fields=["search_terms"])
    files = connector_for(
        next(d for d in dm.datasets if d.key == "browsing_events"), root=shop.root
    )
    assert sql is not None and files is not None
    i = 15
    ids = {"customer_id": frozenset({customer_id(i)}), "email": frozenset({email(i)})}
    before_events = events_count(shop, "true")
    c = sql.erase(ids)
    assert (c.rows_found, c.rows_changed) == (1, 1)
    assert c.fields_changed == ["customer_id", "email", "first_name", "street"]
    assert sql_count(shop, "SELECT count(*) FROM customers") == N  # the row stays
    assert sql_count(shop, "SELECT count(*) FROM customers WHERE email = :e", e=email(i)) == 0
    # the row kept its non-personal columns (city) but lost the masked ones
    assert (
        sql_count(
            shop,
            "SELECT count(*) FROM customers "
            "WHERE first_name IS NULL AND street IS NULL AND city IS NOT NULL",
        )
        == 1
    )
    f = files.erase(ids)
    assert (f.rows_found, f.rows_changed) == (3, 3)
    assert events_count(shop, "true") == before_events  # rows kept for aggregates
    assert events_count(shop, "customer_id = ? OR device_id = ?", customer_id(i), device_id(i)) == 0
    if strategy == "mask":
        assert events_count(shop, "customer_id IS NULL") == 3
    else:
        assert events_count(shop, "starts_with(customer_id, 'erased_')") == 3
    assert sql.count(ids) == 0 and files.count(ids) == 0
    # a second erase finds nothing: idempotent
    assert sql.erase(ids).rows_found == 0 and files.erase(ids).rows_found == 0


@pytest.mark.parametrize("quoted", [False, True])
def test_csv_erasure_fast_path_and_parser_agree_with_pandas(tmp_path: Path, quoted: bool) -> None:
    """Quote-free CSVs are cut by byte search, others go through DuckDB: same result either way,
    checked against pandas; values keep their exact text (leading zeros, dates)."""
    import pandas as pd

    from trustcart.catalog import Connector, Dataset, DatasetField
    from trustcart.rights.connectors import FileConnector

    rows = [
        ("a@example.com", "Ana", "01000", "2026-01-02"),
        ("b@example.com", "Ben, Jr." if quoted else "Ben", "02000", "2026-01-03"),
        ("xa@example.com", "Not Ana", "03000", "2026-01-04"),  # contains the needle as a substring
        ("a@example.com", "Ana again", "04000", "2026-01-05"),
        ("c@example.com", "Cy", "05000", "2026-01-06"),
    ]
    path = tmp_path / "list.csv"
    pd.DataFrame(rows, columns=["email", "name", "zip", "since"]).to_csv(path, index=False)
    assert ('"' in path.read_text()) is quoted
    ds = Dataset(
        key="list",
        name="list",
        system="s",
        location=str(path),
        identity_keys=["email"],
        fields=[DatasetField(name="email", data_categories=["user.contact.email"])],
        connector=Connector(type="file"),
    )
    c = FileConnector(ds, root=tmp_path)
    ids = {"email": frozenset({"a@example.com"})}
    assert c.count(ids) == 2
    change = c.erase(ids)
    assert (change.rows_found, change.rows_changed) == (2, 2)
    expected = pd.DataFrame(rows, columns=["email", "name", "zip", "since"])
    expected = expected[expected["email"] != "a@example.com"]
    got = pd.read_csv(path, dtype=str)
    assert got.to_dict("records") == expected.astype(str).to_dict("records")
    assert "03000" in path.read_text()  # leading zeros kept
    assert c.count(ids) == 0 and c.erase(ids).rows_found == 0
