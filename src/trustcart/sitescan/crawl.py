"""Drive headless Chromium over the shop's pages, once per consent stage, and record what loads.

How a stage is simulated: each stage is a fresh browser context (a new visitor: no cookies, no
storage). In the first stage the visitor has chosen nothing. In each later stage the scanner
answers the TrustCart embed's ``/privacy/api/state`` request itself, from the real answer with
one purpose switched on, so the page behaves exactly as for a visitor who allowed only that
purpose — without writing anything to the consent ledger (the embed's ``/privacy/api/choices``
requests are blocked during a scan). A page without the TrustCart embed cannot be told about
consent: its stages all look alike, and the scan records ``embed_seen: false`` to say so.

Why Playwright with the system Chromium: it is the browser the tests already drive; nothing is
downloaded at run time. Never ``playwright install``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urldefrag, urlsplit

from trustcart.errors import ScanError, ValidationError
from trustcart.ids import new_id
from trustcart.sitescan.model import NO_CONSENT, Cookie, Request, SiteScan, Stage, StorageKey

CHROMIUM_ENV = "TRUSTCART_CHROMIUM"
DEFAULT_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
)
_STATE_PATH = "/privacy/api/state"
_CHOICES_PATH = "/privacy/api/choices"
MAX_PAGES = 200
#: Links to follow: the shop's own, not those inside the embed's banner or notices.
_LINKS = "a[href]:not(.tc-banner a):not(.tc-jit a)"


def site_base(host: str) -> str:
    """The first-party base of a host: the host without a leading ``www.``."""
    host = host.lower().rstrip(".")
    return host[4:] if host.startswith("www.") else host


def _is_first_party(host: str, bases: Sequence[str]) -> bool:
    return any(host == b or host.endswith("." + b) for b in bases)


def _clean(url: str) -> str:
    """``scheme://host[:port]/path`` (query and fragment may hold identifiers)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path or '/'}"


@contextmanager
def _chromium(browser: Any) -> Iterator[Any]:
    if browser is not None:
        yield browser
        return
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        raise ScanError(
            "scan-site needs Playwright: pip install 'trustcart[scan]' (it drives the system "
            "Chromium; never run 'playwright install')"
        ) from exc
    executable = os.environ.get(CHROMIUM_ENV) or DEFAULT_CHROMIUM
    if not os.path.exists(executable):
        raise ScanError(
            f"Chromium not found at {executable}: install it (Debian: apt-get install chromium) "
            f"or set {CHROMIUM_ENV}"
        )
    with sync_playwright() as pw:
        try:
            launched = pw.chromium.launch(
                executable_path=executable, args=list(CHROMIUM_ARGS), headless=True
            )
        except PlaywrightError as exc:
            raise ScanError(f"could not start Chromium ({executable}): {exc}") from exc
        try:
            yield launched
        finally:
            launched.close()


def crawl(
    url: str,
    *,
    jurisdiction: str,
    purposes: Sequence[str],
    pages: int = 5,
    first_party: Sequence[str] = (),
    browser: Any = None,
    timeout_s: float = 15.0,
) -> SiteScan:
    """Crawl up to ``pages`` same-site pages from ``url``: once with no consent, then once per
    purpose in ``purposes`` with that purpose allowed. ``browser`` is an open Playwright
    Chromium to reuse (tests); by default the system Chromium is started and closed.

    The pages are found in the first stage (links to first-party pages, breadth first) and
    visited in the same order in every later stage, so the stages differ only by consent.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError(f"not a web page URL: {url!r} (give http:// or https://)")
    if not 1 <= pages <= MAX_PAGES:
        raise ValidationError(f"--pages must be between 1 and {MAX_PAGES}, got {pages}")
    bases = [site_base(parts.hostname), *(site_base(h) for h in first_party)]
    scan = SiteScan(
        id=new_id("scan_"),
        url=_clean(url),
        jurisdiction=jurisdiction,
        started_at=datetime.now(UTC),
        pages=[],
        first_party=bases,
        stages=[],
    )
    with _chromium(browser) as chromium:
        targets: list[str] = []
        for name, allowed in [(NO_CONSENT, []), *((p, [p]) for p in purposes)]:
            stage = Stage(name=name, allowed=list(allowed))
            discover = not scan.stages
            _run_stage(
                chromium,
                stage,
                start=urldefrag(url).url,
                targets=targets,
                discover=discover,
                limit=pages,
                bases=bases,
                timeout_ms=timeout_s * 1000,
            )
            if discover and not targets:
                raise ScanError(f"could not load {scan.url}: {'; '.join(stage.errors)}")
            scan.stages.append(stage)
        scan.pages = [_clean(t) for t in targets]
    return scan


def _state_handler(allowed: Sequence[str], stage: Stage) -> Callable[[Any], None]:
    """Answer the embed's state request with ``allowed`` switched on (explicitly granted)."""

    def handle(route: Any) -> None:
        stage.embed_seen = True
        response = route.fetch()
        try:
            body = response.json()
            for key, state in body.get("purposes", {}).items():
                if key in allowed:
                    state["on"] = True
                    state["decision"] = "granted"
        except Exception:  # not the embed's JSON: pass it through untouched
            route.fulfill(response=response)
            return
        route.fulfill(response=response, json=body)

    return handle


