"""Cross-border transfers: is each transfer of personal data out of a regime lawful?

    assessments = assess_transfers(datamap, rules, vendors=records.vendors)
    [a for a in assessments if not a.ok]          # each with problems: citation + fix
    localisation_flags(datamap, rules)            # PIPL, 152-FZ, DPDP for served jurisdictions

Which data leaves is derived from the data map (:mod:`trustcart.catalog.transfers`); whether it
may is judged here against the rule pack's Chapter V data (adequacy list with the DPF-only US
decision, SCC modules, BCRs, Art. 49 derogations) and the vendor registry.
"""

from __future__ import annotations

from trustcart.transfers.assess import (
    LocalisationFlag,
    TransferAssessment,
    TransferProblem,
    adequacy_covers,
    assess_transfers,
    localisation_flags,
)
from trustcart.transfers.basis import TransferBasis, TransferImpactAssessment, parse_safeguard

__all__ = [
    "LocalisationFlag",
    "TransferAssessment",
    "TransferBasis",
    "TransferImpactAssessment",
    "TransferProblem",
    "adequacy_covers",
    "assess_transfers",
    "localisation_flags",
    "parse_safeguard",
]
