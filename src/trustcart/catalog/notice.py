"""Layered privacy notice generated from the data map and the rule pack.

Why generated and versioned by content: consent is only valid for the notice a person actually
saw, so the consent ledger records a notice version. Deriving the text from the map keeps it true
to the processing; hashing the full text makes the version change exactly when the content
changes (same map and rules → same version, whatever machine renders it).

Layers: ``summary`` is the short first layer (who, what, why, who receives it, rights, contact);
``sections`` the detailed layer, one per purpose and one per topic. Rights and deadlines come
from ``rules.resolve(code)`` for each served jurisdiction, with their citations.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from trustcart.catalog._describe import Describer
from trustcart.catalog._render import jinja_env
from trustcart.catalog._rules import ensure_rules
from trustcart.catalog.countries import country_name
from trustcart.catalog.primitives import LegalBasis, describe_duration
from trustcart.errors import ValidationError

if TYPE_CHECKING:
    from trustcart.catalog.model import DataMap, Organization, Purpose
    from trustcart.rules import Jurisdiction, Rules

#: Plain-language names of the rule pack's right kinds (wording, not law: citations come from the
#: rule pack). An unknown kind is shown as its name.
RIGHT_LABELS: dict[str, str] = {
    "access": "access the personal data we hold about you",
    "rectification": "have inaccurate data corrected",
    "erasure": "have your data deleted",
    "restriction": "restrict how we use your data",
    "portability": "receive your data in a portable format",
    "objection": "object to processing",
    "automated_decision": "not be subject to decisions based solely on automated processing",
    "explanation": "meaningful information about the logic of automated decisions",
    "opt_out_sale_sharing": "opt out of the sale or sharing of your personal information",
    "opt_out_targeted_ads": "opt out of targeted advertising",
    "opt_out_profiling": "opt out of profiling",
    "limit_sensitive": "limit the use of your sensitive personal information",
    "non_discrimination": "not be discriminated against for exercising your rights",
    "withdraw_consent": "withdraw your consent at any time",
    "confirmation": "confirmation that we process your data",
    "info_sharing": "know with whom we share your data",
    "info_consent_refusal": "know whether you may refuse consent and what follows",
    "deindexing": "have links to your data de-indexed",
    "admt_opt_out": "opt out of automated decision-making technology",
    "admt_access": "access information about automated decision-making technology",
}


@dataclass(frozen=True)
class NoticeSection:
    """One part of the detailed layer."""

    key: str
    title: str
    paragraphs: tuple[str, ...] = ()
    items: tuple[str, ...] = ()

    def markdown(self) -> str:
        """The section as Markdown (``##`` heading)."""
        lines = [f"## {self.title}", ""]
        for p in self.paragraphs:
            lines += [p, ""]
        if self.items:
            lines += [f"- {item}" for item in self.items] + [""]
        return "\n".join(lines)


@dataclass(frozen=True)
class Notice:
    """A rendered privacy notice with a content-hash version."""

    organization: str
    jurisdictions: tuple[str, ...]
    summary: str
    sections: tuple[NoticeSection, ...]
    language: str = "en"
    version: str = field(default="", init=False)

    def __post_init__(self) -> None:
        digest = hashlib.sha256(self.content().encode("utf-8")).hexdigest()
        object.__setattr__(self, "version", digest)

    @property
    def display_id(self) -> str:
        """First 16 hex characters of :attr:`version`, for people."""
        return self.version[:16]

    def content(self) -> str:
        """The full text that the version hashes (Markdown without the version line)."""
        parts = [
            f"# Privacy notice — {self.organization}",
            "",
            f"Language: {self.language}. Jurisdictions: {', '.join(self.jurisdictions)}.",
            "",
            "## In short",
            "",
            self.summary,
            "",
        ]
        parts += [s.markdown() for s in self.sections]
        return "\n".join(parts).rstrip() + "\n"

    def markdown(self) -> str:
        """The notice as Markdown, with its version."""
        title, _, rest = self.content().partition("\n")
        return f"{title}\n\n_Version {self.display_id} (sha256 {self.version})_\n{rest}"

    def html(self) -> str:
        """The notice as a standalone HTML page (Jinja2, autoescaped)."""
        return jinja_env().get_template("notice.html.j2").render(notice=self)

    def section(self, key: str) -> NoticeSection:
        """The section with ``key`` (KeyError if absent)."""
        for s in self.sections:
            if s.key == key:
                return s
        raise KeyError(key)


def render_notice(
    dm: DataMap,
    rules: Rules | None = None,
    jurisdiction: str | None = None,
    *,
    on: date | None = None,
) -> Notice:
    """Build the notice for every served jurisdiction, or for ``jurisdiction`` only.

    ``on`` (default: today, UTC) only decides which rights are marked "applies from …" because
    their provision is not yet in force.
    """
    if dm.organization is None:
        raise ValidationError(
            "the data map has no organization: a notice needs the controller",
            details=[{"path": "organization", "message": "missing", "allowed": []}],
        )
    org = dm.organization
    rules = ensure_rules(rules)
    today = on or datetime.now(UTC).date()
    codes = [jurisdiction] if jurisdiction else list(org.jurisdictions)
    resolved = [(code, rules.resolve(code)) for code in codes]
    d = Describer(dm, rules)
    sections: list[NoticeSection] = [_who(org)]
    sections += [_purpose(p, d, codes) for p in dm.purposes]
    sections += [_recipients(dm, d), _transfers(dm, d)]
    adm = _automated(dm, resolved)
    if adm is not None:
        sections.append(adm)
    sections += [_rights(code, j, today) for code, j in resolved]
    sections += [_consent(dm, org, codes, resolved), _contact(org), _complaint(resolved)]
    return Notice(
        organization=org.name,
        jurisdictions=tuple(codes),
        summary=_summary(dm, org, d, resolved),
        sections=tuple(sections),
    )


# --- short layer --------------------------------------------------------------------------------


def _summary(
    dm: DataMap, org: Organization, d: Describer, resolved: list[tuple[str, Jurisdiction]]
) -> str:
    groups: dict[str, None] = {}
    for p in dm.purposes:
        for key in d.categories(p):
            chain = d.taxonomy.ancestors("data_category", key)
            group = chain[-2] if len(chain) >= 2 else chain[-1]
            groups[d.category_name(group).lower()] = None
    why = [p.name[0].lower() + p.name[1:] for p in dm.purposes]
    sharers = [r.name for r in dm.recipients] + [
        s.vendor.name for s in dm.systems if s.vendor is not None
    ]
    rights: dict[str, None] = {}
    for _code, j in resolved:
        for right in j.rights:
            rights[RIGHT_LABELS.get(str(right.kind), str(right.kind))] = None
    country = country_name(org.establishment_country)
    sentences = [
        f"{org.controller.name} ({country}) is responsible for your personal data.",
        f"We collect {_join(list(groups)) or 'no personal data'}",
        f"for {_join(why)}." if why else ".",
    ]
    first = f"{sentences[0]} {sentences[1]} {sentences[2]}".replace(" .", ".")
    parts = [first]
    if sharers:
        shared = f"We share data with {_join(list(dict.fromkeys(sharers)))}"
        if any(t.third_country for t in dm.transfers()):
            shared += ", some of them outside the European Economic Area"
        parts.append(shared + ".")
    if rights:
        parts.append(
            f"You have the right to {_join(list(rights)[:6])}, and more, as set out below."
        )
    contact = f"Contact us at {org.controller.email}"
    if org.dpo is not None:
        contact += f" or our data protection officer at {org.dpo.email}"
    parts.append(contact + ".")
    return " ".join(parts)


def _join(words: list[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


# --- detailed layer -----------------------------------------------------------------------------


def _who(org: Organization) -> NoticeSection:
    c = org.controller
    items = [f"Controller: {c.name}, {c.address}, {c.email}"]
    if org.dpo is not None:
        items.append(f"Data protection officer: {org.dpo.name}, {org.dpo.email}")
    if org.eu_representative is not None:
        r = org.eu_representative
        items.append(f"Representative in the EU: {r.name}, {r.address}, {r.email}")
    return NoticeSection("who", "Who we are", items=tuple(items))


def _purpose(p: Purpose, d: Describer, codes: list[str]) -> NoticeSection:
    categories = [
        d.category_name(k) + (" (sensitive)" if d.category(k).level == "sensitive" else "")
        for k in d.categories(p)
    ]
    bases = [
        f"{code}: {p.legal_basis[code].label}" if code in p.legal_basis else f"{code}: not stated"
        for code in codes
    ]
    items = [
        f"What we use: {', '.join(categories) or 'no personal data'}",
        f"Legal basis: {'; '.join(bases)}",
        f"How long we keep it: {describe_duration(p.retention)}",
    ]
    recipients = d.recipients(p)
    if recipients:
        items.append(f"Shared with: {'; '.join(recipients)}")
    if p.automated_decision_making.enabled:
        items.append("Involves automated decision-making (see below)")
    return NoticeSection(
        f"purpose:{p.key}", p.name, paragraphs=(p.description,), items=tuple(items)
    )


def _recipients(dm: DataMap, d: Describer) -> NoticeSection:
    items: dict[str, None] = {}
    for p in dm.purposes:
        items.update(dict.fromkeys(d.recipients(p)))
    paragraphs = (
        ("We share personal data only with the following recipients:",)
        if items
        else ("We do not share personal data with anyone outside our own systems.",)
    )
    return NoticeSection("recipients", "Who receives your data", paragraphs, tuple(items))


def _transfers(dm: DataMap, d: Describer) -> NoticeSection:
    items: dict[str, None] = {}
    for p in dm.purposes:
        items.update(dict.fromkeys(d.transfer_label(t) for t in d.transfers(p)))
    paragraphs = (
        (
            "Some recipients are outside the European Economic Area. These transfers and the "
            "safeguards that protect them are:",
        )
        if items
        else ("We do not transfer personal data outside the European Economic Area.",)
    )
    return NoticeSection("transfers", "International transfers", paragraphs, tuple(items))


def _automated(dm: DataMap, resolved: list[tuple[str, Jurisdiction]]) -> NoticeSection | None:
    flagged = [p for p in dm.purposes if p.automated_decision_making.enabled]
    if not flagged:
        return None
    items = []
    for p in flagged:
        adm = p.automated_decision_making
        text = f"{p.name}: {adm.logic}"
        if adm.significance:
            text += f" What this means for you: {adm.significance}"
        items.append(text)
    cites = [
        f"{code}: {right.citation}"
        for code, j in resolved
        for right in j.rights
        if str(right.kind) in ("automated_decision", "explanation", "admt_access", "admt_opt_out")
    ]
    paragraphs = [
        "Some purposes involve decisions made by automated means. The logic involved and what "
        "it means for you are listed below."
    ]
    if cites:
        paragraphs.append(
            "Where the law gives you these rights, you can ask how a decision was reached, ask for "
            f"a person to review it, express your view and contest it ({'; '.join(cites)})."
        )
    return NoticeSection(
        "automated_decisions", "Automated decision-making", tuple(paragraphs), tuple(items)
    )


def _rights(code: str, j: Jurisdiction, today: date) -> NoticeSection:
    items = []
    for right in j.rights:
        text = f"Right to {RIGHT_LABELS.get(str(right.kind), str(right.kind))} ({right.citation})"
        if right.effective_from > today:
            text += f", applies from {right.effective_from.isoformat()}"
        if right.confidence == "unconfirmed":
            text += " [citation unconfirmed]"
        items.append(text)
    deadline = j.deadline
    answer = f"We answer within {deadline.response}"
    if deadline.extension is not None:
        answer += f", extendable by {deadline.extension} where necessary (we will tell you why)"
    answer += f" ({deadline.citation})."
    title = f"Your rights — {j.name} ({j.regime})"
    paragraphs = (f"For people in {j.name}, {j.law} gives these rights:", answer)
    return NoticeSection(f"rights:{code}", title, paragraphs, tuple(items))


def _consent(
    dm: DataMap, org: Organization, codes: list[str], resolved: list[tuple[str, Jurisdiction]]
) -> NoticeSection:
    where = org.preference_center_url or org.controller.email
    consent = [
        p.name
        for p in dm.purposes
        if any(p.legal_basis.get(c) is LegalBasis.CONSENT for c in codes)
    ]
    opt_out = [
        p.name
        for p in dm.purposes
        if any(p.legal_basis.get(c) is LegalBasis.NOTICE_OPT_OUT for c in codes)
    ]
    paragraphs: list[str] = []
    if consent:
        cites = [
            f"{code}: {r.citation}"
            for code, j in resolved
            for r in j.rights
            if str(r.kind) == "withdraw_consent"
        ]
        cite = f" ({'; '.join(cites)})" if cites else ""
        paragraphs.append(
            f"Where we rely on your consent ({', '.join(consent)}), you can withdraw it at any "
            f"time, as easily as you gave it, at {where}{cite}. Withdrawing does not affect "
            "processing that took place before."
        )
    if opt_out:
        paragraphs.append(
            f"Where you have a right to opt out ({', '.join(opt_out)}), you can do so at {where}; "
            "we also honour the Global Privacy Control signal of your browser where the law "
            "requires it."
        )
    if not paragraphs:
        paragraphs.append("None of our purposes relies on your consent.")
    return NoticeSection("consent", "Withdrawing consent and opting out", tuple(paragraphs))


def _contact(org: Organization) -> NoticeSection:
    items = [f"Privacy team: {org.controller.email}"]
    if org.dpo is not None:
        items.append(f"Data protection officer: {org.dpo.name}, {org.dpo.email}")
    if org.preference_center_url:
        items.append(f"Privacy preferences: {org.preference_center_url}")
    return NoticeSection(
        "contact",
        "How to contact us",
        ("To exercise your rights or ask a question, contact:",),
        tuple(items),
    )


def _complaint(resolved: list[tuple[str, Jurisdiction]]) -> NoticeSection:
    names = "; ".join(j.name for _c, j in resolved)
    return NoticeSection(
        "complaint",
        "Complaints",
        (
            "If you think we handle your data unlawfully, you can complain to a data protection "
            f"supervisory authority or regulator ({names}), for example the one where you live, "
            "where you work or where the problem happened. We would appreciate the chance to "
            "address your concern first.",
        ),
    )