def _run_stage(
    chromium: Any,
    stage: Stage,
    *,
    start: str,
    targets: list[str],
    discover: bool,
    limit: int,
    bases: Sequence[str],
    timeout_ms: float,
) -> None:
    from playwright.sync_api import Error as PlaywrightError

    context = chromium.new_context()
    context.set_default_timeout(timeout_ms)
    seen_requests: set[str] = set()
    seen_cookies: set[tuple[str, str]] = set()
    seen_keys: set[tuple[str, str]] = set()
    current = {"page": start}
    try:
        context.route(lambda u: _CHOICES_PATH in u, lambda route: route.abort())
        context.route(lambda u: _STATE_PATH in u, _state_handler(stage.allowed, stage))
        page = context.new_page()

        def on_request(req: Any) -> None:
            if not req.url.startswith(("http://", "https://")):
                return
            if _STATE_PATH in req.url:
                stage.embed_seen = True
            clean = _clean(req.url)
            if clean in seen_requests:
                return
            seen_requests.add(clean)
            host = (urlsplit(req.url).hostname or "").lower()
            stage.requests.append(
                Request(
                    url=clean,
                    host=host,
                    resource_type=req.resource_type,
                    page=_clean(current["page"]),
                    third_party=not _is_first_party(host, bases),
                )
            )

        page.on("request", on_request)
        queue = [start] if discover else list(targets)
        visited: set[str] = set()
        while queue and len(visited) < limit:
            target = queue.pop(0)
            if target in visited:
                continue
            visited.add(target)
            current["page"] = target
            try:
                page.goto(target, wait_until="load")
                # a page that keeps polling never goes idle: record what loaded so far
                with suppress(PlaywrightError):
                    page.wait_for_load_state("networkidle", timeout=min(timeout_ms, 5000))
            except PlaywrightError as exc:
                stage.errors.append(f"{_clean(target)}: {str(exc).splitlines()[0]}")
                continue
            if discover:
                targets.append(target)
                links = page.eval_on_selector_all(_LINKS, "els => els.map(e => e.href)")
                for link in links:
                    link = urldefrag(str(link)).url
                    parts = urlsplit(link)
                    if (
                        parts.scheme in ("http", "https")
                        and _is_first_party((parts.hostname or "").lower(), bases)
                        and link not in visited
                        and link not in queue
                    ):
                        queue.append(link)
            _collect_storage(context, page, stage, target, seen_cookies, seen_keys)
    finally:
        context.close()


def _collect_storage(
    context: Any,
    page: Any,
    stage: Stage,
    target: str,
    seen_cookies: set[tuple[str, str]],
    seen_keys: set[tuple[str, str]],
) -> None:
    now = datetime.now(UTC)
    for c in context.cookies():
        key = (c["name"], c["domain"])
        if key in seen_cookies:
            continue
        seen_cookies.add(key)
        expires = float(c.get("expires", -1))
        session = expires < 0
        at = None if session else datetime.fromtimestamp(expires, UTC)
        stage.cookies.append(
            Cookie(
                name=c["name"],
                domain=c["domain"],
                page=_clean(target),
                session=session,
                expires=at,
                lifetime_days=None if at is None else (at - now) / timedelta(days=1),
            )
        )
    try:
        origin, keys = page.evaluate("[location.origin, Object.keys(localStorage)]")
    except Exception:  # storage blocked or the page navigated away: nothing to read
        return
    for k in keys:
        if (origin, k) not in seen_keys:
            seen_keys.add((origin, k))
            stage.storage.append(StorageKey(origin=origin, key=str(k), page=_clean(target)))
