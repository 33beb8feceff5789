"""Contest and human review (library): contest -> queue -> override -> the shopper is told; every
step in the ``human_review`` chain; tampering detected; overturn rates against a plain count."""

# ruff: noqa: E402  (helpers are imported after register_assert_rewrite, as pytest requires)
from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

pytest.register_assert_rewrite("_gateway_fixtures")
from sqlalchemy import text, update

from _gateway_fixtures import choose
from trustcart.consent import ConsentService
from trustcart.errors import (
    AuthenticationError,
    Conflict,
    NotFound,
    SubjectErased,
    ValidationError,
)
from trustcart.evidence import verify_evidence
from trustcart.gateway import Gateway, PriceGuardrails
from trustcart.models import LightGBMPricing, LogisticOffer
from trustcart.review import (
    REVIEW_LOG,
    CaseStatus,
    ContestIn,
    ReviewDesk,
    make_review_token,
    overturn_rates,
    read_review_token,
    review_frame,
    verify_review,
)
from trustcart.rules import add_months, load_rules
from trustcart.store.tables import ReviewCaseRow, table_of
from trustcart.workspace import Workspace

pytest_plugins = ["_gateway_fixtures"]

CTX = {"loyalty_tier": 2, "basket_size": 4, "stock_level": 0.5}


@pytest.fixture
def gw(
    workspace: Workspace,
    consent: ConsentService,
    pricing_model: LightGBMPricing,
    offer_model: LogisticOffer,
) -> Iterator[Gateway]:
    rails = PriceGuardrails(group_key="customer_group")
    g = Gateway(workspace, consent=consent, price_guardrails=rails, max_staleness=0)
    g.register("price", pricing_model)
    g.register("offer", offer_model)
    try:
        yield g
    finally:
        g.close()


@pytest.fixture
def desk(workspace: Workspace, gw: Gateway) -> ReviewDesk:
    return ReviewDesk(workspace, gateway=gw)


def _price(gw: Gateway, consent: ConsentService, subject: str, group: str = "a", j: str = "EU"):
    choose(consent, subject, ["dynamic_pricing"], "granted", jurisdiction=j)
    return gw.decide(
        "price", subject, {**CTX, "customer_group": group}, None, j, list_price="49.90"
    )


def test_contest_override_notify_all_logged(
    desk: ReviewDesk, gw: Gateway, consent: ConsentService, workspace: Workspace
) -> None:
    d = _price(gw, consent, "c-1", "students")
    case = desk.contest(d.id, ContestIn(statement="My friend paid less", contact="a@b.example"))
    assert case.status is CaseStatus.OPEN and case.statutory and case.citation == "GDPR Art. 22(3)"
    assert case.group == "students" and case.has_statement
    # GDPR Art. 12(3): one month from receipt
    assert case.due_on == add_months(case.created_at.date(), 1)
    # the statement and contact are sealed in the table and the log, never in clear
    with workspace.store.read() as conn:
        raw = conn.execute(text("SELECT statement, contact FROM review_cases")).one()
    assert raw.statement.startswith("v1.") and "friend" not in raw.statement
    assert all("friend" not in str(e.payload) for e in workspace.store.log(REVIEW_LOG))
    assert [c.id for c in desk.cases(open_only=True)] == [case.id]
    desk.assign(case.id, "r.moreau")
    done = desk.decide(
        case.id,
        "override",
        "The price was above the band for returning customers.",
        reviewer="r.moreau",
        changes={"price": "44.90"},
        page_url="http://shop.example/privacy/review",
    )
    assert done.status is CaseStatus.OVERRIDDEN and done.changes == {"price": "44.90"}
    assert done.notified_at is not None and desk.cases(open_only=True) == []
    steps = [s["step"] for s in desk.steps(case.id)]
    assert steps == ["contested", "assigned", "overridden", "notified"]
    (msg,) = desk.outbox.messages(case.id)
    assert msg.recipient == "a@b.example" and "44.90" in msg.body and "above the band" in msg.body
    token = msg.body.split("?token=")[1].split(" ")[0]
    assert desk.decision_of(token) == d.id
    detail = desk.detail(case.id)
    assert detail.statement == "My friend paid less" and detail.reasons.startswith("The price")
    assert detail.decision["inputs"]["loyalty_tier"] == 2
    assert detail.explanation and detail.explanation["method"] == "tree-shap"
    assert detail.policy["model_version"] == d.model_version
    assert "44.90" in (detail.new_outcome_text or "")
    # the chain and the case table both verify, through the evidence check the CLI uses
    checks = {c.name: c for c in verify_evidence(workspace.store)}
    assert checks[REVIEW_LOG].ok and checks[REVIEW_LOG].checked == 4
    assert checks[f"{REVIEW_LOG} (table vs log)"].ok
    # the contested entry binds the case to the decision's log entry
    first = next(iter(workspace.store.log(REVIEW_LOG))).payload
    assert (
        first["decision_hash"] == workspace.store.log("decisions").get(first["decision_seq"]).hash
    )


