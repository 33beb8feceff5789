"""Crypto-shredding on SQLite and PostgreSQL: after an erasure nobody — not even someone with the
whole database, the global secret key and the person's id — can link a decision row to them,
while every audit number stays the same and the decision log still verifies."""

# ruff: noqa: E402  (helpers are imported after register_assert_rewrite, as pytest requires)
from __future__ import annotations

import base64
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import ibis
import orjson
import pandas as pd
import pytest

pytest.register_assert_rewrite("_gateway_fixtures")
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import MetaData, select, text
from typer.testing import CliRunner

from _gateway_fixtures import choose
from trustcart.cli import app
from trustcart.consent import ConsentService
from trustcart.errors import LedgerError, SubjectErased
from trustcart.fairness import audit
from trustcart.gateway import Gateway, OfferGuardrail, PriceGuardrails
from trustcart.models import LightGBMPricing, LogisticOffer
from trustcart.privacy import KEY_LOG, Pseudonymizer, SubjectKeys, derive_token
from trustcart.store import Store
from trustcart.workspace import Workspace

pytest_plugins = ["_gateway_fixtures"]

VICTIM = "c-victim@example.com"
OTHERS = [f"c-{i}" for i in range(10)]
GROUPS = ("student", "regular", "senior")
MARKER = 613.25  # a days_since_visit only the victim has: it shows up in their explanations
CONSENT_TABLES = {"consent_events", "consent_state"}


def _gateway(ws: Workspace, consent: ConsentService, pricing: Any, offer: Any) -> Gateway:
    gw = Gateway(
        ws,
        consent=consent,
        max_staleness=0,
        price_guardrails=PriceGuardrails(
            group_key="customer_group", group_bounds={"student": (0.9, 1.0)}
        ),
        offer_guardrail=OfferGuardrail(group_key="customer_group"),
    )
    gw.register("price", pricing)
    gw.register("offer", offer)
    return gw


@pytest.fixture
def gw(
    workspace: Workspace,
    consent: ConsentService,
    pricing_model: LightGBMPricing,
    offer_model: LogisticOffer,
) -> Iterator[Gateway]:
    g = _gateway(workspace, consent, pricing_model, offer_model)
    try:
        yield g
    finally:
        g.close()


def _decide_for(gw: Gateway, subject: str, i: int, *, days: float | None = None) -> list[str]:
    group = GROUPS[i % len(GROUPS)]
    price = gw.decide(
        "price",
        subject,
        {"loyalty_tier": i % 4, "basket_size": 1 + i % 7, "customer_group": group},
        jurisdiction="EU",
        list_price="40.00",
    )
    offer = gw.decide(
        "offer",
        subject,
        {
            "orders_last_year": i % 12,
            "days_since_visit": days if days is not None else 3 * i,
            "customer_group": group,
        },
        jurisdiction="EU",
    )
    return [price.id, offer.id]


def _populate(gw: Gateway, consent: ConsentService) -> list[str]:
    """Ten other customers and the victim; the victim's consent changes over time so their
    decisions carry consent evidence (grant, then withdrawal). Returns the victim's ids."""
    for n, s in enumerate(OTHERS):
        if n % 2 == 0:
            choose(consent, s, ["dynamic_pricing", "targeted_offers"], "granted")
        for i in range(n, n + 3):
            _decide_for(gw, s, i)
    choose(consent, VICTIM, ["dynamic_pricing", "targeted_offers"], "granted")
    ids = []
    for i in range(4):
        ids += _decide_for(gw, VICTIM, i, days=MARKER)
    choose(consent, VICTIM, ["targeted_offers"], "withdrawn")
    ids += _decide_for(gw, VICTIM, 5, days=MARKER)
    return ids


