"""The rights vocabulary: request types, request states, and which rule-pack rights they invoke.

Why request types are not simply :class:`~trustcart.rules.RightKind`: a person asks for one
thing ("stop profiling me") that different laws grant under different names (GDPR Art. 21
objection, Virginia's opt-out of profiling). The type says what TrustCart does; the mapping to
rights says which law, if any, obliges the shop to do it, and by when.
"""

from __future__ import annotations

from enum import StrEnum

from trustcart.rules import PurposeType, RightKind


class RequestType(StrEnum):
    """What the person asks for."""

    ACCESS = "access"
    PORTABILITY = "portability"
    RECTIFICATION = "rectification"
    ERASURE = "erasure"
    RESTRICTION = "restriction"
    OBJECTION = "objection"
    OPT_OUT_SALE_SHARING = "opt_out_sale_sharing"
    OPT_OUT_TARGETED_ADS = "opt_out_targeted_ads"
    OPT_OUT_PROFILING = "opt_out_profiling"
    LIMIT_SENSITIVE = "limit_sensitive"
    EXPLANATION = "explanation"


class RequestStatus(StrEnum):
    """Where a request is. ``completed`` and ``denied`` are final."""

    RECEIVED = "received"
    IDENTITY_VERIFIED = "identity_verified"
    IN_PROGRESS = "in_progress"
    EXTENDED = "extended"
    COMPLETED = "completed"
    DENIED = "denied"


FINAL = frozenset({RequestStatus.COMPLETED, RequestStatus.DENIED})

#: Rights of the rule pack that oblige the shop to act on each request type, in order of
#: preference (the first one the jurisdiction grants gives the citation).
RIGHTS_FOR: dict[RequestType, tuple[RightKind, ...]] = {
    RequestType.ACCESS: (RightKind.ACCESS, RightKind.CONFIRMATION),
    RequestType.PORTABILITY: (RightKind.PORTABILITY,),
    RequestType.RECTIFICATION: (RightKind.RECTIFICATION,),
    RequestType.ERASURE: (RightKind.ERASURE,),
    RequestType.RESTRICTION: (RightKind.RESTRICTION,),
    RequestType.OBJECTION: (RightKind.OBJECTION, RightKind.OPT_OUT_PROFILING),
    RequestType.OPT_OUT_SALE_SHARING: (RightKind.OPT_OUT_SALE_SHARING, RightKind.OBJECTION),
    RequestType.OPT_OUT_TARGETED_ADS: (RightKind.OPT_OUT_TARGETED_ADS, RightKind.OBJECTION),
    RequestType.OPT_OUT_PROFILING: (RightKind.OPT_OUT_PROFILING, RightKind.OBJECTION),
    RequestType.LIMIT_SENSITIVE: (RightKind.LIMIT_SENSITIVE,),
    RequestType.EXPLANATION: (
        RightKind.EXPLANATION,
        RightKind.ADMT_ACCESS,
        RightKind.AUTOMATED_DECISION,
    ),
}

#: Request types that disclose or change a person's data, so they wait for identity
#: verification (CCPA §1798.130: verifiable requests to know, delete, correct; GDPR Art. 12(6):
#: proportionate checks where there is reasonable doubt). Opt-outs and objections are acted on
#: at once: honouring an unverified "stop" can only reduce processing, never leak data.
NEEDS_VERIFICATION = frozenset(
    {
        RequestType.ACCESS,
        RequestType.PORTABILITY,
        RequestType.RECTIFICATION,
        RequestType.ERASURE,
        RequestType.RESTRICTION,
        RequestType.EXPLANATION,
    }
)

#: Purpose types whose consent an opt-out or objection withdraws (so the gateway stops at once).
STOPS: dict[RequestType, frozenset[PurposeType]] = {
    RequestType.OBJECTION: frozenset(
        {PurposeType.PERSONALIZATION, PurposeType.MARKETING, PurposeType.SALE_SHARING}
    ),
    RequestType.OPT_OUT_PROFILING: frozenset({PurposeType.PERSONALIZATION}),
    RequestType.OPT_OUT_TARGETED_ADS: frozenset({PurposeType.MARKETING}),
    RequestType.OPT_OUT_SALE_SHARING: frozenset({PurposeType.SALE_SHARING}),
    RequestType.LIMIT_SENSITIVE: frozenset({PurposeType.SENSITIVE_DATA}),
    RequestType.RESTRICTION: frozenset(
        {
            PurposeType.FUNCTIONAL,
            PurposeType.ANALYTICS,
            PurposeType.PERSONALIZATION,
            PurposeType.MARKETING,
            PurposeType.SALE_SHARING,
            PurposeType.SENSITIVE_DATA,
            PurposeType.AI_TRAINING,
        }
    ),
    RequestType.ERASURE: frozenset(
        {
            PurposeType.FUNCTIONAL,
            PurposeType.ANALYTICS,
            PurposeType.PERSONALIZATION,
            PurposeType.MARKETING,
            PurposeType.SALE_SHARING,
            PurposeType.SENSITIVE_DATA,
            PurposeType.AI_TRAINING,
        }
    ),
}


def parse_request_type(value: str) -> RequestType:
    """A request type from its name, with an error listing the valid ones."""
    from trustcart.errors import ValidationError

    try:
        return RequestType(value.strip().lower().replace("-", "_"))
    except ValueError:
        valid = [t.value for t in RequestType]
        raise ValidationError(
            f"unknown request type {value!r}; choose one of: {', '.join(valid)}",
            details={"valid_types": valid},
        ) from None
