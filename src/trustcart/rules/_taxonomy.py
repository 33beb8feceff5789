"""The fideslang default taxonomy as plain key sets, and dotted-key ancestry.

Why here: the rule pack names fideslang data categories and data uses; checking every name against
``fideslang.DEFAULT_TAXONOMY`` at load time turns a typo into a loud error instead of a category
that silently never matches.
"""

from __future__ import annotations

from functools import cache

from fideslang.default_taxonomy import DEFAULT_TAXONOMY


@cache
def data_category_keys() -> frozenset[str]:
    """All ``fides_key`` values of the default taxonomy's data categories."""
    return frozenset(str(c.fides_key) for c in DEFAULT_TAXONOMY.data_category)


@cache
def data_use_keys() -> frozenset[str]:
    """All ``fides_key`` values of the default taxonomy's data uses."""
    return frozenset(str(u.fides_key) for u in DEFAULT_TAXONOMY.data_use)


def is_within(key: str, ancestor: str) -> bool:
    """True if ``key`` is ``ancestor`` or one of its descendants (dot-segment aware).

    ``user.financial.bank_account`` is within ``user.financial``; ``user.financialx`` is not.
    """
    return key == ancestor or key.startswith(ancestor + ".")


def self_and_ancestors(key: str) -> list[str]:
    """``a.b.c`` -> ``["a.b.c", "a.b", "a"]`` (most specific first)."""
    parts = key.split(".")
    return [".".join(parts[:i]) for i in range(len(parts), 0, -1)]


def check_data_category(key: str) -> str:
    """Pydantic validator: ``key`` must be a fideslang default data category."""
    if key not in data_category_keys():
        raise ValueError(f"{key!r} is not a fideslang data category (fideslang DEFAULT_TAXONOMY)")
    return key


def check_data_use(key: str) -> str:
    """Pydantic validator: ``key`` must be a fideslang default data use."""
    if key not in data_use_keys():
        raise ValueError(f"{key!r} is not a fideslang data use (fideslang DEFAULT_TAXONOMY)")
    return key
