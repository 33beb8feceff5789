"""Checkout financing (``credit`` decisions): ECOA / Reg B refusal, eligibility and limit,
adverse-action reasons.

Why credit is stricter than the other kinds: for a price or an offer the gateway *drops* a
protected input and decides without it; for credit that is not good enough. A credit model that
declares a protected characteristic (rules-reference §7: ECOA 15 U.S.C. §1691(a) / Reg B
12 CFR 1002.4) or a registered proxy was built to use it, and serving it without that input
gives a distorted score on which a person is refused financing. So such a model **refuses to
serve**: :class:`CreditModelRefused` (HTTP 409) when it is registered and, if a proxy is
registered later or a jurisdiction treats a category as sensitive, on every credit decision it
would take — never a silent drop.

Why reasons come from the attributions: a declined shopper is told the principal factors that
actually pushed *their* score down — the largest negative contributions of the exact additive
attribution (``coef·(x − mean)`` for the reference logistic model) — mapped to plain statements
through a configurable table (``adverse_action.yaml``, overridable per workspace).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any

import yaml

from trustcart.errors import Conflict
from trustcart.explain import Attribution

#: Reasons shown by default (TrustCart default; the rule pack gives no number).
DEFAULT_MAX_REASONS = 4


class CreditModelRefused(Conflict):
    """A credit model declares or would get a protected characteristic or a proxy of one."""

    code = "credit_model_refused"


@dataclass(frozen=True, slots=True)
class CreditCharacteristic:
    """One ECOA / Reg B protected characteristic and how TrustCart recognises it."""

    key: str
    label: str
    citation: str
    data_categories: tuple[str, ...]
    feature_names: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CreditHit:
    """Why a credit model's feature is refused."""

    feature: str
    characteristic: str
    label: str
    citation: str
    matched: str  # the category or name that matched

    def to_dict(self) -> dict[str, str]:
        """JSON view (error details)."""
        return {
            "feature": self.feature,
            "characteristic": self.characteristic,
            "label": self.label,
            "citation": self.citation,
            "matched": self.matched,
        }


def _data(name: str) -> dict[str, Any]:
    text = resources.files("trustcart.gateway").joinpath(name).read_text()
    data: dict[str, Any] = yaml.safe_load(text)
    return data


@cache
def credit_characteristics() -> tuple[CreditCharacteristic, ...]:
    """The ECOA / Reg B characteristics shipped in ``credit_protected.yaml``."""
    return tuple(
        CreditCharacteristic(
            str(c["key"]),
            str(c["label"]),
            str(c["citation"]),
            tuple(str(x) for x in c.get("data_categories") or ()),
            tuple(str(x).lower() for x in c.get("feature_names") or ()),
        )
        for c in _data("credit_protected.yaml")["characteristics"]
    )


def _within(category: str, parent: str) -> bool:
    return category == parent or category.startswith(parent + ".")


def credit_protected_hit(feature: str, categories: Iterable[str]) -> CreditHit | None:
    """The first ECOA / Reg B characteristic ``feature`` carries (by data category, or by a
    name that states it, e.g. ``age``), or None."""
    cats = list(categories)
    lowered = feature.strip().lower()
    for c in credit_characteristics():
        for cat in cats:
            for parent in c.data_categories:
                if _within(cat, parent):
                    return CreditHit(feature, c.key, c.label, c.citation, cat)
        if lowered in c.feature_names:
            return CreditHit(feature, c.key, c.label, c.citation, f"feature name {feature!r}")
    return None


@cache
def default_reasons() -> dict[str, str]:
    """The shipped feature → reason statement table (``adverse_action.yaml``)."""
    return {str(k): str(v) for k, v in (_data("adverse_action.yaml")["reasons"] or {}).items()}


@dataclass(frozen=True, slots=True)
class AdverseReason:
    """One principal reason a financing request was declined: the feature, its (negative)
    contribution to the score's log-odds and the statement shown to the shopper."""

    feature: str
    effect: float
    text: str

    def to_dict(self) -> dict[str, Any]:
        """JSON view (decision output, explanation)."""
        return {"feature": self.feature, "effect": self.effect, "text": self.text}


