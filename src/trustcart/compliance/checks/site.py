"""Shop pages: what the newest stored site scan (``trustcart scan-site``) saw, judged against the
current data map — so fixing the data map clears a finding without crawling again, and a page
that misbehaves stays reported until a new scan shows otherwise."""

from __future__ import annotations

from collections.abc import Iterator

from trustcart.compliance.registry import CheckContext, Issue, check
from trustcart.sitescan import SiteFinding, analyze, latest_scan


def _findings(ctx: CheckContext, kinds: tuple[str, ...]) -> list[SiteFinding]:
    if ctx.store is None:
        return []
    scan = latest_scan(ctx.store)
    if scan is None:
        return []
    return [f for f in analyze(scan, ctx.datamap, ctx.rules) if f.kind in kinds]


def _issue(f: SiteFinding) -> Issue:
    evidence = "; ".join(f.evidence[:3])
    return Issue(f.object, f"{f.message} Evidence: {evidence}.", key=f.kind)


@check(
    "TC-WEB-001",
    area="site",
    title="Tracker loaded on the shop's pages without consent for its purpose",
    severity="high",
    rule="ePrivacy Directive 2002/58/EC Art. 5(3) (prior consent for storing or reading "
    "information on the device, except where strictly necessary); UK: PECR reg. 6 — where the "
    "purpose needs consent in the scanned jurisdiction",
    fix="Mark the tag with its purpose so the TrustCart embed holds it back "
    '(<script type="text/plain" data-trustcart-purpose="…">, <iframe data-src=… '
    "data-trustcart-purpose=…>), or correct the system's purposes in the data map if it only "
    "serves a purpose that needs no consent; then run `trustcart scan-site` again.",
)
def trackers_without_consent(ctx: CheckContext) -> Iterator[Issue]:
    """A system or recipient (by its ``domains`` or a declared cookie) was contacted while none
    of its purposes was allowed: before any choice, or in a stage allowing another purpose."""
    for f in _findings(ctx, ("tracker_without_consent",)):
        yield _issue(f)


@check(
    "TC-WEB-002",
    area="site",
    title="Shop pages contact a third party the data map does not list",
    severity="medium",
    rule="TrustCart practice: every third party the pages send data to is a system or recipient "
    "of the data map (which feeds the record of processing and the notice)",
    fix="Add the host under `domains` of the system or recipient it belongs to (a new recipient "
    "if it is a new vendor, with its purposes), or remove the tag from the pages.",
)
def unknown_third_parties(ctx: CheckContext) -> Iterator[Issue]:
    """A request from the pages to a host outside the site that no ``domains`` entry covers."""
    for f in _findings(ctx, ("unknown_third_party",)):
        yield _issue(f)


@check(
    "TC-WEB-003",
    area="site",
    title="Cookie or storage key without a declared purpose and lifetime, or kept longer",
    severity="medium",
    rule="GDPR Art. 5(1)(e) (storage limitation); CPRA §1798.100(a)(3) (the notice at "
    "collection states how long each category is kept)",
    fix="Declare the cookie or key under `cookies` of the system or recipient that sets it "
    "(purpose and lifetime), and make the tag set it for no longer than declared.",
)
def undeclared_storage(ctx: CheckContext) -> Iterator[Issue]:
    """A cookie or local-storage key nobody declares, or a cookie that outlives its declared
    lifetime (a persistent cookie declared ``session``, or an expiry past the duration)."""
    for f in _findings(ctx, ("undeclared_storage", "lifetime_exceeded")):
        yield _issue(f)
