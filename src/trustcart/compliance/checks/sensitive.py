"""Sensitive data: processed only on the basis the rule pack requires for it."""

from __future__ import annotations

from collections.abc import Iterator

from trustcart.catalog import LegalBasis
from trustcart.compliance.registry import CheckContext, Issue, check
from trustcart.rules import PurposeType


@check(
    "TC-SEN-001",
    area="sensitive_data",
    title="Sensitive data processed without consent in an opt-in jurisdiction",
    severity="high",
    rule="Rule pack: consent_model.sensitive_data of the jurisdiction",
    fix="Make the purpose consent-based in that jurisdiction (a separate, specific consent naming "
    "the sensitive category), or stop processing the sensitive field for this purpose.",
)
def sensitive_without_consent(ctx: CheckContext) -> Iterator[Issue]:
    """A purpose processes a field that is sensitive in a jurisdiction whose rule pack requires
    opt-in for sensitive data, but the purpose's legal basis there is not consent."""
    sens = ctx.sensitivity
    for p in ctx.datamap.purposes:
        fields = ctx.datamap.fields_for(p.key)
        for code, basis in sorted(p.legal_basis.items()):
            if basis == LegalBasis.CONSENT:
                continue
            j = ctx.jurisdiction(code)
            req = j.consent_requirement(PurposeType.SENSITIVE_DATA)
            if req.model != "opt_in":
                continue
            hits: list[str] = []
            cites: list[str] = []
            for ds, fld in fields:
                fs = sens.fields.get((ds.key, fld.name))
                if fs is None or fs.level != "sensitive":
                    continue
                reasons = [r for r in fs.reasons if j.is_fallback or r.jurisdiction == j.code]
                if not reasons:
                    continue
                hits.append(
                    f"{ds.key}.{fld.name} ({', '.join(sorted({r.label for r in reasons}))})"
                )
                cites.extend(r.citation for r in reasons)
            if not hits:
                continue
            conf = " (unconfirmed in the rule pack)" if req.confidence == "unconfirmed" else ""
            rule = (
                f"{'; '.join(dict.fromkeys(cites))}; {j.code} consent model for sensitive data: "
                f"opt_in{conf} ({req.citation})"
            )
            yield Issue(
                f"purpose:{p.key}",
                f"Purpose {p.key} processes sensitive data in {code} on the basis "
                f"'{basis.value}', but the rule pack requires opt-in consent there: "
                + "; ".join(hits)
                + ".",
                rule=rule,
                key=code,
            )
