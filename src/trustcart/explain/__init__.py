"""Explanations: exact additive attributions and plain-language reasons.

att = linear_attributions(names, coef, intercept, x, baseline)   # coef·(x − baseline)
att = tree_attributions(booster, names, row)                     # LightGBM TreeSHAP
price_sentence(att, labels={"loyalty_tier": "loyalty tier"}, values=features)
items_text(model.explain_items(features, items), recent=["sku-1"])   # why these items
"""

from __future__ import annotations

from trustcart.explain.attributions import (
    Attribution,
    linear_attributions,
    tree_attributions,
    values_in_order,
)
from trustcart.explain.items import MAX_EXPLAINED_ITEMS, ItemReason, item_sentence, items_text
from trustcart.explain.text import price_sentence, score_sentence, top_reasons

__all__ = [
    "MAX_EXPLAINED_ITEMS",
    "Attribution",
    "ItemReason",
    "item_sentence",
    "items_text",
    "linear_attributions",
    "price_sentence",
    "score_sentence",
    "top_reasons",
    "tree_attributions",
    "values_in_order",
]
