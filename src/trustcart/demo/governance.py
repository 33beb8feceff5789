"""Demo step: the ethics committee reviews each served model version (linked to its AIA), and
the support agent who may read customers' data has a key, an access review and her training."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from trustcart.workspace import Workspace

Echo = Callable[[str], None]
COMMITTEE = "StyleSense ethics committee"
AGENT = "amira.support@stylesense.example"


def run_governance_step(ws: Workspace, echo: Echo) -> None:
    """Review the newest version of every registered model; give the support agent a key,
    her training records and a first access review."""
    from trustcart.assessments import load_records
    from trustcart.clock import utcnow
    from trustcart.gateway import list_models
    from trustcart.governance import (
        create_key,
        record_training,
        review_access,
        review_model,
        training_gaps,
    )

    records = load_records(ws.store)
    newest = {m.name: m for m in list_models(ws.store)}  # oldest first: the newest wins
    for m in newest.values():
        aia = next((a for a in records.aias if a.model == m.name), None)
        conditions = aia.approval.conditions if aia and aia.approval else []
        r = review_model(
            ws.store,
            m.name,
            m.version,
            decision="approved_with_conditions" if conditions else "approved",
            reviewer=COMMITTEE,
            conditions=conditions,
            aia=aia.key if aia else None,
            actor="demo",
        )
        echo(f"    ethics review of {m.name} v{m.version}: {r.decision.replace('_', ' ')}")
    _secret, key = create_key(ws.store, role="support", name=AGENT, actor="demo")
    today = utcnow().date()
    for course in ws.settings.training_required:
        record_training(
            ws.store,
            AGENT,
            course,
            today - timedelta(days=30),
            validity_days=ws.settings.training_validity_days,
            actor="demo",
        )
    review_access(ws.store, key.id, decision="approved", reviewer="DPO", actor="demo")
    gaps = training_gaps(ws.store, required=ws.settings.training_required)
    echo(
        f"    support key {key.id}: reviewed, trained in "
        f"{', '.join(ws.settings.training_required)}; training gaps: {len(gaps)}"
    )
