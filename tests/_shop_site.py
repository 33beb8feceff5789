"""A fixture shop site for the browser tests: the shop's pages with the TrustCart embed, and the
third parties its tags call, each on its own loopback address.

* ``127.0.0.1:A`` — the shop (``/shop/…``) and TrustCart (``/privacy/…``, ``/v1/…``) in one
  server, as a shop serving TrustCart under its own domain would.
* ``127.0.0.2:B`` — "Metricly", the analytics vendor (system ``analytics_platform``).
* ``127.0.0.3:C`` — "AdNet", an ad network (recipient ``adnet``, purpose ``targeted_offers``).
* ``127.0.0.4:D`` — a chat widget nobody declared.

Planted problems (exactly these, see ``PLANTED``):

1. The home page loads Metricly's ``metrics.js`` *untagged*: it runs before any consent and sets
   the declared cookie ``_mtr_id`` for a year although the fixture's data map declares ``P6M``.
2. The product page loads the chat widget from 127.0.0.4, which the data map does not list.
3. AdNet's ``ads.js`` is correctly tagged ``targeted_offers`` (it runs only once allowed) but sets
   a cookie ``_adn_uid`` that nobody declares.

Everything else is well behaved: the tagged AdNet iframe, Metricly's declared local-storage
key ``mtr_queue``, and the embed's own keys.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount, Route

from trustcart.api.app import create_app
from trustcart.catalog import parse_manifest
from trustcart.catalog.repository import save_datamap
from trustcart.consent import datamap_notice, register_notice
from trustcart.workspace import Workspace

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "shop.yaml"
PLANTED = {
    ("tracker_without_consent", "system:analytics_platform"),
    ("unknown_third_party", "host:127.0.0.4"),
    ("undeclared_storage", "cookie:_adn_uid"),
    ("lifetime_exceeded", "cookie:_mtr_id"),
}
#: With ``?gpp=on`` the page opts in to IAB GPP (``data-gpp="on"``) and calls ``__gpp`` right after
#: the embed tag, before anything could answer: the stub must queue these calls, not lose them.
EARLY_GPP_CALLS = (
    "window.__early = [];"
    "__gpp('addEventListener', function (e, ok) {"
    " __early.push(ok && e ? e.eventName + ':' + e.data : 'failed'); });"
    "__gpp('getField', function (v, ok) { __early.push(ok ? 'getField:' + v : 'failed'); },"
    " 'usnat.SaleOptOut');"
)
GTAG_STUB = (
    "window.__cm = []; window.dataLayer = [];"
    "function gtag(){ window.__cm.push(Array.prototype.slice.call(arguments)); }"
)


def shop_datamap_text() -> str:
    """The example shop with the fixture's hosts: Metricly on 127.0.0.2 (its cookie declared for
    six months, and its local-storage key), AdNet as a recipient on 127.0.0.3. The chat host
    127.0.0.4 is deliberately absent."""
    text = EXAMPLE.read_text()
    replacements = [
        (
            "domains: [cdn.metricly.example, collect.metricly.example]",
            "domains: [127.0.0.2]",
        ),
        (
            "      - {name: _mtr_id, purpose: analytics, lifetime: P13M, description: Metricly "
            "visitor id}\n",
            "      - {name: _mtr_id, purpose: analytics, lifetime: P6M, description: Metricly "
            "visitor id}\n"
            "      - {name: mtr_queue, purpose: analytics, storage: local_storage}\n",
        ),
        (
            "# --- Flows ---",
            "  - key: adnet\n    name: AdNet Ltd\n    type: processor\n    country: IE\n"
            "    purposes: [targeted_offers]\n    domains: [127.0.0.3]\n\n# --- Flows ---",
        ),
    ]
    for old, new in replacements:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Site:
    """Where everything runs, and what the third parties received."""

    shop: str
    ws: Workspace
    hosts: dict[str, str]
    hits: list[tuple[str, str]] = field(default_factory=list)
    """(host, path) of every request a third party received, in order."""

    def url(self, path: str, jurisdiction: str = "EU") -> str:
        return f"{self.shop}{path}?j={jurisdiction}"

    def hits_of(self, path: str) -> int:
        return sum(1 for _, p in self.hits if p == path)


def _shop_app(site: Site) -> Starlette:
    h = site.hosts

    def page(title: str, body: str, request: Request) -> HTMLResponse:
        j = request.query_params.get("j", "EU")
        gpp = request.query_params.get("gpp") == "on"
        opt_in = ' data-gpp="on"' if gpp else ""
        early = f"<script>{EARLY_GPP_CALLS}</script>" if gpp else ""
        links = " ".join(
            f'<a href="/shop/{p}?j={j}">{p or "home"}</a>' for p in ("", "product", "about")
        )
        html = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>{title}</title><script>{GTAG_STUB}</script>
<script src="{site.shop}/privacy/embed.js" data-jurisdiction="{j}"{opt_in}></script>{early}
</head><body><h1>{title}</h1><nav>{links}</nav>
<p><a href="/privacy/notice" data-trustcart-open>Privacy settings</a></p>
{body}
<script type="text/plain" data-trustcart-purpose="targeted_offers" src="{h["adnet"]}/ads.js">
</script>
<iframe title="offer" data-src="{h["adnet"]}/frame" data-trustcart-purpose="marketing.advertising">
</iframe>
</body></html>"""
        return HTMLResponse(html)

    async def home(request: Request) -> HTMLResponse:
        # planted 1: an analytics tag without data-trustcart-purpose
        return page("Shop", f'<script src="{h["metricly"]}/metrics.js"></script>', request)

    async def product(request: Request) -> HTMLResponse:
        # planted 2: a third party nobody declared
        return page("Product", f'<script src="{h["chat"]}/chat.js"></script>', request)

    async def about(request: Request) -> HTMLResponse:
        return page("About", "<p>We sell fine garments.</p>", request)

    return Starlette(routes=[Route("/", home), Route("/product", product), Route("/about", about)])


