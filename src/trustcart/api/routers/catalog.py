"""The data map over HTTP: read it, upsert into it, and get what is generated from it."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel

from trustcart.api.auth import get_workspace, requires
from trustcart.catalog import DataMap
from trustcart.catalog.repository import load_datamap, remove_object, save_datamap
from trustcart.governance import Scope
from trustcart.workspace import Workspace

router = APIRouter(prefix="/v1/catalog", tags=["catalog"])


def _text(*media: str) -> dict[str, Any]:
    """OpenAPI ``content`` for non-JSON answers (each a string / binary body)."""
    return {m: {"schema": {"type": "string"}} for m in media}


WorkspaceDep = Annotated[Workspace, Depends(get_workspace)]
_KEY = Path(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.:\-]+$")


class LoadOut(BaseModel):
    """What an upsert changed, and the inventory afterwards."""

    created: list[str]
    updated: list[str]
    unchanged: int
    summary: dict[str, Any]


class NoticeSectionOut(BaseModel):
    """One section of the detailed layer."""

    key: str
    title: str
    paragraphs: list[str]
    items: list[str]


class NoticeOut(BaseModel):
    """The layered notice as data."""

    version: str
    language: str
    summary: str
    sections: list[NoticeSectionOut]


@router.get("", **requires(Scope.CATALOG_READ))
def get_summary(ws: WorkspaceDep) -> dict[str, Any]:
    """Inventory summary: counts, fields by sensitivity, vendors, countries, transfers."""
    return load_datamap(ws.store).summary().to_dict()


@router.get("/datamap", **requires(Scope.CATALOG_READ))
def get_datamap(ws: WorkspaceDep) -> dict[str, Any]:
    """The whole data map, in the manifest's JSON form."""
    return load_datamap(ws.store).model_dump(mode="json")


@router.post("", response_model=LoadOut, **requires(Scope.CATALOG_WRITE))
def post_manifest(
    ws: WorkspaceDep,
    request: Request,
    manifest: Annotated[
        dict[str, Any],
        Body(description="A data-map manifest (same keys as examples/shop.yaml), as JSON."),
    ],
) -> LoadOut:
    """Validate a manifest and upsert it (idempotent); 422 lists every problem with its path."""
    dm = DataMap.validate_data(manifest)
    result = save_datamap(ws.store, dm, actor=request.state.principal.key_id)
    return LoadOut(**result.to_dict(), summary=load_datamap(ws.store).summary().to_dict())


@router.delete("/{kind}/{key}", status_code=204, **requires(Scope.CATALOG_WRITE))
def delete_object(
    ws: WorkspaceDep,
    request: Request,
    kind: Annotated[str, Path(max_length=32, pattern=r"^[a-z_]+$")],
    key: Annotated[str, _KEY],
) -> None:
    """Remove one object; 422 while other objects still refer to it."""
    remove_object(ws.store, kind, key, actor=request.state.principal.key_id)


@router.get(
    "/ropa",
    **requires(
        Scope.CATALOG_READ,
        responses={200: {"content": _text("text/markdown", "text/html", "text/csv")}},
    ),
)
def get_ropa(
    ws: WorkspaceDep,
    format: Annotated[Literal["markdown", "html", "csv"], Query()] = "markdown",
) -> Response:
    """The GDPR Art. 30(1) record of processing activities."""
    from trustcart.catalog import render_ropa

    text = render_ropa(load_datamap(ws.store), fmt=format)
    media = {"markdown": "text/markdown", "html": "text/html", "csv": "text/csv"}[format]
    return Response(text, media_type=f"{media}; charset=utf-8")


@router.get(
    "/notice",
    response_model=NoticeOut,
    **requires(
        Scope.CATALOG_READ, responses={200: {"content": _text("text/markdown", "text/html")}}
    ),
)
def get_notice(
    ws: WorkspaceDep,
    jurisdiction: Annotated[str | None, Query(max_length=16, pattern=r"^[A-Za-z-]+$")] = None,
    format: Annotated[Literal["json", "markdown", "html"], Query()] = "json",
) -> Any:
    """The layered privacy notice; ``version`` is the sha256 of its content."""
    from trustcart.catalog import render_notice

    n = render_notice(load_datamap(ws.store), jurisdiction=jurisdiction)
    if format == "markdown":
        return Response(n.markdown(), media_type="text/markdown; charset=utf-8")
    if format == "html":
        return HTMLResponse(n.html())
    return NoticeOut(
        version=n.version,
        language=n.language,
        summary=n.summary,
        sections=[
            NoticeSectionOut(
                key=s.key, title=s.title, paragraphs=list(s.paragraphs), items=list(s.items)
            )
            for s in n.sections
        ],
    )


@router.get(
    "/graph",
    **requires(
        Scope.CATALOG_READ,
        responses={200: {"content": _text("image/svg+xml", "image/png", "text/plain")}},
    ),
)
def get_graph(
    ws: WorkspaceDep,
    format: Annotated[Literal["mermaid", "svg", "png"], Query()] = "mermaid",
) -> Response:
    """The data-flow graph: Mermaid text, SVG or PNG."""
    from trustcart.catalog import render_graph

    content = render_graph(load_datamap(ws.store), format)
    media = {"mermaid": "text/plain", "svg": "image/svg+xml", "png": "image/png"}[format]
    return Response(content, media_type=media)