def test_errors_are_clear(desk: ReviewDesk, gw: Gateway, consent: ConsentService) -> None:
    with pytest.raises(NotFound, match="no decision"):
        desk.contest("nope")
    d = _price(gw, consent, "c-2")
    case = desk.contest(d.id)
    with pytest.raises(Conflict, match=case.id):
        desk.contest(d.id)
    with pytest.raises(ValidationError, match="reasons"):
        desk.decide(case.id, "uphold", "  ", reviewer="r")
    with pytest.raises(ValidationError, match="corrected outcome"):
        desk.decide(case.id, "override", "x", reviewer="r")
    with pytest.raises(ValidationError, match="unknown output field"):
        desk.decide(case.id, "override", "x", reviewer="r", changes={"colour": "red"})
    with pytest.raises(ValidationError, match="positive"):
        desk.decide(case.id, "override", "x", reviewer="r", changes={"price": "-1"})
    with pytest.raises(ValidationError, match="equals the original"):
        desk.decide(case.id, "override", "x", reviewer="r", changes={"price": d.output["price"]})
    desk.decide(case.id, "uphold", "Checked: the price follows the policy.", reviewer="r")
    with pytest.raises(Conflict, match="already resolved"):
        desk.decide(case.id, "override", "x", reviewer="r2", changes={"price": "1.00"})
    with pytest.raises(Conflict):
        desk.assign(case.id, "r2")
    with pytest.raises(NotFound):
        desk.get("rv_nothing")
    (msg,) = desk.outbox.messages(case.id)
    assert msg.recipient == f"decision:{d.id}" and "stands" in msg.body


def test_tokens(desk: ReviewDesk, workspace: Workspace) -> None:
    key = workspace.settings.pseudonym_key()
    token, _ = make_review_token(key, "dec_1", ttl=60, now=1_000)
    assert read_review_token(key, token, now=1_030) == "dec_1"
    with pytest.raises(AuthenticationError, match="expired"):
        read_review_token(key, token, now=1_061)
    with pytest.raises(AuthenticationError, match="invalid"):
        read_review_token(key, token[:-2] + "xx", now=1_000)
    with pytest.raises(AuthenticationError, match="invalid"):
        read_review_token(b"another key of 32 characters...", token, now=1_000)
    with pytest.raises(AuthenticationError, match="no token"):
        read_review_token(key, "")
    # a preference-center token (which names a person) is not a review token
    from trustcart.consent.tokens import make_subject_token
    from trustcart.privacy import Pseudonymizer

    pref = make_subject_token(Pseudonymizer(key), key, "c-1")
    with pytest.raises(AuthenticationError):
        read_review_token(key, pref)


def test_tampering_is_detected(
    desk: ReviewDesk, gw: Gateway, consent: ConsentService, workspace: Workspace
) -> None:
    d = _price(gw, consent, "c-3")
    case = desk.contest(d.id, ContestIn(statement="unfair"))
    desk.decide(case.id, "override", "Too high", reviewer="r", changes={"price": "40.00"})
    chain, table = verify_review(workspace.store)
    assert chain.ok and table.ok
    cases = table_of(ReviewCaseRow)
    # flip the outcome in the table: the chain is intact, the replay is not
    with workspace.store.write() as conn:
        conn.execute(update(cases).values(status="upheld", outcome=None))
    chain, table = verify_review(workspace.store)
    assert chain.ok and not table.ok and "status" in (table.reason or "")
    with workspace.store.write() as conn:
        conn.execute(update(cases).values(status="overridden", outcome='{"price":"40.00"}'))
    assert verify_review(workspace.store)[1].ok
    # edit the evidence itself: the chain breaks at that entry
    with workspace.store.write() as conn:
        conn.execute(
            text(
                "UPDATE log_entries SET payload = replace(payload, '40.00', '49.90') "
                "WHERE log = :log AND seq = 2"
            ),
            {"log": REVIEW_LOG},
        )
    chain, _ = verify_review(workspace.store)
    assert not chain.ok and chain.first_bad == 2


