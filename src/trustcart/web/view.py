"""What the end-user pages show and record, built from the consent library.

Why a module apart from the routes: the preference center, the embed script's JSON endpoints and
the no-JavaScript form all need the same three things — which purposes a person can switch in a
jurisdiction (and under which consent model), their current state, and how a set of on/off
choices becomes ledger events — so that logic lives here once and the routes only parse and
render. Every legal judgement still comes from the library: the consent model from
:func:`trustcart.consent.policy.build_policy` (the same policy ``may_use`` enforces), what a
mechanism is worth from ``Jurisdiction.mechanism_rule``, GPC from ``Jurisdiction.gpc_rule``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from trustcart.catalog import DataMap
from trustcart.catalog.notice import NoticeSection, render_notice
from trustcart.clock import utcnow
from trustcart.consent import (
    ConsentEventIn,
    ConsentService,
    Decision,
    Evidence,
    Mechanism,
    NoticeVersion,
    RecordedEvent,
    StateEntry,
    datamap_notice,
    list_notices,
    register_notice,
)
from trustcart.consent.policy import build_policy
from trustcart.consent.tokens import check_visitor_id, read_subject_token
from trustcart.errors import AuthenticationError, NotFound, ValidationError
from trustcart.rules import Jurisdiction, PurposeType

ConsentModel = Literal["opt_in", "opt_out", "not_required"]
PAGE_MECHANISMS = frozenset(
    {
        Mechanism.PREFERENCE_CENTER,
        Mechanism.OPT_IN_CHECKBOX,
        Mechanism.IMPLIED_BANNER,
        Mechanism.JUST_IN_TIME,
        Mechanism.GPC_SIGNAL,
    }
)
CHANNEL = "web"
ALWAYS_ON = "Always on (needed for your orders)"


@dataclass(frozen=True)
class PurposeView:
    """One purpose as a shopper sees it in one jurisdiction."""

    key: str
    name: str
    short: str
    details: tuple[str, ...]
    data_use: str
    purpose_type: str
    model: ConsentModel
    toggleable: bool
    implied_banner: str
    """What an implied-banner grant is worth here (``valid``/``conditional``/``invalid``)."""
    implied_banner_valid: bool
    """Whether the banner may record ``implied_banner`` for this purpose (see :func:`purposes`)."""
    gpc_opts_out: bool
    citation: str


@dataclass(frozen=True)
class PurposeState:
    """A person's current state for one purpose, ready to show."""

    on: bool
    decision: str | None
    mechanism: str | None
    valid: bool | None
    at: datetime | None
    text: str

    def to_dict(self) -> dict[str, Any]:
        """JSON view."""
        return {
            "on": self.on,
            "decision": self.decision,
            "mechanism": self.mechanism,
            "valid": self.valid,
            "at": self.at,
            "text": self.text,
        }


@dataclass
class ChoicesResult:
    """What a submission of choices did."""

    recorded: list[RecordedEvent] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    gpc_applied: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


# --- identity ---------------------------------------------------------------------------------


def subject_of(svc: ConsentService, token: str | None, visitor_id: str | None) -> str:
    """The person a request speaks for: a signed token's pseudonym, or a visitor id.

    Exactly one must be given; a token is checked against the workspace key (forged, malformed
    or expired → ``AuthenticationError``), a visitor id against its format.
    """
    if token and visitor_id:
        raise ValidationError("give either token or visitor_id, not both")
    if token:
        return read_subject_token(svc.ws.settings.pseudonym_key(), token)
    if visitor_id:
        return check_visitor_id(visitor_id)
    raise ValidationError("give token (a preference link's token) or visitor_id (v_ + 32 hex)")


def subject_from_token(svc: ConsentService, token: str | None) -> str:
    """The pseudonym of a preference link's token; a missing token is an invalid link."""
    if not token:
        raise AuthenticationError("this page needs the link the shop gave you (it has no token)")
    return read_subject_token(svc.ws.settings.pseudonym_key(), token)