def adverse_action_reasons(
    attribution: Attribution,
    *,
    reasons: Mapping[str, str],
    labels: Mapping[str, str] | None = None,
    k: int = DEFAULT_MAX_REASONS,
) -> list[AdverseReason]:
    """The ``k`` most negative contributions (largest first), each mapped to its statement.

    Only factors that lowered the score count: a declined shopper is told what counted
    against them, not what helped. Ties are broken by feature name, so the list is
    deterministic (the explanation cache relies on that).
    """
    labels = labels or {}
    negative = sorted(
        ((n, v) for n, v in attribution.contributions.items() if v < 0),
        key=lambda kv: (kv[1], kv[0]),
    )
    out = []
    for name, effect in negative[: max(k, 0)]:
        text = reasons.get(name)
        if text is None:
            label = labels.get(name, name.replace("_", " "))
            text = f"{label} (main factor in the decision)"
        out.append(AdverseReason(name, effect, text))
    return out


@dataclass(frozen=True)
class CreditRules:
    """How a repayment score becomes a financing decision.

    ``threshold``: the lowest score approved. ``limits``: ``(min_score, limit)`` tiers — the
    limit is the largest tier the score reaches (TrustCart defaults, in the request's
    currency). A request with an amount (``list_price`` of the decision: the basket to
    finance) above the limit is declined. ``group_key`` names a context value used only to
    record the fairness group for audits (never passed to the model). ``reasons`` overrides or
    extends :func:`default_reasons`; ``max_reasons`` is how many are stated.
    """

    threshold: float = 0.5
    limits: tuple[tuple[float, Decimal], ...] = (
        (0.5, Decimal("200")),
        (0.7, Decimal("500")),
        (0.85, Decimal("1000")),
    )
    group_key: str | None = None
    max_reasons: int = DEFAULT_MAX_REASONS
    reasons: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 0 <= self.threshold <= 1:
            raise ValueError("credit threshold must be within [0, 1]")
        if not 0 <= self.max_reasons <= 20:
            raise ValueError("max_reasons must be within [0, 20]")
        for score, limit in self.limits:
            if not 0 <= score <= 1 or limit < 0:
                raise ValueError("each credit limit tier needs 0 <= min_score <= 1 and limit >= 0")

    def reason_table(self) -> dict[str, str]:
        """The shipped statements with this workspace's overrides applied."""
        return {**default_reasons(), **dict(self.reasons)}

    def limit_for(self, score: float) -> Decimal:
        """The limit a score reaches (0 below every tier)."""
        reached = [limit for s, limit in self.limits if score >= s]
        return max(reached, default=Decimal(0))

    def decide(self, score: float, amount: Decimal | None) -> tuple[bool, Decimal, str | None]:
        """``(approved, limit, why_declined)`` for a score and an optional amount."""
        limit = self.limit_for(score) if score >= self.threshold else Decimal(0)
        if score < self.threshold or limit <= 0:
            return False, Decimal(0), "score below the approval threshold"
        if amount is not None and amount > limit:
            return False, limit, f"amount {amount} exceeds the credit limit {limit}"
        return True, limit, None


def check_feature_list(
    model: str, features: Sequence[tuple[str, Sequence[str]]], proxies: Mapping[str, Any]
) -> None:
    """Refuse (:class:`CreditModelRefused`) a credit model declaring a protected
    characteristic or a registered proxy; the error lists every offending feature."""
    hits: list[dict[str, str]] = []
    for name, cats in features:
        hit = credit_protected_hit(name, cats)
        if hit is not None:
            hits.append(hit.to_dict())
        elif name in proxies:
            proxy = proxies[name]
            hits.append(
                {
                    "feature": name,
                    "characteristic": "proxy",
                    "label": f"registered proxy: {proxy.reason}",
                    "citation": "ECOA 15 U.S.C. §1691(a) / Reg B 12 CFR 1002.4",
                    "matched": f"proxy registered by {proxy.source}",
                }
            )
    if hits:
        listed = "; ".join(f"{h['feature']} ({h['label']}, {h['citation']})" for h in hits)
        raise CreditModelRefused(
            f"credit model {model!r} refuses to serve: it declares protected input(s) {listed}. "
            "A credit model must neither use nor be served without such an input (the gateway "
            "does not silently drop it for credit): retrain without these features and "
            "register the new version",
            details={"model": model, "features": hits},
        )