def test_erased_person(desk: ReviewDesk, gw: Gateway, consent: ConsentService) -> None:
    d = _price(gw, consent, "c-4")
    case = desk.contest(d.id, ContestIn(statement="please check"))
    gw.shred_subject("c-4")
    detail = desk.detail(case.id)
    assert detail.erased and detail.statement is None
    d2 = _price(gw, consent, "c-5")
    gw.shred_subject("c-5")
    with pytest.raises(SubjectErased):
        desk.contest(d2.id)


def test_frames_come_from_the_rule_pack() -> None:
    rules = load_rules()
    day = date(2026, 3, 31)
    eu = review_frame(rules, rules.resolve("FR"), day)
    assert (
        eu.statutory
        and eu.due_on == date(2026, 4, 30)
        and eu.deadline_citation.startswith("GDPR Art. 12(3)")
    )
    br = review_frame(rules, rules.resolve("BR"), day)
    assert br.citation == "LGPD Art. 20" and br.due_on == day + timedelta(days=15)
    assert br.deadline_confidence == "unconfirmed"
    qc = review_frame(rules, rules.resolve("CA-QC"), day)
    assert qc.safeguards == ("inform", "point_of_view") and qc.due_on == day + timedelta(days=30)
    va = review_frame(rules, rules.resolve("US-VA"), day)
    assert not va.statutory and va.citation is None and "service target" in va.deadline_citation
    unknown = review_frame(rules, rules.resolve("ZZ"), day)
    assert unknown.statutory and unknown.confidence == "unconfirmed"
    # before the UK provision's date it is not statutory there
    assert not review_frame(rules, rules.resolve("UK"), date(2025, 1, 1)).statutory


def test_overturn_rates_match_an_independent_count(
    desk: ReviewDesk, gw: Gateway, consent: ConsentService
) -> None:
    plan = {"a": (12, 9), "b": (11, 2), "c": (3, 3)}  # group: (contested+resolved, overturned)
    truth: Counter[tuple[str, str]] = Counter()
    n = 0
    for group, (resolved, overturned) in plan.items():
        for i in range(resolved):
            n += 1
            d = _price(gw, consent, f"s-{n}", group)
            case = desk.contest(d.id)
            if i < overturned:
                desk.decide(case.id, "override", "wrong", reviewer="r", changes={"price": "10.00"})
                truth[(group, "over")] += 1
            else:
                desk.decide(case.id, "uphold", "fine", reviewer="r")
            truth[(group, "n")] += 1
    d = _price(gw, consent, "s-open", "b")
    desk.contest(d.id)  # contested, not resolved yet
    report = overturn_rates(desk.store, "group", min_group_size=10)
    rows = {g.group: g for g in report.groups}
    for group in ("a", "b"):
        assert rows[group].resolved == truth[(group, "n")]
        assert rows[group].overturned == truth[(group, "over")]
        assert rows[group].rate == pytest.approx(truth[(group, "over")] / truth[(group, "n")])
    assert rows["b"].contested == 12
    assert rows["c"].suppressed and rows["c"].to_dict() == {"group": "c", "suppressed": True}
    assert report.resolved == 26 and report.overturned == 14 and report.contested == 27
    # the flag follows a two-proportion test against the rest (statsmodels-style, Holm)
    from statsmodels.stats.proportion import proportions_ztest

    _, p_a = proportions_ztest([9, 5], [12, 14])
    assert rows["a"].p_value == pytest.approx(p_a)
    by_j = overturn_rates(desk.store, "jurisdiction", min_group_size=0)
    assert [(g.group, g.resolved) for g in by_j.groups] == [("EU", 26)]
    with pytest.raises(ValidationError):
        overturn_rates(desk.store, "colour")


