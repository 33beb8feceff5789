"""Shared plumbing of the CLI: the workspace option, output formats, error reporting."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.table import Table

from trustcart.errors import TrustCartError
from trustcart.workspace import Workspace, locate

console = Console()
err_console = Console(stderr=True)


class OutputFormat(StrEnum):
    """``--format`` for commands whose output is data."""

    table = "table"
    json = "json"


FormatOption = Annotated[
    OutputFormat, typer.Option("--format", "-f", help="table for people, json for scripts.")
]
OutputOption = Annotated[
    Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")
]


def workspace_dir(ctx: typer.Context) -> Path:
    """The folder given by ``--workspace`` / ``TRUSTCART_WORKSPACE`` / the cwd."""
    value = (ctx.obj or {}).get("workspace")
    return locate(value)


def open_workspace(ctx: typer.Context) -> Workspace:
    """Open the selected workspace (errors become a clear message and exit code 2)."""
    return Workspace.open(workspace_dir(ctx))


def print_json(data: Any) -> None:
    """Pretty JSON on stdout (datetimes as ISO-8601)."""
    sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2, default=str).decode() + "\n")


def print_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A rich table on stdout."""
    table = Table(title=title, title_justify="left")
    for i, col in enumerate(columns):
        # the first column is an identifier people copy: never cut it
        table.add_column(col, no_wrap=i == 0, min_width=None)
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    console.print(table)


def write_output(content: str | bytes, output: Path | None) -> None:
    """Write text/bytes to ``output`` (reporting where) or to stdout."""
    if output is None:
        if isinstance(content, bytes):
            sys.stdout.buffer.write(content)
        else:
            sys.stdout.write(content if content.endswith("\n") else content + "\n")
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        output.write_bytes(content)
    else:
        output.write_text(content)
    err_console.print(f"wrote {output}")


def report_error(exc: TrustCartError) -> None:
    """Print a domain error; located problems (file:line path: message) are listed in full."""
    details = exc.details
    if (
        isinstance(details, list)
        and details
        and all(isinstance(d, dict) and "path" in d and "message" in d for d in details)
    ):
        headline = exc.message.splitlines()[0].rstrip(":")
        err_console.print(f"[bold red]error:[/] {headline}:", highlight=False, soft_wrap=True)
        for d in details:
            where = f"{d.get('file', '')}:{d.get('line', '?')} " if d.get("file") else ""
            err_console.print(
                f"  {where}{d['path']}: {d['message']}", highlight=False, soft_wrap=True
            )
        return
    err_console.print(f"[bold red]error:[/] {exc.message}", highlight=False)
