"""Property: for any history of choices, may_use answers what the rules say about the last one.

The oracle below is written from the consent model's statement (docs/consent-model.md), not from
the service's code: under the EU rules, a consent-based purpose is allowed exactly when the
person's latest event for it is a grant through a mechanism the rule pack counts as consent
(valid, or conditional on an attested condition) under the current notice.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trustcart.catalog import load_manifest
from trustcart.catalog.repository import save_datamap
from trustcart.consent import ConsentEventIn, ConsentService, datamap_notice, register_notice
from trustcart.rules import load_rules
from trustcart.workspace import Workspace

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "shop.yaml"
PURPOSES = ["personalization", "targeted_offers", "analytics"]  # consent-based in the EU
GRANT_MECHANISMS = ["opt_in_checkbox", "preference_center", "implied_banner", "just_in_time", "api"]

steps = st.lists(
    st.tuples(
        st.sampled_from(PURPOSES),
        st.sampled_from(["granted", "denied", "withdrawn"]),
        st.sampled_from(GRANT_MECHANISMS),
    ),
    min_size=1,
    max_size=10,
)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(history=steps)
def test_may_use_follows_the_last_choice(
    workspace: Workspace, history: list[tuple[str, str, str]]
) -> None:
    svc = ConsentService(workspace, max_staleness=0)
    if not svc.datamap.purposes:
        save_datamap(workspace.store, load_manifest(EXAMPLE))
        register_notice(workspace.store, **datamap_notice(load_manifest(EXAMPLE)))
        svc.reload()
    notice = svc._notices[-1].version
    rules = load_rules()
    eu = rules.resolve("EU")
    subject = f"p-{uuid.uuid4().hex[:10]}"
    last: dict[str, tuple[str, str]] = {}
    for purpose, decision, mechanism in history:
        svc.record(
            ConsentEventIn(
                subject=subject,
                purposes=[purpose],
                decision=decision,
                mechanism=mechanism,
                jurisdiction="EU",
                notice_version=notice if decision == "granted" else None,
            )
        )
        last[purpose] = (decision, mechanism)
    for purpose in PURPOSES:
        data_use = svc.datamap.purpose(purpose).data_use  # type: ignore[union-attr]
        expected = False
        if purpose in last and last[purpose][0] == "granted":
            rule = eu.mechanism_rule(last[purpose][1], rules.purpose_type_of(data_use))
            expected = rule.grant in ("valid", "conditional")
        p = svc.may_use(subject, purpose, [], "EU")
        assert p.allowed is expected, (purpose, last.get(purpose), p.reason)
        # A fresh service (another process, after a restart) gives the same answer.
        assert ConsentService(workspace).may_use(subject, purpose, [], "EU").allowed is expected
