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
    """Serve the HTTP API (OpenAPI docs at /docs). Binds to 127.0.0.1 unless told otherwise.

    Decisions are answered by the models trained in the workspace (`trustcart models train`;
    the `serve_models` setting pins versions); restart to pick up a newly trained one.
    """
    import uvicorn

    from trustcart.models import serving_plan

    root = workspace_dir(ctx).resolve()
    with Workspace.open(root) as ws:  # migrate once, before workers start
        settings = ws.settings
        plan = serving_plan(ws)
    for kind, choice in plan.items():  # what each worker will load (names and versions only)
        if choice.record is not None:
            audit = choice.clearance.describe() if choice.clearance else "not audited"
            err_console.print(f"{kind}: {choice.record.ref} ({audit})", highlight=False)
        elif choice.reason:
            err_console.print(f"{kind}: no model — {choice.reason}", highlight=False)
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
        # a worker must answer the supervisor's ping within this many seconds or is killed and
        # restarted; uvicorn's 5 s default kills workers still importing on a busy machine
        timeout_worker_healthcheck=30,
        log_level=settings.log_level,
    )
