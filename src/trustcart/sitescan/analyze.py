"""Judge a scan's observations against the data map: who is each host and cookie, and was it
allowed in that stage?

The rules, each a plain reading of the data map and the rule pack:

* **Owner of a host**: the system or recipient whose ``domains`` lists it (``*.x`` covers ``x``
  and its subdomains; ports are ignored). A third-party host nobody owns is an *unknown third
  party*; a first-party host nobody owns is the shop itself.
* **Owner of a cookie or storage key**: the system or recipient that declares it under
  ``cookies`` (name, or a ``prefix*``). TrustCart's own keys (the embed's random visitor id and
  its "notice seen" marks) are declared by TrustCart itself.
* **Allowed in a stage**: every purpose that needs no consent in the scanned jurisdiction for a
  visitor who chose nothing (the model ``may_use`` applies: not-required and opt-out purposes),
  plus the purpose the stage simulates. A request to an owner none of whose purposes is allowed,
  or a declared cookie whose purpose is not allowed, is a *tracker loaded without consent*.
* **Lifetime**: a cookie that will live longer than its declared lifetime (a persistent cookie
  declared ``session``, or an expiry past the declared duration, with one day of slack) is
  *kept longer than declared*; a cookie or storage key nobody declares is *undeclared*.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from trustcart.catalog import CookieDeclaration, DataMap
from trustcart.consent.policy import build_policy
from trustcart.rules import Rules
from trustcart.sitescan.model import NO_CONSENT, SiteFinding, SiteScan

#: Keys the TrustCart embed itself stores: a random visitor id (no identifier of the person) and
#: one "notice shown" mark per jurisdiction and notice version.
TRUSTCART_KEYS = ("trustcart_vid", "trustcart_ack_*")

_DURATION = re.compile(
    r"^P(?:(?P<Y>\d+)Y)?(?:(?P<M>\d+)M)?(?:(?P<W>\d+)W)?(?:(?P<D>\d+)D)?"
    r"(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+)S)?)?$"
)
#: Upper bounds in days (a month counted as 31 days, a year as 366): a cookie is reported only
#: when it certainly outlives its declaration.
_DAYS = {"Y": 366.0, "M": 31.0, "W": 7.0, "D": 1.0, "h": 1 / 24, "m": 1 / 1440, "s": 1 / 86400}
_SLACK_DAYS = 1.0


def declared_days(lifetime: str | None) -> float | None:
    """The longest a declared lifetime can mean, in days; ``None`` for none or ``session``."""
    if not lifetime or lifetime == "session":
        return None
    m = _DURATION.match(lifetime)
    if m is None:
        return None
    return sum(int(v) * _DAYS[k] for k, v in m.groupdict().items() if v)


def host_matches(domain: str, host: str) -> bool:
    """Whether ``host`` is ``domain`` (or, for ``*.x``, ``x`` or one of its subdomains)."""
    host = host.lower().rstrip(".")
    if domain.startswith("*."):
        base = domain[2:]
        return host == base or host.endswith("." + base)
    return host == domain


@dataclass(frozen=True)
class Owner:
    """A system or recipient as the scan sees it."""

    object: str
    name: str
    purposes: tuple[str, ...]
    domains: tuple[str, ...]
    cookies: tuple[CookieDeclaration, ...]


def owners(dm: DataMap) -> list[Owner]:
    """Every system and recipient, in data-map order."""
    out = [
        Owner(f"system:{s.key}", s.name, tuple(s.purposes), tuple(s.domains), tuple(s.cookies))
        for s in dm.systems
    ]
    out += [
        Owner(f"recipient:{r.key}", r.name, tuple(r.purposes), tuple(r.domains), tuple(r.cookies))
        for r in dm.recipients
    ]
    return out


def free_purposes(dm: DataMap, rules: Rules, jurisdiction: str) -> set[str]:
    """Purposes allowed for a visitor who chose nothing (no consent needed in ``jurisdiction``)."""
    j = rules.resolve(jurisdiction)
    return {p.key for p in dm.purposes if not build_policy(dm, rules, p, j, ()).needs_consent}


def consent_purposes(dm: DataMap, rules: Rules, jurisdiction: str) -> list[str]:
    """Purposes that need consent in ``jurisdiction``: one scan stage each."""
    free = free_purposes(dm, rules, jurisdiction)
    return [p.key for p in dm.purposes if p.key not in free]


@dataclass
class _Acc:
    stages: list[str] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)

    def add(self, stage: str, item: str) -> None:
        if stage not in self.stages:
            self.stages.append(stage)
        if item not in self.evidence and len(self.evidence) < 20:
            self.evidence.append(item)


def _own_key(name: str) -> bool:
    return any(name.startswith(k[:-1]) if k.endswith("*") else name == k for k in TRUSTCART_KEYS)


def _declaration(
    owners_: Sequence[Owner], name: str, storage: str
) -> tuple[Owner, CookieDeclaration] | None:
    for o in owners_:
        for c in o.cookies:
            if c.storage == storage and c.matches(name):
                return o, c
    return None


def analyze(scan: SiteScan, dm: DataMap, rules: Rules) -> list[SiteFinding]:
    """Every finding of ``scan`` judged against ``dm`` (see the module docstring), in a stable
    order: trackers, unknown third parties, undeclared keys, lifetimes."""
    free = free_purposes(dm, rules, scan.jurisdiction)
    all_owners = owners(dm)

    def owner_of(host: str) -> Owner | None:
        return next((o for o in all_owners if any(host_matches(d, host) for d in o.domains)), None)

    trackers: dict[str, _Acc] = {}
    unknown: dict[str, _Acc] = {}
    undeclared: dict[str, _Acc] = {}
    exceeded: dict[str, _Acc] = {}
    names = {o.object: o for o in all_owners}
    for stage in scan.stages:
        allowed = free | set(stage.allowed)
        for r in stage.requests:
            owner = owner_of(r.host)
            if owner is None:
                if r.third_party:
                    unknown.setdefault(f"host:{r.host}", _Acc()).add(stage.name, r.url)
                continue
            if owner.purposes and not set(owner.purposes) & allowed:
                trackers.setdefault(owner.object, _Acc()).add(
                    stage.name, f"request {r.url} (on {r.page})"
                )
        for c in stage.cookies:
            if _own_key(c.name):
                continue
            found = _declaration(all_owners, c.name, "cookie")
            if found is None:
                undeclared.setdefault(f"cookie:{c.name}", _Acc()).add(
                    stage.name, f"cookie {c.name} on {c.domain} (after {c.page})"
                )
                continue
            owner, decl = found
            if decl.purpose not in allowed:
                trackers.setdefault(owner.object, _Acc()).add(
                    stage.name, f"cookie {c.name} on {c.domain} (purpose {decl.purpose})"
                )
            limit = declared_days(decl.lifetime)
            too_long = (decl.lifetime == "session" and not c.session) or (
                limit is not None
                and c.lifetime_days is not None
                and c.lifetime_days > limit + _SLACK_DAYS
            )
            if too_long:
                lived = "persistent" if c.lifetime_days is None else f"{c.lifetime_days:.0f} days"
                exceeded.setdefault(f"cookie:{c.name}", _Acc()).add(
                    stage.name, f"{c.name} on {c.domain}: {lived}, declared {decl.lifetime}"
                )
        for k in stage.storage:
            if _own_key(k.key) or _declaration(all_owners, k.key, "local_storage") is not None:
                continue
            undeclared.setdefault(f"storage:{k.key}", _Acc()).add(
                stage.name, f"localStorage {k.key} of {k.origin} (after {k.page})"
            )

    out: list[SiteFinding] = []
    for obj, acc in trackers.items():
        o = names[obj]
        before = " before any choice" if NO_CONSENT in acc.stages else ""
        out.append(
            SiteFinding(
                "tracker_without_consent",
                obj,
                f"{o.name} ({', '.join(o.purposes)}) was contacted or stored data{before} while "
                f"none of its purposes was allowed for the visitor in {scan.jurisdiction} "
                f"(stages: {', '.join(acc.stages)}).",
                tuple(acc.stages),
                tuple(acc.evidence),
            )
        )
    for obj, acc in unknown.items():
        out.append(
            SiteFinding(
                "unknown_third_party",
                obj,
                f"The pages contact {obj.split(':', 1)[1]}, which no system or recipient of the "
                "data map lists under 'domains'.",
                tuple(acc.stages),
                tuple(acc.evidence),
            )
        )
    for obj, acc in undeclared.items():
        kind, name = obj.split(":", 1)
        what = "Cookie" if kind == "cookie" else "Local-storage key"
        out.append(
            SiteFinding(
                "undeclared_storage",
                obj,
                f"{what} {name} is stored in the visitor's browser but no system or recipient "
                "declares it (purpose and lifetime) under 'cookies'.",
                tuple(acc.stages),
                tuple(acc.evidence),
            )
        )
    for obj, acc in exceeded.items():
        out.append(
            SiteFinding(
                "lifetime_exceeded",
                obj,
                f"Cookie {obj.split(':', 1)[1]} lives longer than its declared lifetime.",
                tuple(acc.stages),
                tuple(acc.evidence),
            )
        )
    return out


def summarize(findings: Iterable[SiteFinding]) -> dict[str, int]:
    """Number of findings per kind (every kind present, zero when none)."""
    counts = {
        "tracker_without_consent": 0,
        "unknown_third_party": 0,
        "undeclared_storage": 0,
        "lifetime_exceeded": 0,
    }
    for f in findings:
        counts[f.kind] += 1
    return counts
