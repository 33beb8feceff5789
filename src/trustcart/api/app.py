"""The FastAPI application: a thin shell over the domain packages."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

import trustcart
from trustcart.api.errors import install_error_handlers
from trustcart.api.fastpath import DecisionFastPath
from trustcart.api.hardening import install_hardening
from trustcart.api.links import install_links
from trustcart.api.logging import install_access_log
from trustcart.api.routers import (
    catalog,
    compliance,
    concerns,
    consent,
    decisions,
    governance,
    keys,
    ledgers,
    models,
    monitoring,
    review,
    rights,
    rules,
)
from trustcart.api.schemas import ErrorBody, Health
from trustcart.dashboard import router as dashboard_pages
from trustcart.web import router as privacy_pages
from trustcart.web.concerns_pages import router as concern_pages
from trustcart.workspace import Workspace


class TrustCartAPI(FastAPI):
    """FastAPI, with the single-decision route answered by :class:`DecisionFastPath` (the
    busiest request, without the framework's routing cost; see ``trustcart.api.fastpath``)."""

    decision_fast_path: DecisionFastPath | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        fast = self.decision_fast_path
        if fast is not None and scope["type"] == "http":
            if self.root_path:
                scope["root_path"] = self.root_path
            if fast.handles(scope):
                await fast(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


def create_app(workspace: Workspace, *, fast_decisions: bool = True) -> FastAPI:
    """Build the app serving ``workspace``.

    The workspace is opened by the caller (``trustcart serve`` or a test) so the app never
    reads configuration itself. ``fast_decisions=False`` leaves ``POST /v1/decisions/{kind}``
    to its FastAPI route (the tests compare the two).
    """
    app = TrustCartAPI(
        title="TrustCart",
        version=trustcart.__version__,
        description=(
            "Lawful and fair personalization: data map, consent, decisions, audits, rights. "
            "Authenticate with `Authorization: Bearer <key>` (create keys with "
            "`trustcart keys create --role ROLE`)."
        ),
        # Every route may answer these with the error body; documenting them keeps the
        # OpenAPI contract true (the schemathesis fuzz test checks responses against it).
        responses={
            400: {"model": ErrorBody, "description": "Bad request"},
            404: {"model": ErrorBody, "description": "Not found"},
            409: {"model": ErrorBody, "description": "Conflict"},
            422: {"model": ErrorBody, "description": "Invalid input: the message says what to fix"},
        },
    )
    app.state.workspace = workspace
    install_error_handlers(app)
    install_hardening(app)  # inside the access log, so 429s are logged too
    install_access_log(app)
    install_links(app)  # OpenAPI links: which answer feeds which operation

    @app.get("/healthz", response_model=Health, tags=["system"])
    async def healthz() -> Health:
        """Liveness; no authentication, no personal data."""
        # async: a sync route would cost a threadpool round trip per probe
        return Health(status="ok", version=trustcart.__version__, database=workspace.store.dialect)

    app.include_router(catalog.router)
    app.include_router(consent.router)
    app.include_router(decisions.router)
    app.include_router(ledgers.router)
    app.include_router(keys.router)
    app.include_router(rules.router)
    app.include_router(rights.router)
    app.include_router(rights.hooks)
    app.include_router(governance.router)
    app.include_router(concerns.router)
    app.include_router(monitoring.router)
    app.include_router(review.router)
    app.include_router(compliance.router)
    app.include_router(models.router)
    app.include_router(privacy_pages)  # end-user pages under /privacy (no API key)
    app.include_router(dashboard_pages)  # DPO dashboard under /dashboard (login session)
    app.include_router(concern_pages)  # whistleblower channel /concerns (no account)
    if fast_decisions:
        app.decision_fast_path = DecisionFastPath(app)
    return app


def app_from_env() -> FastAPI:
    """App factory for ``uvicorn --factory`` (one per worker): opens ``$TRUSTCART_WORKSPACE``
    and loads the registered models now, so the first decision does not wait for them."""
    app = create_app(Workspace.open(upgrade=False))
    decisions.gateway_of(app)
    return app
