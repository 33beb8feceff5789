"""The workspace's gateway policy file, ``guardrails.yaml`` (optional).

Why a file next to ``trustcart.toml`` and not more flat settings: credit tiers, reason
statements and vulnerable segments are lists and tables a DPO reviews and diffs like the data
map; a flat key per value would not read. Absent file → shipped defaults. A ``Gateway`` built
in code may still pass its own rules, which win over the file.

    credit:
      threshold: 0.5
      limits: [{min_score: 0.5, limit: "200"}, {min_score: 0.8, limit: "800"}]
      group_key: age_band            # recorded for audits, never passed to the model
      max_reasons: 4
      reasons: {late_payments: "Recent late payments on instalments"}
    offer:
      offer: flash-sale
      high_pressure: true
      audience_key: in_audience
      group_key: age_band
      min_rate_ratio: 0.8
    vulnerable_segments:             # replaces the shipped defaults (vulnerable.yaml)
      - {key: minors, context_key: is_minor, applies_to: [credit, high_pressure_offer]}
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError

from trustcart.errors import ConfigError
from trustcart.gateway.credit import DEFAULT_MAX_REASONS, CreditRules
from trustcart.gateway.guardrails import OfferGuardrail, OfferRules
from trustcart.gateway.vulnerable import VulnerableSegments, default_segments, segments_from

POLICY_FILE = "guardrails.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Tier(_Strict):
    min_score: float = Field(ge=0, le=1)
    limit: Decimal = Field(ge=0, max_digits=14, decimal_places=2)


class _Credit(_Strict):
    threshold: float = Field(default=0.5, ge=0, le=1)
    limits: list[_Tier] | None = Field(default=None, min_length=1, max_length=20)
    group_key: str | None = Field(default=None, min_length=1, max_length=64)
    max_reasons: int = Field(default=DEFAULT_MAX_REASONS, ge=0, le=20)
    reasons: dict[str, str] = Field(default_factory=dict)


class _Offer(_Strict):
    offer: str = "voucher"
    threshold: float = Field(default=0.5, ge=0, le=1)
    default: str | None = None
    high_pressure: bool = False
    audience_key: str | None = Field(default=None, min_length=1, max_length=64)
    group_key: str | None = Field(default=None, min_length=1, max_length=64)
    min_rate_ratio: float = Field(default=0.8, gt=0, le=1)
    min_decisions: int = Field(default=20, ge=1)


class _Segment(_Strict):
    key: str = Field(min_length=1, max_length=64)
    label: str | None = None
    context_key: str = Field(min_length=1, max_length=64)
    applies_to: list[str] = Field(default_factory=lambda: ["credit", "high_pressure_offer"])
    citation: str = "EU AI Act Art. 5(1)(b)"


class _File(_Strict):
    credit: _Credit | None = None
    offer: _Offer | None = None
    vulnerable_segments: list[_Segment] | None = None


@dataclass(frozen=True)
class GatewayPolicy:
    """What ``guardrails.yaml`` configures (defaults where it is silent). ``offer_rules`` and
    ``offer_guardrail`` are None when the file has no ``offer`` section (the gateway's own
    defaults then apply)."""

    credit: CreditRules
    segments: VulnerableSegments
    offer_rules: OfferRules | None = None
    offer_guardrail: OfferGuardrail | None = None


def parse_policy(data: Any, source: str = POLICY_FILE) -> GatewayPolicy:
    """A policy from the file's parsed YAML (``None`` = empty file)."""
    try:
        parsed = _File.model_validate(data or {})
    except PydanticValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"invalid {source}: {problems}") from None
    c = parsed.credit or _Credit()
    try:
        credit = CreditRules(
            threshold=c.threshold,
            limits=(
                tuple((t.min_score, t.limit) for t in c.limits)
                if c.limits
                else CreditRules().limits
            ),
            group_key=c.group_key,
            max_reasons=c.max_reasons,
            reasons=dict(c.reasons),
        )
    except ValueError as exc:
        raise ConfigError(f"invalid {source}: credit: {exc}") from None
    segments = (
        default_segments()
        if parsed.vulnerable_segments is None
        else segments_from([s.model_dump() for s in parsed.vulnerable_segments])
    )
    rules = guard = None
    if parsed.offer is not None:
        o = parsed.offer
        rules = OfferRules(o.offer, o.threshold, o.default, o.high_pressure, o.audience_key)
        guard = OfferGuardrail(o.group_key, o.min_rate_ratio, o.min_decisions)
    return GatewayPolicy(credit, segments, rules, guard)


def load_policy(root: Path) -> GatewayPolicy:
    """The policy of the workspace at ``root`` (shipped defaults when it has no file)."""
    path = root / POLICY_FILE
    if not path.is_file():
        return GatewayPolicy(CreditRules(), default_segments())
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from None
    return parse_policy(data, str(path))
