"""Documents generated from the data map: RoPA, privacy notice, data-flow graph."""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

from trustcart.catalog import DataMap, load_manifest, render_graph, render_notice, render_ropa
from trustcart.errors import ValidationError
from trustcart.rules import Rules, load_rules

SHOP = Path(__file__).resolve().parents[1] / "examples" / "shop.yaml"
ON = date(2026, 11, 25)


@pytest.fixture(scope="module")
def rules() -> Rules:
    return load_rules()


@pytest.fixture(scope="module")
def shop() -> DataMap:
    return load_manifest(SHOP)


def _variant(shop: DataMap, **changes: object) -> DataMap:
    data = yaml.safe_load(yaml.safe_dump(shop.model_dump(mode="json", by_alias=True)))
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        target = data
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        target[last] = value
    return DataMap.model_validate(data).check()


# --- RoPA ----------------------------------------------------------------------------------


def test_ropa_csv_has_one_row_per_purpose(shop: DataMap, rules: Rules) -> None:
    rows = list(csv.DictReader(io.StringIO(render_ropa(shop, rules, "csv"))))
    assert [r["Activity"] for r in rows] == [p.key for p in shop.purposes]
    header = list(rows[0])
    for letter in "abcdefg":
        assert any(h.startswith(f"({letter})") for h in header), letter
    email = next(r for r in rows if r["Activity"] == "email_marketing")
    transfers = email["(e) Transfers to third countries and safeguards"]
    assert "MailPilot Inc." in transfers and "United States" in transfers
    assert "safeguard: not recorded" in transfers
    assert "EU: consent" in email["Legal basis per jurisdiction"]
    assert "2 years" in email["(f) Time limits for erasure"]
    assert "TLS in transit" in email["(g) Technical and organisational security measures"]
    assert "Dr. Lena Hoffmann" in email["(a) Name and contact details of the controller and DPO"]
    analytics = next(r for r in rows if r["Activity"] == "analytics")
    assert (
        "Standard Contractual Clauses"
        in analytics["(e) Transfers to third countries and safeguards"]
    )
    fulfil = next(r for r in rows if r["Activity"] == "order_fulfilment")
    recipients = fulfil["(d) Categories of recipients"]
    for name in ("PayBridge B.V.", "ParcelPost Deutschland GmbH", "Finanzamt Berlin"):
        assert name in recipients
    assert fulfil["(e) Transfers to third countries and safeguards"] == "none"
    # human names of fideslang categories, anonymous ones left out
    assert "User Contact Postal Code" in fulfil["(c) Categories of personal data"]
    assert "Operations Data" not in fulfil["(c) Categories of personal data"]


def test_ropa_markdown_has_every_purpose_and_letters(shop: DataMap, rules: Rules) -> None:
    md = render_ropa(shop, rules, "markdown")
    for p in shop.purposes:
        assert f"{p.name} (`{p.key}`)" in md
    for letter in "abcdefg":
        assert f"| ({letter}) " in md
    assert md.count("safeguard: not recorded") >= 1


def test_ropa_marks_sensitive_categories_with_citation(shop: DataMap, rules: Rules) -> None:
    fields = shop.datasets[0].model_dump(mode="json")["fields"]
    fields.append({"name": "ethnicity", "data_categories": ["user.demographic.race_ethnicity"]})
    dm = _variant(shop, datasets__0__fields=fields)
    md = render_ropa(dm, rules, "markdown")
    assert re.search(r"Race \[sensitive — [^]]*EU: GDPR Art\. 9\(1\)", md)


def test_ropa_html_is_escaped_and_complete(shop: DataMap, rules: Rules) -> None:
    dm = _variant(shop, purposes__0__description="Orders <script>alert(1)</script> & returns")
    html = render_ropa(dm, rules, "html")
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html
    for p in dm.purposes:
        assert f'id="activity-{p.key}"' in html
    assert "(g)</span>" in html
    HTMLParser().feed(html)


def test_ropa_requires_organization(rules: Rules) -> None:
    with pytest.raises(ValidationError, match="no organization"):
        render_ropa(DataMap(), rules, "csv")


def test_ropa_unknown_format(shop: DataMap, rules: Rules) -> None:
    with pytest.raises(ValidationError, match="unknown RoPA format"):
        render_ropa(shop, rules, "pdf")  # type: ignore[arg-type]


# --- notice --------------------------------------------------------------------------------


def test_notice_version_is_stable(shop: DataMap, rules: Rules) -> None:
    a = render_notice(shop, rules, on=ON)
    b = render_notice(load_manifest(SHOP), rules, on=ON)
    assert a.version == b.version
    assert re.fullmatch(r"[0-9a-f]{64}", a.version)
    assert a.display_id == a.version[:16]
    assert a.language == "en"


def test_notice_version_changes_with_content(shop: DataMap, rules: Rules) -> None:
    before = render_notice(shop, rules, on=ON)
    changed = _variant(shop, purposes__2__description="Recommending products you may like.")
    after = render_notice(changed, rules, on=ON)
    assert after.version != before.version
    assert "Recommending products you may like." in after.markdown()