def _audit_numbers(ws: Workspace) -> dict[str, Any]:
    """The audits over the decisions, three ways: SQL in the database, pandas, and the
    fairness engine (Ibis) on the clear columns."""
    with ws.store.read() as conn:
        sql = conn.execute(
            text(
                'SELECT kind, "group", count(*) AS n, '
                "sum(CASE WHEN personalised THEN 1 ELSE 0 END) AS personalised "
                'FROM decisions GROUP BY kind, "group" ORDER BY kind, "group"'
            )
        ).all()
        rows = conn.execute(text('SELECT kind, "group", personalised, output FROM decisions')).all()
    df = pd.DataFrame(rows, columns=["kind", "group", "personalised", "output"])
    out = df["output"].map(orjson.loads)
    prices = df[df.kind == "price"].assign(
        ratio=[float(o["price"]) / float(o["list_price"]) for o in out[df.kind == "price"]]
    )
    offers = df[df.kind == "offer"].assign(
        offered=[int(o["offer"] is not None) for o in out[df.kind == "offer"]]
    )
    fair_price = audit(
        ibis.memtable(prices[["group", "ratio"]]),
        ["group"],
        "ratio",
        "continuous",
        min_group_size=1,
    )
    fair_offer = audit(
        ibis.memtable(offers[["group", "offered"]]),
        ["group"],
        "offered",
        "binary",
        min_group_size=1,
    )
    strip = ("elapsed_seconds", "source")
    return {
        "sql": [tuple(r) for r in sql],
        "mean_price_ratio": prices.groupby("group")["ratio"].mean().round(12).to_dict(),
        "offer_rate": offers.groupby("group")["offered"].mean().to_dict(),
        "fair_price": {k: v for k, v in fair_price.to_dict().items() if k not in strip},
        "fair_offer": {k: v for k, v in fair_offer.to_dict().items() if k not in strip},
    }


def _dump(store: Store) -> dict[str, list[str]]:
    """Every row of every table, as text: what an attacker with the whole database sees."""
    meta = MetaData()
    out: dict[str, list[str]] = {}
    with store.read() as conn:
        meta.reflect(bind=conn)
        for name, table in meta.tables.items():
            out[name] = [
                " ".join(v.hex() if isinstance(v, bytes) else str(v) for v in row)
                for row in conn.execute(select(table))
            ]
    return out


def _hits(dump: dict[str, list[str]], needle: str) -> set[str]:
    return {t for t, rows in dump.items() if any(needle in r for r in rows)}


def _vault(store: Store) -> list[tuple[str, str, bytes]]:
    with store.read() as conn:
        return [
            (r.lookup, r.token, bytes(r.key))
            for r in conn.execute(text("SELECT lookup, token, key FROM subject_keys"))
        ]


def _sealed_rows(store: Store, token: str) -> list[str]:
    with store.read() as conn:
        payloads = conn.execute(
            text(
                "SELECT e.payload FROM log_entries e JOIN decisions d ON d.seq = e.seq "
                "WHERE e.log = 'decisions' AND d.subject = :t"
            ),
            {"t": token},
        ).scalars()
        return [orjson.loads(p)["sealed"] for p in payloads]


def _opens(sealed: str, key: bytes, aad: str) -> bool:
    raw = base64.b64decode(sealed[3:])
    try:
        AESGCM(key).decrypt(raw[:12], raw[12:], aad.encode())
    except InvalidTag:
        return False
    return True


