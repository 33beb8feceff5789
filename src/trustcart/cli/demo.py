"""``trustcart demo``: the StyleSense story on the embedded default (SQLite, no server)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from trustcart.cli._common import console


def demo(
    directory: Annotated[
        Path, typer.Argument(help="Workspace folder for the demo (reused if it exists).")
    ] = Path("trustcart-demo"),
    customers: Annotated[
        int, typer.Option(min=200, max=1_000_000, help="Synthetic customers.")
    ] = 50_000,
    orders: Annotated[
        int, typer.Option(min=1000, max=20_000_000, help="Historical orders (training data).")
    ] = 1_000_000,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same data).")] = 20261125,
) -> None:
    """Build the StyleSense demo workspace, tell its audit story and write reports/report.html."""
    from trustcart.demo import run_demo

    result = run_demo(
        directory,
        echo=lambda line: console.print(line, highlight=False, soft_wrap=True),
        customers=customers,
        orders=orders,
        seed=seed,
    )
    if not result.ledgers_ok:
        raise typer.Exit(1)
