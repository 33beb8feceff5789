"""``trustcart serve``: the HTTP API (and, as they land, the web pages)."""

from __future__ import annotations

import logging
import os
from typing import Annotated

import typer

from trustcart.cli._common import err_console, workspace_dir
from trustcart.workspace import WORKSPACE_ENV, Workspace


def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Bind address (default from settings).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default from settings).")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
) -> None:
    """Serve the HTTP API (OpenAPI docs at /docs). Binds to 127.0.0.1 unless told otherwise."""
    import uvicorn

    root = workspace_dir(ctx).resolve()
    with Workspace.open(root) as ws:  # migrate once, before workers start
        settings = ws.settings
    os.environ[WORKSPACE_ENV] = str(root)
    logging.basicConfig(level=settings.log_level.upper(), format="%(message)s")
    bind_host, bind_port = host or settings.api_host, port or settings.api_port
    err_console.print(f"TrustCart API on http://{bind_host}:{bind_port}  (docs: /docs)")
    uvicorn.run(
        "trustcart.api.app:app_from_env",
        factory=True,
        host=bind_host,
        port=bind_port,
        workers=workers,
        access_log=False,  # it would log client IPs; see trustcart.api.logging
        log_level=settings.log_level,
    )
