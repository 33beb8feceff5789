"""The rule pack, read-only (scope ``rules:read``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel

from trustcart.api.auth import requires
from trustcart.governance import Scope
from trustcart.rules import load_rules

router = APIRouter(prefix="/v1/rules", tags=["rules"])


class JurisdictionSummary(BaseModel):
    """A jurisdiction in the list view."""

    code: str
    name: str
    regime: str


class RulePack(BaseModel):
    """The rule pack's version and its jurisdictions."""

    rules_version: str
    jurisdictions: list[JurisdictionSummary]


@router.get("/jurisdictions", response_model=RulePack, **requires(Scope.RULES_READ))
def list_jurisdictions() -> RulePack:
    """Jurisdictions in the rule pack."""
    rules = load_rules()
    return RulePack(
        rules_version=rules.version,
        jurisdictions=[
            JurisdictionSummary(code=j.code, name=j.name, regime=j.regime)
            for j in rules.jurisdictions.values()
        ],
    )


@router.get("/jurisdictions/{code}", **requires(Scope.RULES_READ))
def get_jurisdiction(
    code: Annotated[str, Path(min_length=2, max_length=16, pattern=r"^[A-Za-z-]+$")],
) -> dict[str, Any]:
    """One jurisdiction with citations; an unknown code answers the strictest default, flagged
    ``is_fallback`` with the reason."""
    return load_rules().resolve(code).model_dump(mode="json")
