"""Why these items: per-item reasons for recommendations and rankings, in plain language.

Why per item: a list is one decision, but a person asks "why am I shown *this*?". For the
reference recommenders the answer is exact, not a model of the model: an item-item score is a
sum over the person's recent items of how often each was bought together with the candidate,
so the contributions (one per recent item) add up to the score that ordered the list; ties
and unrelated items are ordered by popularity, which is stated as such.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

#: Items explained one by one; the rest of a long list is summarised in one phrase.
MAX_EXPLAINED_ITEMS = 20


@dataclass(frozen=True, slots=True)
class ItemReason:
    """Why one item sits where it does.

    ``score`` is what ordered it (co-purchases with the person's recent items);
    ``contributions`` split it exactly by recent item (``sum == score``); ``popularity`` is
    the number of baskets holding the item, the tie-breaker (and the whole order for a
    non-personalised list).
    """

    item: str
    rank: int
    score: float
    contributions: dict[str, float] = field(default_factory=dict)
    popularity: int | None = None

    @property
    def basis(self) -> str:
        """``similar`` when the person's recent items placed it, else ``popular``."""
        return "similar" if self.score > 0 else "popular"

    def total(self) -> float:
        """The sum of the contributions (equals ``score``)."""
        return math.fsum(self.contributions.values())

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly view."""
        return {
            "item": self.item,
            "rank": self.rank,
            "basis": self.basis,
            "score": self.score,
            "contributions": dict(self.contributions),
            "popularity": self.popularity,
        }


def _count(n: float) -> str:
    k = int(n) if float(n).is_integer() else n
    return f"{k} basket" + ("" if k == 1 else "s")


def item_sentence(reason: ItemReason, *, labels: Mapping[str, str] | None = None) -> str:
    """``sku-7: bought together with sku-1 (12 baskets) and sku-3 (4 baskets)``."""
    labels = labels or {}
    name = labels.get(reason.item, reason.item)
    if reason.score > 0:
        parts = [
            f"{labels.get(r, r)} ({_count(n)})"
            for r, n in sorted(reason.contributions.items(), key=lambda kv: (-kv[1], kv[0]))
            if n > 0
        ]
        joined = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
        return f"{name}: bought together with {joined}"
    if reason.popularity is None:
        return f"{name}: in the order given"
    return f"{name}: popular with all customers (in {_count(reason.popularity)})"


def items_text(
    reasons: Sequence[ItemReason],
    *,
    recent: Sequence[str] = (),
    total: int | None = None,
    labels: Mapping[str, str] | None = None,
) -> str:
    """One paragraph: how the list was ordered, then the reason of each item shown."""
    if not reasons:
        return "no items"
    total = len(reasons) if total is None else total
    if any(r.score > 0 for r in reasons):
        head = (
            "ordered by how often each item was bought together with your recent items ("
            + ", ".join(recent)
            + "), then by popularity"
        )
    elif any(r.popularity is not None for r in reasons):
        head = "ordered by popularity with all customers (not by anything about you)"
    else:
        head = "in the order given"
    body = "; ".join(item_sentence(r, labels=labels) for r in reasons)
    more = total - len(reasons)
    tail = f"; and {more} more item(s) ordered the same way" if more > 0 else ""
    return f"{head}: {body}{tail}"
