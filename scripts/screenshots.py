"""Save screenshots of the DPO dashboard's main pages into docs/img/ (PNG), with Chromium.

    .venv/bin/python scripts/screenshots.py                 # builds the demo in a temp folder
    .venv/bin/python scripts/screenshots.py --workspace trustcart-demo --out docs/img

It runs the real app (uvicorn on a free loopback port) over the StyleSense demo workspace,
creates a throw-away DPO account (random password, never printed), logs in through the form
in headless Debian Chromium (/usr/bin/chromium, driven by Playwright; nothing is downloaded)
and saves one full-page PNG per page. Re-run it after changing a template.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import socket
import tempfile
import threading
import time
from pathlib import Path

import uvicorn
from playwright.sync_api import sync_playwright

from trustcart.api.app import create_app
from trustcart.demo import run_demo
from trustcart.governance import create_user, list_users
from trustcart.workspace import Workspace

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, help="Demo workspace (default: build one).")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    parser.add_argument("--width", type=int, default=1280)
    args = parser.parse_args()
    for name in [n for n in os.environ if n.startswith("TRUSTCART_")]:
        del os.environ[name]
    tmp = tempfile.TemporaryDirectory(prefix="tc-shots-")
    folder = args.workspace or Path(tmp.name) / "demo"
    if not (folder / "trustcart.toml").exists():
        run_demo(folder, echo=lambda _line: None, customers=1000)
    ws = Workspace.open(folder)
    username, password = "screenshots-dpo", secrets.token_urlsafe(18)
    if username in {u.username for u in list_users(ws.store)}:
        from trustcart.governance import set_password

        set_password(ws.store, username, password, actor="screenshots")
    else:
        create_user(ws.store, username=username, role="dpo", password=password, actor="screenshots")

    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(ws), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}/dashboard"
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            page = browser.new_page(viewport={"width": args.width, "height": 900})
            page.goto(f"{base}/login")
            page.screenshot(path=str(args.out / "dashboard-login.png"))
            page.fill("#username", username)
            page.fill("#password", password)
            page.click("button[type=submit]")
            page.wait_for_url(f"{base}/")
            shots = {"dashboard-overview": "/", "dashboard-findings": "/findings"}
            for name, path in shots.items():
                page.goto(base + path)
                page.screenshot(path=str(args.out / f"{name}.png"), full_page=True)
            page.goto(f"{base}/findings")
            page.click("a.finding-link >> nth=0")
            page.screenshot(path=str(args.out / "dashboard-finding.png"), full_page=True)
            for name, path in {
                "dashboard-datamap": "/datamap",
                "dashboard-consent": "/consent",
                "dashboard-fairness": "/fairness",
                "dashboard-rights": "/rights?view=all",
                "dashboard-governance": "/governance",
                "dashboard-vendors": "/vendors",
                "dashboard-assessments": "/assessments",
                "dashboard-transfers": "/transfers",
            }.items():
                page.goto(base + path)
                page.screenshot(path=str(args.out / f"{name}.png"), full_page=True)
            page.goto(f"{base}/fairness")
            page.click("#audits a >> nth=0")
            page.screenshot(path=str(args.out / "dashboard-audit.png"), full_page=True)
            page.goto(f"{base}/rights?view=all")
            href = page.get_attribute("#requests a >> nth=0", "href") or ""
            if re.search(r"/rights/rr_", href):
                page.goto(f"http://127.0.0.1:{port}{href}")
                page.screenshot(path=str(args.out / "dashboard-rights-detail.png"), full_page=True)
            browser.close()
    finally:
        server.should_exit = True
        thread.join(5)
        ws.close()
        tmp.cleanup()
    for png in sorted(args.out.glob("dashboard-*.png")):
        print(f"wrote {png.relative_to(ROOT) if png.is_relative_to(ROOT) else png}")


if __name__ == "__main__":
    main()