def test_erased_subject_cannot_be_reidentified_and_audits_are_unchanged(
    gw: Gateway, consent: ConsentService, workspace: Workspace
) -> None:
    store = workspace.store
    victim_ids = _populate(gw, consent)
    pseudonym = consent.pseudonyms.pseudonym(VICTIM)
    token = gw.keys.token(VICTIM)
    evidence = [e.id for e in consent.events(VICTIM)]
    assert len(evidence) == 3  # two grants, one withdrawal

    # before: the person's decisions open, cite their consent events, and explain
    mine = gw.for_subject(VICTIM)
    assert sorted(m["id"] for m in mine) == sorted(victim_ids)
    assert all(m["subject"] == token and not m["erased"] for m in mine)
    cited = {e for m in mine for e in m["consent_evidence"]}
    assert cited and cited <= set(evidence)
    assert any(m["inputs"].get("days_since_visit") == MARKER for m in mine)
    offers = [m["id"] for m in mine if m["kind"] == "offer" and m["personalised"]]
    explained = [gw.explanation(i) for i in offers]
    assert any(str(MARKER) in e["text"] for e in explained)
    other = gw.for_subject(OTHERS[0])
    other_expl = gw.explanation(other[0]["id"])
    before = _audit_numbers(workspace)
    dump = _dump(store)
    assert "decision_explanations" in _hits(dump, str(MARKER))  # the test can see a leak
    vault_before = _vault(store)
    assert sum(1 for v in vault_before if v[0] == pseudonym) == 1
    sealed = _sealed_rows(store, token)
    assert len(sealed) == len(victim_ids)
    [(_, _, victim_key)] = [v for v in vault_before if v[0] == pseudonym]
    assert all(_opens(s, victim_key, token) for s in sealed)  # brute force would find it now

    report = gw.shred_subject(VICTIM)

    assert report.key_existed
    assert report.unlinkable == {"decisions": len(victim_ids)}
    assert report.deleted == {"decision_explanations": len(offers)}
    assert token not in orjson.dumps(report.to_dict()).decode()
    assert pseudonym not in orjson.dumps(report.to_dict()).decode()

    # the person's own view is empty, by id and by pseudonym
    assert gw.for_subject(VICTIM) == [] and gw.for_subject(pseudonym) == []
    assert gw.keys.token(VICTIM, create=False) is None
    # their rows stay for audits but open to nobody; explanations answer a clear error
    got = gw.get(victim_ids[0])
    assert got["erased"] is True and "inputs" not in got and "consent_evidence" not in got
    assert got["subject"] == token and got["output"]
    for i in victim_ids:
        with pytest.raises(SubjectErased, match="erased"):
            gw.explanation(i)

    # an attacker with the whole database, the global key and the person's id:
    dump = _dump(store)
    key = workspace.settings.pseudonym_key()
    recomputed = {
        pseudonym,
        Pseudonymizer(key).pseudonym(VICTIM),
        derive_token(key),
        consent.pseudonyms.fingerprint(VICTIM),
    }
    with store.read() as conn:
        decision_subjects = set(conn.execute(text("SELECT subject FROM decisions")).scalars())
    assert not recomputed & decision_subjects
    # ... the raw id is nowhere; the pseudonym only in the consent proof (kept on purpose)
    assert _hits(dump, VICTIM) == set()
    assert _hits(dump, pseudonym) <= CONSENT_TABLES | {"log_entries"}
    with store.read() as conn:
        logs = set(
            conn.execute(
                text("SELECT DISTINCT log FROM log_entries WHERE payload LIKE :p"),
                {"p": f"%{pseudonym}%"},
            ).scalars()
        )
    assert logs == {"consent"}
    # ... consent evidence ids are not reachable from any decision-side row
    for eid in evidence:
        assert _hits(dump, eid) <= CONSENT_TABLES | {"log_entries"}
        with store.read() as conn:
            assert not conn.execute(
                text("SELECT 1 FROM log_entries WHERE log <> 'consent' AND payload LIKE :p"),
                {"p": f"%{eid}%"},
            ).first()
    # ... the planted input value survives nowhere (its cached explanations were deleted)
    assert _hits(dump, str(MARKER)) == set()
    # ... and brute force over the vault: no key derives the token or opens a sealed row
    vault = _vault(store)
    assert len(vault) == len(vault_before) - 1 and pseudonym not in {v[0] for v in vault}
    assert victim_key.hex() not in " ".join(r for rows in dump.values() for r in rows)
    for _, tok, k in vault:
        assert derive_token(k) == tok != token
        assert not any(_opens(s, k, token) or _opens(s, k, tok) for s in sealed)
    with pytest.raises(LedgerError):  # a sealed row moved under another subject does not open
        gw.keys.unseal(vault[0][1], sealed[0])

    # the evidence and the audits are untouched
    chain, copies = gw.log.verify()
    assert chain.ok and copies.ok and chain.checked == len(dump["decisions"])
    assert _audit_numbers(workspace) == before
    # other people are unaffected
    assert gw.for_subject(OTHERS[0]) == other
    assert gw.explanation(other[0]["id"]) == other_expl
    # idempotent
    again = gw.shred_subject(VICTIM)
    assert not again.key_existed and again.rows_unlinkable == 0


def test_returning_subject_gets_a_fresh_key(gw: Gateway, consent: ConsentService) -> None:
    choose(consent, VICTIM, ["dynamic_pricing", "targeted_offers"], "granted")
    old_ids = _decide_for(gw, VICTIM, 1)
    old = gw.keys.token(VICTIM)
    assert gw.shred_subject(VICTIM).unlinkable == {"decisions": 2}
    new_ids = _decide_for(gw, VICTIM, 2)
    new = gw.keys.token(VICTIM)
    assert new != old and new.startswith("s_")
    mine = gw.for_subject(VICTIM)
    assert sorted(m["id"] for m in mine) == sorted(new_ids)
    assert all(m["subject"] == new and not m["erased"] for m in mine)
    assert gw.explanation(new_ids[1])["decision_id"] == new_ids[1]
    assert all(gw.get(i)["erased"] for i in old_ids)
    # the CLI's access view (no gateway running) shows only the new decisions, opened
    res = CliRunner().invoke(
        app, ["-w", str(gw.ws.root), "gateway", "decisions", VICTIM, "--format", "json"]
    )
    assert res.exit_code == 0, res.output
    shown = orjson.loads(res.stdout)
    assert sorted(x["id"] for x in shown) == sorted(new_ids)
    assert all(x["inputs"] and x["subject"] == new for x in shown)