# --- notice and purposes ----------------------------------------------------------------------


def current_notice(svc: ConsentService) -> NoticeVersion:
    """The privacy notice in effect now; registers the data map's notice if none exists yet.

    Registering on first use keeps a fresh workspace usable (a grant must name the notice shown)
    without inventing text: the notice is generated from the data map, as the DPO's CLI does.
    """
    svc.reload()
    notices = [n for n in list_notices(svc.store) if n.kind == "privacy_notice"]
    if not notices:
        if not svc.datamap.purposes or svc.datamap.organization is None:
            raise NotFound(
                "no privacy notice yet: the shop has not loaded its data map into TrustCart"
            )
        register_notice(svc.store, **datamap_notice(svc.datamap))
        svc.reload()
        notices = [n for n in list_notices(svc.store) if n.kind == "privacy_notice"]
    now = utcnow()
    in_effect = [n for n in notices if n.effective_at <= now] or notices
    return max(in_effect, key=lambda n: (n.effective_at, n.created_at))


_SECTIONS: dict[int, tuple[DataMap, dict[str, NoticeSection]]] = {}


def _purpose_sections(dm: DataMap) -> dict[str, NoticeSection]:
    """The notice's ``purpose:<key>`` sections, rendered once per data map object."""
    hit = _SECTIONS.get(id(dm))
    if hit is not None and hit[0] is dm:
        return hit[1]
    sections: dict[str, NoticeSection] = {}
    if dm.organization is not None:
        for s in render_notice(dm).sections:
            if s.key.startswith("purpose:"):
                sections[s.key.split(":", 1)[1]] = s
    _SECTIONS.clear()  # one data map is current at a time
    _SECTIONS[id(dm)] = (dm, sections)
    return sections


def purposes(svc: ConsentService, j: Jurisdiction) -> list[PurposeView]:
    """Every purpose of the data map with its consent model and switchability in ``j``.

    The model is the one ``may_use`` enforces (data map legal basis + rule pack): consent needed
    → ``opt_in``; a refusal works as an objection/opt-out → ``opt_out``; else ``not_required``.
    Essential purposes (orders, fraud checks) and ``not_required`` ones are not switchable: a
    switch that changes nothing would mislead. An implied banner may record a grant only where
    the rule pack says it is ``valid``, or ``conditional`` for an opt-out-model purpose (US-CA:
    it then serves as notice at collection and never overrides an earlier opt-out or GPC —
    :func:`record_choices` enforces both).
    """
    sections = _purpose_sections(svc.datamap)
    out = []
    for p in svc.datamap.purposes:
        pt = svc.rules.purpose_type_of(p.data_use)
        policy = build_policy(svc.datamap, svc.rules, p, j, ())
        model: ConsentModel = (
            "opt_in" if policy.needs_consent else "opt_out" if policy.objectable else "not_required"
        )
        toggleable = model != "not_required" and pt is not PurposeType.ESSENTIAL
        implied = j.mechanism_rule(Mechanism.IMPLIED_BANNER, pt).grant
        section = sections.get(p.key)
        out.append(
            PurposeView(
                key=p.key,
                name=p.name,
                short=p.description,
                details=section.items if section else (),
                data_use=p.data_use,
                purpose_type=pt.value,
                model=model,
                toggleable=toggleable,
                implied_banner=implied,
                implied_banner_valid=toggleable
                and (implied == "valid" or (implied == "conditional" and model == "opt_out")),
                gpc_opts_out=j.gpc_opts_out(pt),
                citation=policy.citation,
            )
        )
    return out


# --- state ------------------------------------------------------------------------------------


def _day(at: datetime) -> str:
    return f"{at:%d %b %Y}"