def test_overdue(workspace: Workspace, gw: Gateway, consent: ConsentService) -> None:
    past = datetime(2024, 1, 10, 12, tzinfo=UTC)
    old = ReviewDesk(workspace, gateway=gw, clock=lambda: past)
    d = _price(gw, consent, "c-9")
    case = old.contest(d.id)
    assert case.due_on == date(2024, 2, 10)
    assert [c.id for c in old.overdue(date(2024, 2, 11))] == [case.id]
    assert old.overdue(date(2024, 2, 10)) == []


def test_cli_list_show_decide_stats(
    desk: ReviewDesk, gw: Gateway, consent: ConsentService, workspace: Workspace
) -> None:
    import json

    from typer.testing import CliRunner

    from trustcart.cli import app as cli
    from trustcart.governance import Role, access_entries, create_key

    d = _price(gw, consent, "c-cli", "g7")
    case = desk.contest(d.id, ContestIn(statement="Please look again"))
    runner = CliRunner()
    ws = ["--workspace", str(workspace.root)]
    r = runner.invoke(cli, [*ws, "review", "list", "--format", "json"])
    assert r.exit_code == 0, r.output
    assert [c["id"] for c in json.loads(r.stdout)] == [case.id]
    r = runner.invoke(cli, [*ws, "review", "show", case.id])
    assert r.exit_code == 2 and "--key" in r.output
    analyst = create_key(workspace.store, role=Role.ANALYST, name="a")[0]
    r = runner.invoke(cli, [*ws, "review", "show", case.id, "--key", analyst])
    assert r.exit_code == 2 and "review:read" in r.output
    key = create_key(workspace.store, role=Role.REVIEWER, name="rita")[0]
    r = runner.invoke(cli, [*ws, "review", "show", case.id, "--key", key, "--format", "json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["statement"] == "Please look again"
    assert next((a.route, a.channel) for a in access_entries(workspace.store)) == (
        "trustcart review show",
        "cli",
    )
    r = runner.invoke(
        cli, [*ws, "review", "extend", case.id, "--reason", "Need the history", "--key", key]
    )
    assert r.exit_code == 0, r.output
    assert f"now due {desk.get(case.id).due_on.isoformat()}" in r.stdout
    assert desk.get(case.id).due_on > case.due_on
    r = runner.invoke(cli, [*ws, "review", "extend", case.id, "--reason", "x", "--key", key])
    assert r.exit_code == 2 and "already extended" in r.output
    r = runner.invoke(
        cli,
        [*ws, "review", "decide", case.id, "--verdict", "override", "--reasons", "Too high",
         "--change", "price=30.00", "--key", key],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "overridden" in r.stdout and desk.get(case.id).changes == {"price": "30.00"}
    r = runner.invoke(
        cli,
        [*ws, "review", "decide", case.id, "--verdict", "uphold", "--reasons", "x", "--key", key],
    )
    assert r.exit_code == 2 and "already resolved" in r.output
    r = runner.invoke(cli, [*ws, "review", "stats", "--min-group-size", "1", "-f", "json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["groups"][0]["group"] == "g7"
    r = runner.invoke(cli, [*ws, "ledger", "verify", REVIEW_LOG])
    assert r.exit_code == 0 and "human_review (table vs log)" in r.stdout


def test_scan_reports_overdue_reviews(
    workspace: Workspace, gw: Gateway, consent: ConsentService
) -> None:
    from trustcart.compliance import scan

    past = datetime(2024, 1, 10, 12, tzinfo=UTC)
    old = ReviewDesk(workspace, gateway=gw, clock=lambda: past)
    eu = old.contest(_price(gw, consent, "c-10").id)
    va = old.contest(_price(gw, consent, "c-11", j="US-VA").id)
    done = old.contest(_price(gw, consent, "c-12").id)
    old.decide(done.id, "uphold", "fine", reviewer="r")
    found = {f.object: f for f in scan(workspace, areas=["review"]).findings}
    assert set(found) == {f"review_case:{eu.id}", f"review_case:{va.id}"}
    high = found[f"review_case:{eu.id}"]
    assert high.severity == "high" and "GDPR Art. 22(3)" in high.message
    assert "Art. 22(3)" in high.rule and found[f"review_case:{va.id}"].severity == "low"


def test_extension_follows_the_rule_pack_tells_the_shopper_and_is_replayed(
    workspace: Workspace, gw: Gateway, consent: ConsentService
) -> None:
    """GDPR Art. 12(3): two further months on top of the first, decided within the first;
    one extension only; a regime without extensions (LGPD Art. 19) refuses; the new due date
    is in the chain, so editing it in the table is caught."""
    received = datetime(2026, 1, 31, 9, tzinfo=UTC)
    now = [received]
    desk = ReviewDesk(workspace, gateway=gw, clock=lambda: now[0])
    d = _price(gw, consent, "c-ext")
    case = desk.contest(d.id, ContestIn(statement="why?", contact="ext@b.example"))
    assert case.due_on == date(2026, 2, 28)  # one calendar month, clamped to the month's end
    now[0] = datetime(2026, 2, 20, 9, tzinfo=UTC)
    with pytest.raises(ValidationError, match="needs a reason"):
        desk.extend(case.id, "  ", reviewer="r")
    longer = desk.extend(case.id, "We are checking the price history.", reviewer="r.moreau")
    # two months after the end of the first period, capped at three months from receipt
    assert longer.due_on == min(add_months(date(2026, 2, 28), 2), add_months(received.date(), 3))
    assert longer.due_on == date(2026, 4, 28) and longer.open
    (msg,) = desk.outbox.messages(case.id)
    assert msg.recipient == "ext@b.example" and "2026-04-28" in msg.body
    assert "checking the price history" in msg.body and "GDPR" in msg.body
    with pytest.raises(Conflict, match="already extended"):
        desk.extend(case.id, "again", reviewer="r")
    steps = desk.steps(case.id)
    assert [s["step"] for s in steps] == ["contested", "extended"]
    assert steps[1]["old_due_on"] == "2026-02-28" and steps[1]["reason"] == "(sealed)"
    assert all("price history" not in str(e.payload) for e in workspace.store.log(REVIEW_LOG))
    assert desk.overdue(date(2026, 3, 15)) == []  # no longer overdue after the first month
    chain, table = verify_review(workspace.store)
    assert chain.ok and table.ok
    with workspace.store.write() as conn:  # move the date back in the table only
        conn.execute(update(table_of(ReviewCaseRow)).values(due_on=date(2026, 2, 28)))
    chain, table = verify_review(workspace.store)
    assert chain.ok and not table.ok and "due_on" in (table.reason or "")
    with workspace.store.write() as conn:
        conn.execute(update(table_of(ReviewCaseRow)).values(due_on=date(2026, 4, 28)))
    desk.decide(case.id, "uphold", "The price was in the band.", reviewer="r.moreau")
    with pytest.raises(Conflict, match="already resolved"):
        desk.extend(case.id, "late", reviewer="r")
    # too late: the first period is over
    late = desk.contest(_price(gw, consent, "c-late").id)
    now[0] = datetime(2026, 6, 1, 9, tzinfo=UTC)
    with pytest.raises(Conflict, match="response period ended"):
        desk.extend(late.id, "busy", reviewer="r")
    # a regime without an extension: LGPD's 15 days
    br = desk.contest(_price(gw, consent, "c-br", j="BR").id)
    with pytest.raises(Conflict, match="allows no extension"):
        desk.extend(br.id, "busy", reviewer="r")


def test_four_eyes_a_verdict_is_final_only_once_a_second_reviewer_confirms(
    workspace: Workspace, gw: Gateway, consent: ConsentService
) -> None:
    desk = ReviewDesk(workspace, gateway=gw, four_eyes=True)
    assert ReviewDesk(workspace, gateway=gw).four_eyes is False  # the default setting
    d = _price(gw, consent, "c-4e")
    case = desk.contest(d.id, ContestIn(statement="too dear", contact="4e@b.example"))
    prop = desk.decide(case.id, "override", "Too high", reviewer="ana", changes={"price": "40.00"})
    assert prop.status is CaseStatus.PROPOSED and prop.open and prop.notified_at is None
    assert prop.reviewer == "ana" and prop.changes == {"price": "40.00"}
    assert desk.outbox.messages(case.id) == []  # nothing told before the second pair of eyes
    with pytest.raises(Conflict, match="awaiting a second reviewer"):
        desk.decide(case.id, "uphold", "It stands", reviewer="bob")
    with pytest.raises(Conflict, match="ana proposed this verdict"):
        desk.confirm(case.id, reviewer="ana")
    with pytest.raises(Conflict, match="already proposed"):
        desk.assign(case.id, "bob")
    with pytest.raises(ValidationError, match="why"):
        desk.send_back(case.id, " ", reviewer="bob")
    back = desk.send_back(case.id, "Check the band first", reviewer="bob")
    assert back.status is CaseStatus.IN_REVIEW and back.changes is None and back.reviewer is None
    assert verify_review(workspace.store)[1].ok  # the replay knows proposals and send-backs
    desk.decide(case.id, "override", "Above the band", reviewer="ana", changes={"price": "44.90"})
    done = desk.confirm(case.id, reviewer="bob")
    assert done.status is CaseStatus.OVERRIDDEN and not done.open
    assert done.changes == {"price": "44.90"} and done.reviewer == "ana" and done.notified_at
    (msg,) = desk.outbox.messages(case.id)
    assert "44.90" in msg.body and "Above the band" in msg.body and "40.00" not in msg.body
    steps = desk.steps(case.id)
    assert [s["step"] for s in steps] == [
        "contested", "proposed", "sent_back", "proposed", "overridden", "notified",
    ]  # fmt: skip
    assert steps[4]["reviewer"] == "ana" and steps[4]["confirmed_by"] == "bob"
    assert steps[2]["reason"] == "(sealed)" and steps[1]["reasons"] == "(sealed)"
    with pytest.raises(Conflict, match="no proposed verdict"):
        desk.confirm(case.id, reviewer="carl")
    chain, table = verify_review(workspace.store)
    assert chain.ok and table.ok
    # an upheld proposal, confirmed, is upheld; a table edited back to "proposed" is caught
    other = desk.contest(_price(gw, consent, "c-4f").id)
    desk.decide(other.id, "uphold", "The price was in the band.", reviewer="ana")
    assert desk.confirm(other.id, reviewer="bob").status is CaseStatus.UPHELD
    with workspace.store.write() as conn:
        conn.execute(
            update(table_of(ReviewCaseRow))
            .where(table_of(ReviewCaseRow).c.id == other.id)
            .values(status="proposed")
        )
    chain, table = verify_review(workspace.store)
    assert chain.ok and not table.ok and "status" in (table.reason or "")


def test_four_eyes_is_a_workspace_setting(tmp_path: Path) -> None:
    from trustcart.config import init_workspace

    root = init_workspace(tmp_path / "ws")
    toml = root / "trustcart.toml"
    toml.write_text(
        toml.read_text().replace("[trustcart]\n", "[trustcart]\nreview_four_eyes = true\n")
    )
    with Workspace.open(root) as ws:
        assert ws.settings.review_four_eyes is True
        assert ReviewDesk(ws).four_eyes is True


def test_cli_four_eyes_confirm_and_send_back(
    workspace: Workspace, gw: Gateway, consent: ConsentService
) -> None:
    from typer.testing import CliRunner

    from trustcart.cli import app as cli
    from trustcart.governance import Role, create_key

    toml = workspace.root / "trustcart.toml"
    toml.write_text(
        toml.read_text().replace("[trustcart]\n", "[trustcart]\nreview_four_eyes = true\n")
    )
    ana, bob = (create_key(workspace.store, role=Role.REVIEWER, name=n)[0] for n in ("ana", "bob"))
    case = ReviewDesk(workspace, gateway=gw).contest(_price(gw, consent, "c-cli4").id)
    runner = CliRunner()
    ws = ["--workspace", str(workspace.root)]
    decide = [*ws, "review", "decide", case.id, "--verdict", "uphold", "--reasons", "In band"]
    r = runner.invoke(cli, [*decide, "--key", ana])
    assert r.exit_code == 0 and "proposed" in r.stdout, r.output
    r = runner.invoke(cli, [*ws, "review", "confirm", case.id, "--key", ana])
    assert r.exit_code == 2 and "second reviewer" in r.output
    r = runner.invoke(cli, [*ws, "review", "send-back", case.id, "--reasons", "Why?", "--key", bob])
    assert r.exit_code == 0 and "in_review" in r.stdout, r.output
    assert runner.invoke(cli, [*decide, "--key", ana]).exit_code == 0
    r = runner.invoke(cli, [*ws, "review", "confirm", case.id, "--key", bob])
    assert r.exit_code == 0 and "upheld (confirmed)" in r.stdout, r.output
    steps = [s["step"] for s in ReviewDesk(workspace, gateway=gw).steps(case.id)]
    assert steps == ["contested", "proposed", "sent_back", "proposed", "upheld", "notified"]