def test_notice_lists_rights_of_each_served_jurisdiction(shop: DataMap, rules: Rules) -> None:
    notice = render_notice(shop, rules, on=ON)
    text = notice.markdown()
    for code in ("EU", "US-CA", "BR"):
        jurisdiction = rules.resolve(code)
        section = notice.section(f"rights:{code}")
        assert len(section.items) == len(jurisdiction.rights)
        for right in jurisdiction.rights:
            assert right.citation in text
        assert str(jurisdiction.deadline.response) in " ".join(section.paragraphs)
        assert jurisdiction.deadline.citation in " ".join(section.paragraphs)


def test_notice_for_one_jurisdiction(shop: DataMap, rules: Rules) -> None:
    notice = render_notice(shop, rules, "US-CA", on=ON)
    keys = [s.key for s in notice.sections]
    assert "rights:US-CA" in keys and "rights:EU" not in keys
    assert notice.version != render_notice(shop, rules, on=ON).version
    assert "notice at collection" in notice.section("purpose:personalization").items[1]


def test_notice_layers_and_content(shop: DataMap, rules: Rules) -> None:
    notice = render_notice(shop, rules, on=ON)
    summary = notice.summary
    assert summary.startswith("StyleSense GmbH (Germany) is responsible")
    assert "privacy@stylesense.example" in summary and "dpo@stylesense.example" in summary
    assert "MailPilot Inc." in summary
    for p in shop.purposes:
        section = notice.section(f"purpose:{p.key}")
        assert section.paragraphs == (p.description,)
        assert any(i.startswith("Legal basis:") for i in section.items)
        assert any(i.startswith("How long we keep it:") for i in section.items)
    adm = notice.section("automated_decisions")
    assert any(i.startswith("Fraud detection: A scoring model") for i in adm.items)
    assert any(i.startswith("Dynamic pricing:") for i in adm.items)
    assert "GDPR Art. 22" in " ".join(adm.paragraphs)
    transfers = " ".join(notice.section("transfers").items)
    assert "United States" in transfers
    consent = " ".join(notice.section("consent").paragraphs)
    assert "withdraw" in consent and "https://stylesense.example/privacy/preferences" in consent
    assert notice.section("complaint").paragraphs
    assert "Dr. Lena Hoffmann" in " ".join(notice.section("contact").items)


def test_notice_without_automated_decisions_has_no_such_section(
    shop: DataMap, rules: Rules
) -> None:
    dm = _variant(
        shop,
        purposes__1__automated_decision_making={"enabled": False},
        purposes__5__automated_decision_making={"enabled": False},
    )
    notice = render_notice(dm, rules, on=ON)
    assert "automated_decisions" not in [s.key for s in notice.sections]


def test_notice_html_carries_version_and_escapes(shop: DataMap, rules: Rules) -> None:
    dm = _variant(shop, purposes__0__name="Orders & <b>returns</b>")
    notice = render_notice(dm, rules, on=ON)
    html = notice.html()
    assert f'content="{notice.version}"' in html
    assert "&lt;b&gt;returns&lt;/b&gt;" in html and "<b>returns</b>" not in html
    assert notice.summary.split(".")[0] in html
    HTMLParser().feed(html)


def test_future_rights_are_marked(shop: DataMap, rules: Rules) -> None:
    items = render_notice(shop, rules, "US-CA", on=ON).section("rights:US-CA").items
    future = [r for r in rules.resolve("US-CA").rights if r.effective_from > ON]
    for right in future:
        assert any(right.citation in i and "applies from" in i for i in items)


# --- graph ---------------------------------------------------------------------------------


def test_mermaid_contains_every_system_and_flow(shop: DataMap) -> None:
    text = render_graph(shop, "mermaid")
    assert isinstance(text, str)
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    for system in shop.systems:
        assert f"sys_{system.key}" in text
        assert system.name in text
    for recipient in shop.recipients:
        assert f"rec_{recipient.key}" in text
    edges = [line for line in lines if "-->" in line or "-.->" in line]
    assert len(edges) == len(shop.flows)
    transfer = [e for e in edges if "sys_crm" in e and "sys_esp" in e]
    assert transfer and "-.->" in transfer[0] and "third-country transfer to US" in transfer[0]
    # node ids are safe identifiers; every label is quoted
    for line in lines[1:]:
        match = re.match(r"\s+([A-Za-z0-9_]+)[\[\(]", line)
        if match:
            assert re.fullmatch(r"[A-Za-z0-9_]+", match.group(1))
    for edge in edges:
        assert re.search(r'\|"[^"]*"\|', edge)
    assert "linkStyle" in text


def test_mermaid_escapes_quotes_and_odd_keys(shop: DataMap) -> None:
    systems = shop.model_dump(mode="json", by_alias=True)["systems"]
    systems[0]["name"] = 'The "big" shop'
    dm = _variant(shop, systems=systems)
    text = render_graph(dm, "mermaid")
    assert '"The #quot;big#quot; shop' in text


def test_svg_is_xml(shop: DataMap) -> None:
    svg = render_graph(shop, "svg")
    assert isinstance(svg, str)
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg")
    assert render_graph(shop, "svg") == svg  # deterministic


def test_png_magic(shop: DataMap) -> None:
    png = render_graph(shop, "png")
    assert isinstance(png, bytes)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(png) > 10_000