def states(
    svc: ConsentService, subject: str, j: Jurisdiction, views: list[PurposeView]
) -> dict[str, PurposeState]:
    """The person's state per purpose; ``on`` is what ``may_use`` answers now (so an outdated
    or invalid grant shows as off, and an opt-out purpose nobody refused shows as on)."""
    entries = svc.state(subject)
    out = {}
    for v in views:
        e = entries.get(v.key)
        on = True if not v.toggleable else svc.may_use(subject, v.key, (), j.code).allowed
        out[v.key] = PurposeState(
            on=on,
            decision=e.decision.value if e else None,
            mechanism=e.mechanism if e else None,
            valid=e.valid if e else None,
            at=e.at if e else None,
            text=_state_text(v, e, on),
        )
    return out


def _state_text(v: PurposeView, e: StateEntry | None, on: bool) -> str:
    if not v.toggleable:
        return ALWAYS_ON
    if e is None:
        if v.model == "opt_out":
            return "On — you can switch it off at any time."
        return "Off — we have not asked you yet; nothing is used unless you switch it on."
    when = _day(e.at)
    if e.decision is Decision.GRANTED:
        if on:
            return f"On — you agreed on {when}."
        return f"Off — please confirm again: what we told you has changed since {when}."
    if e.mechanism == Mechanism.GPC_SIGNAL.value:
        return f"Off — your browser's Global Privacy Control signal opted you out on {when}."
    if e.decision is Decision.WITHDRAWN:
        return f"Off — you withdrew your consent on {when}."
    return f"Off — you said no on {when}."


# --- recording --------------------------------------------------------------------------------


def record_choices(
    svc: ConsentService,
    subject: str,
    j: Jurisdiction,
    *,
    mechanism: Mechanism,
    choices: dict[str, bool],
    notice_version: str | None,
    evidence: Evidence,
    gpc: bool,
) -> ChoicesResult:
    """Turn on/off choices into ledger events through :meth:`ConsentService.record`.

    On → ``granted``; off → ``withdrawn`` if the person had granted it, else ``denied``. One
    ``record`` call per decision group. A choice equal to what is already recorded is not
    recorded again (saving the same page twice adds nothing to the ledger). ``gpc`` (the body
    flag or a real ``Sec-GPC: 1``) rides on the last call, and only while some purpose the
    signal covers is not yet off, so a signal is applied once rather than on every click.
    """
    if mechanism not in PAGE_MECHANISMS:
        raise ValidationError(f"mechanism {mechanism.value!r} is not used by these pages")
    views = {v.key: v for v in purposes(svc, j)}
    entries = svc.state(subject)
    result = ChoicesResult()
    groups: dict[Decision, list[str]] = {}
    planned: dict[str, Decision] = {}
    if mechanism is Mechanism.GPC_SIGNAL:
        if choices:
            raise ValidationError("mechanism 'gpc_signal' takes no choices: it only applies GPC")
        if not gpc:
            raise ValidationError("mechanism 'gpc_signal' needs gpc: true (or Sec-GPC: 1)")
    elif not choices:
        raise ValidationError("choices: name at least one purpose (purpose key: true or false)")
    for raw_key, on in choices.items():
        key = svc.purpose(raw_key).key
        view = views[key]
        if not view.toggleable:
            raise ValidationError(
                f"'{key}' ({view.name}) cannot be switched: it is needed for your orders or "
                f"needs no consent in {j.code}",
                details={"purpose": key, "model": view.model},
            )
        entry = entries.get(key)
        if mechanism is Mechanism.IMPLIED_BANNER:
            if not on:
                raise ValidationError("an implied banner cannot express a refusal; use a button")
            if not view.implied_banner_valid:
                raise ValidationError(
                    f"an implied banner is not a valid way to agree to '{key}' in {j.code} "
                    f"(grant: {view.implied_banner}); ask with an explicit choice",
                    details={"purpose": key, "implied_banner": view.implied_banner},
                )
            if entry is not None:
                result.skipped[key] = "the person already chose; a banner never overrides it"
                continue
            if gpc and view.gpc_opts_out:
                result.skipped[key] = "Global Privacy Control opts out; a banner never overrides it"
                continue
        elif entry is not None and _same(entry, on, notice_version):
            result.unchanged.append(key)
            continue
        decision = (
            Decision.GRANTED
            if on
            else Decision.WITHDRAWN
            if entry is not None and entry.decision is Decision.GRANTED
            else Decision.DENIED
        )
        groups.setdefault(decision, []).append(key)
        planned[key] = decision
    apply_gpc = gpc and j.gpc_rule().honoured and _gpc_pending(views, entries, planned)
    calls: list[tuple[Mechanism, Decision, list[str]]] = [
        (mechanism, d, keys) for d, keys in groups.items()
    ]
    if apply_gpc and not calls:
        pending = [
            k
            for k, v in views.items()
            if v.gpc_opts_out and not _is_off(entries.get(k), planned.get(k))
        ]
        # The service records the signal as received (these events) and, because the mechanism
        # is gpc_signal, the rule pack's opt-out for every purpose the signal covers.
        calls.append((Mechanism.GPC_SIGNAL, Decision.DENIED, pending))
    for i, (mech, decision, keys) in enumerate(calls):
        rec = svc.record(
            ConsentEventIn(
                subject=subject,
                purposes=keys,
                decision=decision,
                mechanism=mech,
                jurisdiction=j.code,
                notice_version=notice_version,
                channel=CHANNEL,
                evidence=evidence,
            ),
            gpc=apply_gpc and i == len(calls) - 1 and mech is not Mechanism.GPC_SIGNAL,
        )
        result.recorded += rec.events
        result.gpc_applied += [k for k in rec.gpc_applied if k not in result.gpc_applied]
        result.warnings += rec.warnings
    if gpc and not j.gpc_rule().honoured:
        result.warnings.append(
            f"GPC signal received; the rule pack does not make it an opt-out in {j.code} "
            f"({j.gpc_rule().citation}); consent-based purposes stay off unless switched on"
        )
    return result