def _third_party_app(site: Site) -> Starlette:
    one_year = 365 * 86400  # Chromium caps cookie lifetimes at 400 days
    scripts = {
        "/metrics.js": (
            f'document.cookie = "_mtr_id=m1; max-age={one_year}; path=/";'
            'localStorage.setItem("mtr_queue", "[]");'
            f'new Image().src = "{site.hosts["metricly"]}/collect";'
            "window.__metricsRan = (window.__metricsRan || 0) + 1;"
        ),
        "/ads.js": (
            'document.cookie = "_adn_uid=a1; max-age=2592000; path=/";'  # planted 3
            "window.__adsRan = (window.__adsRan || 0) + 1;"
        ),
        "/chat.js": "window.__chatRan = 1;",
    }

    async def any_path(request: Request) -> Response:
        path = request.url.path
        site.hits.append((request.url.hostname or "", path))
        if path in scripts:
            return Response(scripts[path], media_type="text/javascript")
        if path == "/frame":
            return HTMLResponse("<!doctype html><p>An offer</p>")
        return Response(b"GIF89a", media_type="image/gif")

    return Starlette(routes=[Route("/{path:path}", any_path)])


def _serve(app: Any, host: str, port: int) -> uvicorn.Server:
    server = uvicorn.Server(
        uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, f"{host} did not start"
        time.sleep(0.02)
    return server


@contextmanager
def running_site(ws: Workspace, datamap_text: str | None = None) -> Iterator[Site]:
    """Load the fixture data map (or ``datamap_text``) into ``ws`` and serve the shop and its
    third parties."""
    dm = parse_manifest(datamap_text or shop_datamap_text(), filename="shop-site.yaml")
    save_datamap(ws.store, dm)
    register_notice(ws.store, **datamap_notice(dm))
    addresses = {"shop": "127.0.0.1", "metricly": "127.0.0.2", "adnet": "127.0.0.3"}
    addresses["chat"] = "127.0.0.4"
    ports = {name: _free_port(ip) for name, ip in addresses.items()}
    hosts = {name: f"http://{addresses[name]}:{ports[name]}" for name in addresses}
    site = Site(shop=hosts["shop"], ws=ws, hosts=hosts)
    shop = Starlette(routes=[Mount("/shop", _shop_app(site)), Mount("/", create_app(ws))])
    servers = [_serve(shop, addresses["shop"], ports["shop"])]
    third = _third_party_app(site)
    servers += [_serve(third, addresses[n], ports[n]) for n in ("metricly", "adnet", "chat")]
    try:
        yield site
    finally:
        for s in servers:
            s.should_exit = True
