"""Disclosures the shop must show with a decision.

EU: a price "personalised on the basis of automated decision-making" must say so — Omnibus
Directive 2019/2161, inserting CRD 2011/83/EU Art. 6(1)(ea), from 2022-05-28. The flag is set
only when personal data actually moved the price away from list price; a list price, or a
price moved only by non-personal inputs (stock, demand), needs no such notice.
"""

from __future__ import annotations

from decimal import Decimal

from trustcart.gateway.decision import Disclosure
from trustcart.rules import Jurisdiction

PERSONALISED_PRICE = Disclosure(
    code="eu_personalised_price",
    text="price personalised on the basis of automated decision-making",
    citation="Omnibus Directive 2019/2161; CRD 2011/83/EU Art. 6(1)(ea)",
)


def price_disclosures(
    j: Jurisdiction, *, personalised: bool, price: Decimal, list_price: Decimal
) -> list[Disclosure]:
    """Flags for a price decision. An unknown place gets the strictest default (``is_fallback``),
    which discloses too: telling a customer more is never unlawful."""
    if personalised and price != list_price and (j.code == "EU" or j.is_fallback):
        return [PERSONALISED_PRICE]
    return []
