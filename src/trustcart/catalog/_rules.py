"""Access to the rule pack without importing it at package import time."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from trustcart.rules import Rules


def ensure_rules(rules: Rules | None) -> Rules:
    """``rules`` itself, or the packaged rule pack (loaded lazily: it parses YAML)."""
    if rules is not None:
        return rules
    from trustcart.rules import load_rules

    return load_rules()
