"""OpenAPI links: where a value in one answer is the input of another operation.

Why: a client (and a stateful fuzzer such as schemathesis) reads from the document that the
``id`` returned by ``POST /v1/decisions/{ref}`` is the ``ref`` of ``GET /v1/decisions/{ref}``
and of its explanation, that the subject of a recorded consent event can be looked up, proved
and given a receipt, and that a rights request's ``id`` is followed up, verified, carried out.
Without links every operation is fuzzed alone, with ids that almost never exist, so the paths
that read back what was just written are barely exercised.

The links are data here, in one place, instead of ``responses=`` arguments scattered over the
routers; :func:`install_links` adds them to the generated document and refuses (at document
build time) a link whose source or target operation does not exist, so renaming a route
without updating its links fails every test that builds the document.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI


@dataclass(frozen=True)
class Link:
    """``source`` answering ``status`` feeds ``target``; ``parameters`` are runtime
    expressions (``$response.body#/id``, ``$request.body#/subject``, ``$request.path.x``)."""

    source: tuple[str, str]  # (method, path template)
    status: str
    name: str
    target: tuple[str, str]
    parameters: dict[str, str] = field(default_factory=dict)
    description: str = ""


_DECISION = ("POST", "/v1/decisions/{ref}")
_BATCH = ("POST", "/v1/decisions")
_EVENT = ("POST", "/v1/consent/events")
_RIGHTS = ("POST", "/v1/rights/requests")
_REQUEST = "/v1/rights/requests/{request_id}"

LINKS: tuple[Link, ...] = (
    # a decision, read back and explained
    Link(
        _DECISION,
        "201",
        "GetDecision",
        ("GET", "/v1/decisions/{ref}"),
        {"ref": "$response.body#/id"},
        "The decision as recorded in the hash-chained log",
    ),
    Link(
        _DECISION,
        "201",
        "GetExplanation",
        ("GET", "/v1/decisions/{decision_id}/explanation"),
        {"decision_id": "$response.body#/id"},
        "Why the decision was taken",
    ),
    Link(
        _DECISION,
        "201",
        "GetSubjectDecisions",
        ("GET", "/v1/subjects/{subject}/decisions"),
        {"subject": "$request.body#/subject"},
        "Every decision about the same person",
    ),
    Link(
        _DECISION,
        "201",
        "GetSubjectExplanations",
        ("GET", "/v1/subjects/{subject}/explanations"),
        {"subject": "$request.body#/subject"},
        "Every decision about the same person, with its reasons",
    ),
    Link(
        _BATCH,
        "201",
        "GetFirstDecision",
        ("GET", "/v1/decisions/{ref}"),
        {"ref": "$response.body#/decisions/0/id"},
        "The batch's first decision as recorded",
    ),
    Link(
        _BATCH,
        "201",
        "GetFirstExplanation",
        ("GET", "/v1/decisions/{decision_id}/explanation"),
        {"decision_id": "$response.body#/decisions/0/id"},
        "Why the batch's first decision was taken",
    ),
    # a consent event: the person's state, proof and receipt
    Link(
        _EVENT,
        "201",
        "GetSubjectState",
        ("GET", "/v1/consent/subjects/{subject}"),
        {"subject": "$request.body#/subject"},
        "The person's latest choice per purpose",
    ),
    Link(
        _EVENT,
        "201",
        "GetSubjectProof",
        ("GET", "/v1/consent/subjects/{subject}/proof"),
        {"subject": "$request.body#/subject"},
        "Proof of consent, including the event just recorded",
    ),
    Link(
        _EVENT,
        "201",
        "GetSubjectReceipt",
        ("GET", "/v1/consent/subjects/{subject}/receipt"),
        {"subject": "$request.body#/subject"},
        "The person's consent receipt",
    ),
    # a rights request: follow-up, verification, fulfilment
    *(
        Link(
            _RIGHTS,
            "201",
            name,
            (method, _REQUEST + suffix),
            {"request_id": "$response.body#/id"},
            description,
        )
        for name, method, suffix, description in (
            ("GetRequest", "GET", "", "The request and its status"),
            ("VerifyRequest", "POST", "/verify", "Check the one-time code"),
            ("SendCode", "POST", "/code", "Send a fresh one-time code"),
            ("RunRequest", "POST", "/run", "Carry the request out"),
            ("ExtendRequest", "POST", "/extend", "Extend the period"),
            ("DenyRequest", "POST", "/deny", "Refuse the request"),
            ("GetPackage", "GET", "/package", "The access package"),
        )
    ),
    # a new API key can be revoked
    Link(
        ("POST", "/v1/keys"),
        "201",
        "RevokeKey",
        ("DELETE", "/v1/keys/{key_id}"),
        {"key_id": "$response.body#/id"},
        "Revoke the key just created",
    ),
    # a concern answered: read it back, close it
    Link(
        ("POST", "/v1/concerns/{concern_id}/replies"),
        "201",
        "GetConcern",
        ("GET", "/v1/concerns/{concern_id}"),
        {"concern_id": "$request.path.concern_id"},
        "The concern with the reply",
    ),
)


def _operation(paths: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    try:
        op: dict[str, Any] = paths[path][method.lower()]
    except KeyError:
        raise RuntimeError(
            f"OpenAPI link names {method} {path}, which the app does not serve"
        ) from None
    return op


def add_links(schema: dict[str, Any], links: tuple[Link, ...] = LINKS) -> dict[str, Any]:
    """Add ``links`` to the response objects of ``schema`` (in place; idempotent)."""
    paths: dict[str, Any] = schema.get("paths", {})
    for link in links:
        source = _operation(paths, *link.source)
        target = _operation(paths, *link.target)
        missing = set(link.parameters) - {
            p["name"] for p in target.get("parameters", []) if p.get("in") == "path"
        }
        if missing:
            raise RuntimeError(
                f"OpenAPI link {link.name} sets {sorted(missing)}, not path parameters of "
                f"{link.target[0]} {link.target[1]}"
            )
        response = source.get("responses", {}).get(link.status)
        if response is None:
            raise RuntimeError(
                f"OpenAPI link {link.name}: {link.source[0]} {link.source[1]} documents no "
                f"{link.status} response"
            )
        response.setdefault("links", {})[link.name] = {
            "operationId": target["operationId"],
            "parameters": dict(link.parameters),
            "description": link.description,
        }
    return schema


def install_links(app: FastAPI) -> None:
    """Add :data:`LINKS` to ``app``'s OpenAPI document when it is first built."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        return add_links(build())

    app.openapi = openapi  # type: ignore[method-assign]
