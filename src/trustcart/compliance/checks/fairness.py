"""Fairness: the latest audit's serious findings, and models nobody has audited."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from trustcart.compliance.registry import CheckContext, Issue, check


def _label(group: Any) -> str:
    if isinstance(group, dict):
        return ", ".join(f"{k}={v}" for k, v in group.items())
    return str(group)


@check(
    "TC-FAI-001",
    area="fairness",
    title="Latest fairness audit has high-severity findings",
    severity="high",
    rule="29 CFR 1607.4(D) (four-fifths rule)",
    fix="Investigate the disparity (proxies, training data), mitigate it, and re-run the audit.",
)
def latest_audit_high_findings(ctx: CheckContext) -> Iterator[Issue]:
    """Each high-severity finding of the most recent stored audit, with the rule it crosses."""
    if ctx.store is None:
        return
    from trustcart.fairness.store import DISPARITY_KINDS, get_audit, list_audits

    # Proxy scans and mitigations are stored too; the latest *disparity* audit is the evidence.
    latest = list_audits(ctx.store, limit=1, kinds=DISPARITY_KINDS)
    if not latest:
        return
    audit = get_audit(ctx.store, str(latest[0]["id"]))
    for f in audit["result"].get("findings", []):
        if f.get("severity") != "high":
            continue
        metric = str(f.get("metric", ""))
        group = _label(f.get("group"))
        yield Issue(
            f"fairness_audit:{audit['id']}",
            f"Audit {audit['id']} of {audit['source'] or 'an unnamed source'}: "
            f"{f.get('message', metric)}",
            rule=str(f.get("rule") or "29 CFR 1607.4(D) (four-fifths rule)"),
            fix=str(f.get("advice") or "") or None,
            key=f"{metric}/{group}",
        )


@check(
    "TC-FAI-002",
    area="fairness",
    title="Registered model with no fairness audit since its registration",
    severity="medium",
    rule="TrustCart practice: audit every model version the gateway serves for disparities "
    "(e.g. the four-fifths rule, 29 CFR 1607.4(D)) before relying on it",
    fix="Run `trustcart audit` on the model's decisions or training data and keep the result in "
    "the workspace.",
)
def model_without_audit(ctx: CheckContext) -> Iterator[Issue]:
    """A registered model version registered after the newest stored audit (or with no audit
    at all). Audits do not name the model they covered, so "an audit stored since the model was
    registered" is the evidence looked for."""
    if ctx.store is None:
        return
    from trustcart.fairness.store import DISPARITY_KINDS, list_audits
    from trustcart.gateway import list_models

    models = list_models(ctx.store)
    if not models:
        return
    audits = list_audits(ctx.store, limit=1, kinds=DISPARITY_KINDS)
    newest = audits[0]["created_at"] if audits else None
    for m in models:
        if newest is None or newest < m.created_at:
            yield Issue(
                f"model:{m.name}@{m.version}",
                f"Model {m.name} version {m.version} ({m.kind}) has no fairness audit stored "
                "since it was registered.",
            )