def _same(entry: StateEntry, on: bool, notice_version: str | None) -> bool:
    if on:
        return (
            entry.decision is Decision.GRANTED
            and entry.valid
            and notice_version is not None
            and entry.notice_version is not None
            and entry.notice_version.startswith(notice_version.lower())
        )
    return entry.decision is not Decision.GRANTED


def _is_off(entry: StateEntry | None, planned: Decision | None) -> bool:
    if planned is not None:
        return planned is not Decision.GRANTED
    return entry is not None and entry.decision is not Decision.GRANTED


def _gpc_pending(
    views: dict[str, PurposeView],
    entries: dict[str, StateEntry],
    planned: dict[str, Decision],
) -> bool:
    return any(
        v.gpc_opts_out and not _is_off(entries.get(k), planned.get(k)) for k, v in views.items()
    )


def clean_page(page: str | None) -> str | None:
    """A page URL without query or fragment (they may carry a token or personal data)."""
    if not page:
        return None
    return re.split(r"[?#]", page, maxsplit=1)[0][:500] or None


# --- notice text ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    """One block of the notice text: a heading, a paragraph or a list."""

    kind: Literal["h1", "h2", "p", "ul"]
    text: str = ""
    items: tuple[str, ...] = ()


def notice_blocks(markdown: str) -> list[Block]:
    """The registered notice text (the small Markdown subset ``Notice.markdown`` writes) as
    blocks, so the page shows exactly the stored version's words — escaped by the template."""
    blocks: list[Block] = []
    para: list[str] = []
    items: list[str] = []

    def flush() -> None:
        if para:
            blocks.append(Block("p", " ".join(para)))
            para.clear()
        if items:
            blocks.append(Block("ul", items=tuple(items)))
            items.clear()

    for raw in markdown.splitlines():
        line = raw.strip()
        if not line:
            flush()
        elif line.startswith("## "):
            flush()
            blocks.append(Block("h2", line[3:]))
        elif line.startswith("# "):
            flush()
            blocks.append(Block("h1", line[2:]))
        elif line.startswith("- "):
            if para:
                flush()
            items.append(line[2:])
        else:
            if items:
                flush()
            para.append(line.strip("_") if line.startswith("_") and line.endswith("_") else line)
    flush()
    return blocks