def test_a_second_process_sees_the_shred(
    gw: Gateway,
    consent: ConsentService,
    workspace: Workspace,
    pricing_model: LightGBMPricing,
    offer_model: LogisticOffer,
) -> None:
    """Another process that memoised the key stops using it once it learns of the shred (at
    once for reads; within max_staleness for new decisions), whoever shredded."""
    choose(consent, VICTIM, ["dynamic_pricing", "targeted_offers"], "granted")
    with Workspace.open(workspace.root) as ws2:
        consent2 = ConsentService(ws2, max_staleness=0)
        gw2 = _gateway(ws2, consent2, pricing_model, offer_model)
        gw2.max_staleness = gw2.keys.max_staleness = 3600.0  # memo never expires by itself
        try:
            first = _decide_for(gw2, VICTIM, 1)
            old = gw2.keys.token(VICTIM)
            assert gw.keys.token(VICTIM) == old  # both processes share the one key
            report = gw.shred_subject(VICTIM)
            assert report.unlinkable == {"decisions": 2}
            # reads in the other process see it at once, despite the warm memo
            assert gw2.for_subject(VICTIM) == []
            assert gw2.get(first[0])["erased"] is True
            with pytest.raises(SubjectErased):
                gw2.explanation(first[1])
            # its next decision uses a new key (the read above made it learn of the shred)
            again = _decide_for(gw2, VICTIM, 2)
            new = gw2.keys.token(VICTIM)
            assert new != old and gw.keys.token(VICTIM) == new
            assert sorted(m["id"] for m in gw.for_subject(VICTIM)) == sorted(again)
        finally:
            gw2.close()


