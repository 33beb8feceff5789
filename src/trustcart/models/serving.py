"""Which registered model serves which decision kind, and loading them into a gateway.

``trustcart serve`` (each worker) calls :func:`serve_registered` on its gateway, so a fresh
process answers ``POST /v1/decisions/{kind}`` with the models trained in the workspace. The
choice per kind: the version pinned by the ``serve_models`` setting, else the newest version of
that kind trained with ``trustcart models train``. With ``serve_require_audit`` a version is
served only if a fairness audit of its training data cleared it. A kind left without a model
answers 409 with the reason and how to register one.
"""

from __future__ import annotations

from dataclasses import dataclass

from trustcart.errors import NotFound, TrustCartError
from trustcart.gateway import (
    Clearance,
    DecisionKind,
    DecisionModel,
    Gateway,
    ModelRecord,
    clearance,
    get_model,
    list_models,
)
from trustcart.models.artefacts import load_artefact
from trustcart.models.recommenders import CooccurrenceRecommender
from trustcart.workspace import Workspace


@dataclass(frozen=True, slots=True)
class ServingChoice:
    """What serves one kind: a registered version, or why none does."""

    kind: str
    record: ModelRecord | None
    reason: str | None = None  # why nothing serves (None with no record: nothing trained)
    pinned: bool = False  # chosen by the serve_models setting
    clearance: Clearance | None = None


def serving_plan(ws: Workspace) -> dict[str, ServingChoice]:
    """The model version each decision kind would be served by (no artefact is loaded)."""
    settings = ws.settings
    records = list_models(ws.store)
    plan: dict[str, ServingChoice] = {}
    for kind in DecisionKind:
        k = kind.value
        ref = settings.serve_models.get(k)
        choice: ServingChoice
        if ref is not None:
            name, _, version = ref.partition("@")
            matches = [
                r for r in records if r.name == name and (not version or r.version == version)
            ]
            trained = [r for r in matches if r.artefact is not None]
            if not trained:
                why = "is not registered" if not matches else "was registered in code (no artefact)"
                choice = ServingChoice(
                    k, None, f"serve_models sets {k} = {ref!r}, which {why}", pinned=True
                )
            elif trained[-1].kind != k:
                choice = ServingChoice(
                    k,
                    None,
                    f"serve_models sets {k} = {ref!r}, a {trained[-1].kind} model",
                    pinned=True,
                )
            else:
                choice = ServingChoice(k, trained[-1], pinned=True)
        else:
            trained = [r for r in records if r.kind == k and r.artefact is not None]
            choice = ServingChoice(k, trained[-1] if trained else None)
        record = choice.record
        if record is not None:
            clr = clearance(ws.store, record)
            choice = ServingChoice(k, record, None, choice.pinned, clr)
            if settings.serve_require_audit and not clr.cleared:
                choice = ServingChoice(
                    k,
                    None,
                    f"serve_require_audit is on and {record.ref} is not cleared by a "
                    f"fairness audit of its training data ({clr.describe()})",
                    choice.pinned,
                    clr,
                )
        plan[k] = choice
    return plan


def load_version(ws: Workspace, name: str, version: str) -> DecisionModel | None:
    """A registered version's model from its artefact, or None if it has none (or it is gone)."""
    try:
        record = get_model(ws.store, name, version)
        if record.artefact is None:
            return None
        return load_artefact(ws.root, record)
    except (NotFound, TrustCartError):
        return None


def serve_registered(gw: Gateway, ws: Workspace) -> dict[str, str]:
    """Load the planned model of every kind into ``gw``; returns ``{kind: "name@version"}``
    of what serves. A kind whose artefact cannot be loaded (missing, changed since it was
    registered) is marked unavailable with the reason. Older versions are loaded on demand to
    explain their decisions."""
    served: dict[str, str] = {}
    for kind, choice in serving_plan(ws).items():
        if choice.record is None:
            if choice.reason:
                gw.mark_unavailable(kind, choice.reason)
            continue
        try:
            model = load_artefact(ws.root, choice.record)
            gw.register(kind, model)
        except TrustCartError as exc:
            gw.mark_unavailable(kind, exc.message)
            continue
        if isinstance(model, CooccurrenceRecommender):
            gw.register_fallback(kind, model.popularity)
        served[kind] = choice.record.ref
    return served
