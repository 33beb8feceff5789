"""``trustcart catalog``: the data map and what is generated from it."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from trustcart.catalog import load_manifest
from trustcart.catalog.repository import load_datamap, remove_object, save_datamap
from trustcart.cli._common import (
    FormatOption,
    OutputFormat,
    OutputOption,
    console,
    err_console,
    open_workspace,
    print_json,
    write_output,
)
from trustcart.errors import ValidationError

app = typer.Typer(
    help="Data map: load, inspect, RoPA, privacy notice, data-flow graph.", no_args_is_help=True
)


class RopaFormat(StrEnum):
    """Formats of the Art. 30 record."""

    markdown = "markdown"
    html = "html"
    csv = "csv"


class NoticeFormat(StrEnum):
    """Formats of the privacy notice."""

    markdown = "markdown"
    html = "html"
    json = "json"


class GraphFormat(StrEnum):
    """Formats of the data-flow graph."""

    mermaid = "mermaid"
    svg = "svg"
    png = "png"


@app.command()
def load(
    ctx: typer.Context,
    files: Annotated[list[Path], typer.Argument(help="YAML manifest(s) to upsert, in order.")],
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Validate manifest(s) and upsert them into the workspace (re-loading is harmless)."""
    with open_workspace(ctx) as ws:
        # Validate every file (each against the stored map plus the files before it) before
        # writing any, so a bad file in the list leaves the workspace untouched.
        context = load_datamap(ws.store)
        maps = []
        for f in files:
            dm = load_manifest(f, context=context)
            context = context.merge(dm)
            maps.append(dm)
        results = [save_datamap(ws.store, dm) for dm in maps]
        summary = load_datamap(ws.store).summary()
    if fmt is OutputFormat.json:
        print_json(
            {
                "files": [str(f) for f in files],
                "results": [r.to_dict() for r in results],
                "summary": summary.to_dict(),
            }
        )
        return
    for f, r in zip(files, results, strict=True):
        err_console.print(
            f"{f}: {len(r.created)} created, {len(r.updated)} updated, {r.unchanged} unchanged"
        )
    console.print(summary.to_table())


@app.command()
def show(ctx: typer.Context, fmt: FormatOption = OutputFormat.table) -> None:
    """Inventory summary: systems, datasets, fields by sensitivity, vendors, transfers."""
    with open_workspace(ctx) as ws:
        dm = load_datamap(ws.store)
    if fmt is OutputFormat.json:
        print_json({"summary": dm.summary().to_dict(), "datamap": dm.model_dump(mode="json")})
    else:
        console.print(dm.summary().to_table())


@app.command()
def ropa(
    ctx: typer.Context,
    fmt: Annotated[RopaFormat, typer.Option("--format", "-f")] = RopaFormat.markdown,
    output: OutputOption = None,
) -> None:
    """The GDPR Art. 30(1) record of processing activities."""
    from trustcart.catalog import render_ropa

    with open_workspace(ctx) as ws:
        dm = load_datamap(ws.store)
    write_output(render_ropa(dm, fmt=fmt.value), output)


@app.command()
def notice(
    ctx: typer.Context,
    jurisdiction: Annotated[
        str | None, typer.Option("--jurisdiction", "-j", help="Only this jurisdiction's rights.")
    ] = None,
    fmt: Annotated[NoticeFormat, typer.Option("--format", "-f")] = NoticeFormat.markdown,
    output: OutputOption = None,
) -> None:
    """The layered privacy notice (summary + detailed sections), versioned by content hash."""
    from trustcart.catalog import render_notice

    with open_workspace(ctx) as ws:
        dm = load_datamap(ws.store)
    n = render_notice(dm, jurisdiction=jurisdiction)
    err_console.print(f"notice version {n.display_id}")
    if fmt is NoticeFormat.json:
        print_json(
            {
                "version": n.version,
                "language": n.language,
                "summary": n.summary,
                "sections": [
                    {"key": s.key, "title": s.title, "paragraphs": s.paragraphs, "items": s.items}
                    for s in n.sections
                ],
            }
        )
        return
    write_output(n.markdown() if fmt is NoticeFormat.markdown else n.html(), output)


@app.command()
def graph(
    ctx: typer.Context,
    fmt: Annotated[GraphFormat, typer.Option("--format", "-f")] = GraphFormat.mermaid,
    output: OutputOption = None,
) -> None:
    """The data-flow graph (Mermaid text, or an SVG/PNG picture)."""
    from trustcart.catalog import render_graph

    if fmt is GraphFormat.png and output is None:
        raise ValidationError("PNG is binary: give --output FILE.png")
    with open_workspace(ctx) as ws:
        dm = load_datamap(ws.store)
    write_output(render_graph(dm, fmt.value), output)


@app.command()
def remove(
    ctx: typer.Context,
    kind: Annotated[str, typer.Argument(help="system, dataset, purpose, recipient, flow, …")],
    key: Annotated[str, typer.Argument(help="The object's key.")],
) -> None:
    """Remove one object (refused while others refer to it)."""
    with open_workspace(ctx) as ws:
        remove_object(ws.store, kind, key)
    err_console.print(f"removed {kind} {key}")