def test_shred_from_another_os_process(gw: Gateway, consent: ConsentService) -> None:
    """A real second process (as a rights-request worker would be) destroys the key; this
    process's gateway, memo warm, stops using it once its staleness window passes."""
    choose(consent, VICTIM, ["dynamic_pricing"], "granted")
    _decide_for(gw, VICTIM, 1)
    old = gw.keys.token(VICTIM)
    code = (
        "import sys, orjson\n"
        "from trustcart.gateway import subject_keys\n"
        "from trustcart.privacy import Pseudonymizer\n"
        "from trustcart.workspace import Workspace\n"
        "with Workspace.open(sys.argv[1]) as ws:\n"
        "    keys = subject_keys(ws.store, Pseudonymizer(ws.settings.pseudonym_key()))\n"
        "    print(orjson.dumps(keys.shred(sys.argv[2]).to_dict()).decode())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(gw.ws.root), VICTIM],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    out = orjson.loads(done.stdout)
    assert out["key_existed"] and out["unlinkable"] == {"decisions": 2}
    assert VICTIM not in done.stdout and old not in done.stdout
    assert gw.keys.max_staleness == 0  # this gateway checks the shred log on every decision
    _decide_for(gw, VICTIM, 2)
    assert gw.keys.token(VICTIM) != old


def test_vault_seal_unseal_tamper_and_concurrent_creation(workspace: Workspace) -> None:
    pseudonyms = Pseudonymizer(workspace.settings.pseudonym_key())
    keys = SubjectKeys(workspace.store, pseudonyms)
    assert keys.token("nobody", create=False) is None
    a, b = keys.token("a"), keys.token("b")
    assert a != b and a.startswith("s_") and len(a) == 34
    assert keys.token(pseudonyms.pseudonym("a")) == a  # by pseudonym too
    box = keys.seal("a", {"x": 1, "items": ["plaintext-item-p1"]})
    assert "plaintext-item" not in box and keys.unseal(a, box) == {
        "x": 1,
        "items": ["plaintext-item-p1"],
    }
    assert keys.seal("a", {"x": 1}) != keys.seal("a", {"x": 1})  # fresh nonce each time
    with pytest.raises(LedgerError, match="edited or moved"):
        keys.unseal(b, box)
    flipped = box[:-6] + ("A" if box[-6] != "A" else "B") + box[-5:]
    with pytest.raises(LedgerError, match="edited or moved"):
        keys.unseal(a, flipped)
    with pytest.raises(LedgerError, match="format"):
        keys.unseal(a, "plain text")
    # a second vault (another process) on the same store reads the same key
    other = SubjectKeys(workspace.store, pseudonyms, max_staleness=3600)
    assert other.unseal(a, box) == {"x": 1, "items": ["plaintext-item-p1"]}
    report = keys.shred("a")
    assert report.key_existed and report.unlinkable == {}  # a bare vault knows no tables
    assert keys.unseal(a, box) is None and keys.exists(b) and not keys.exists(a)
    assert other.unseal(a, box) is not None  # memo warm, staleness not passed ...
    other.refresh()
    assert other.unseal(a, box) is None  # ... until it checks the shred log
    assert len(workspace.store.log(KEY_LOG)) == 1
    assert VICTIM not in str([e.payload for e in workspace.store.log(KEY_LOG)])
    # concurrent first use from many threads (and a fresh vault each) agrees on one key
    seen: list[str] = []

    def first_use() -> None:
        seen.append(SubjectKeys(workspace.store, pseudonyms).token("newcomer"))

    threads = [threading.Thread(target=first_use) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 6 and len(set(seen)) == 1
    with workspace.store.read() as conn:
        n = conn.execute(
            text("SELECT count(*) FROM subject_keys WHERE lookup = :l"),
            {"l": pseudonyms.pseudonym("newcomer")},
        ).scalar()
    assert n == 1


def test_concurrent_first_uses_share_key_transactions(workspace: Workspace) -> None:
    """Group commit of new keys: 24 threads, 12 new people (each asked for twice), one vault:
    every thread gets its person's key, committed (readable from another connection) before
    it returns; both threads of a person get the same key; fewer transactions than people."""
    import time

    from trustcart.store import Store

    pseudonyms = Pseudonymizer(workspace.settings.pseudonym_key())
    keys = SubjectKeys(workspace.store, pseudonyms)
    real = keys._create_now

    def slow_first_write(lookups: list[str]) -> dict[str, object]:
        """The first write waits until every other thread is queued behind it (so the test
        does not depend on the scheduler), then writes."""
        deadline = time.monotonic() + 10
        while keys.creates == 0 and time.monotonic() < deadline:
            if len(lookups) + len(keys._create_queue) >= 24:
                break
            time.sleep(0.005)
        return real(lookups)  # type: ignore[return-value]

    keys._create_now = slow_first_write  # type: ignore[method-assign, assignment]
    other = Store.open(workspace.settings.resolved_database_url, upgrade=False)
    start = threading.Barrier(24)
    got: dict[int, tuple[str, str, bool]] = {}

    def first_use(i: int) -> None:
        person = f"new-{i % 12}"
        start.wait()
        token = keys.token(person)
        with other.read() as conn:  # committed before the call returned
            stored = conn.execute(
                text("SELECT token FROM subject_keys WHERE lookup = :l"),
                {"l": pseudonyms.pseudonym(person)},
            ).scalar()
        got[i] = (person, token, stored == token)

    threads = [threading.Thread(target=first_use, args=(i,)) for i in range(24)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        other.close()
    assert len(got) == 24 and all(committed for _, _, committed in got.values())
    by_person: dict[str, set[str]] = {}
    for person, token, _ in got.values():
        by_person.setdefault(person, set()).add(token)
    assert len(by_person) == 12 and all(len(t) == 1 for t in by_person.values())
    assert len({next(iter(t)) for t in by_person.values()}) == 12  # a key per person
    # grouped: the first write, then one for everyone who queued behind it
    assert keys.creates == 2
    # a failed write fails every waiter of that write, and the next write works again

    def broken(lookups: list[str]) -> dict[str, object]:
        raise RuntimeError("disk full")

    keys._create_now = broken  # type: ignore[method-assign, assignment]
    with pytest.raises(RuntimeError, match="disk full"):
        keys.token("unlucky")
    keys._create_now = real  # type: ignore[method-assign]
    assert keys.token("unlucky").startswith("s_")
