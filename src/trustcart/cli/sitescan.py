"""``trustcart scan-site``: what the shop's pages load before and after consent.

Exit codes: 0 no finding; 1 at least one finding (trackers without consent, unknown third
parties, undeclared or over-long cookies); 2 usage error (bad URL, no data map, no Chromium).
"""

from __future__ import annotations

from typing import Annotated

import typer

from trustcart.cli._common import (
    FormatOption,
    OutputFormat,
    err_console,
    open_workspace,
    print_json,
    print_table,
)


def scan_site(
    ctx: typer.Context,
    url: Annotated[str, typer.Argument(help="Start page, e.g. https://shop.example/")],
    pages: Annotated[
        int, typer.Option("--pages", "-n", help="Most same-site pages to visit per stage.")
    ] = 5,
    jurisdiction: Annotated[
        str | None,
        typer.Option("--jurisdiction", "-j", help="Visitor's rules, e.g. EU (default: settings)."),
    ] = None,
    purpose: Annotated[
        list[str] | None,
        typer.Option("--purpose", "-p", help="Only this consent stage (repeatable)."),
    ] = None,
    first_party: Annotated[
        list[str] | None,
        typer.Option("--first-party", help="Another host of the shop itself (repeatable)."),
    ] = None,
    store: Annotated[
        bool, typer.Option(help="Store the scan for `trustcart scan` (TC-WEB-* checks).")
    ] = True,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Crawl the shop's pages in headless Chromium with no consent, then with each purpose
    allowed; report trackers without consent, unknown third parties, undeclared cookies."""
    from trustcart.sitescan import scan_site as run

    with open_workspace(ctx) as ws:
        report = run(
            ws,
            url,
            pages=pages,
            jurisdiction=jurisdiction,
            purposes=purpose,
            first_party=first_party or (),
            store=store,
        )
    if fmt is OutputFormat.json:
        print_json(report.to_dict())
    else:
        scan = report.scan
        print_table(
            f"Site scan {scan.id}: {len(scan.pages)} page(s), {len(scan.stages)} stage(s), "
            f"{scan.jurisdiction}",
            ["Stage", "Embed", "Requests", "Third-party hosts", "Cookies", "Storage keys"],
            [
                [
                    s.name,
                    "yes" if s.embed_seen else "NO",
                    len(s.requests),
                    ", ".join(sorted({r.host for r in s.requests if r.third_party})) or "-",
                    ", ".join(sorted({c.name for c in s.cookies})) or "-",
                    ", ".join(sorted({k.key for k in s.storage})) or "-",
                ]
                for s in scan.stages
            ],
        )
        print_table(
            f"Findings: {len(report.findings)}",
            ["Kind", "Object", "Problem", "Evidence"],
            [[f.kind, f.object, f.message, "; ".join(f.evidence[:3])] for f in report.findings],
        )
        for s in scan.stages:
            for e in s.errors:
                err_console.print(f"[{s.name}] could not load {e}")
        if report.log_seq is not None:
            err_console.print(f"stored as entry {report.log_seq} of the site_scans log")
    if report.findings:
        raise typer.Exit(1)
