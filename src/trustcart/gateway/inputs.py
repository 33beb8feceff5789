"""Checking a decision's input values before any model sees them.

Why here and not in each model: the gateway is the boundary. A value a model cannot use (a
string where it expects a number, ``NaN``, ``1e400``, an integer too large for the log's JSON,
a string for a list of items) must become a clear 422 naming the feature, never an exception
deep inside LightGBM or ``math.exp`` that the API would have to turn into a 500. A value that
passes is one every reference model handles, and that the decision log can store.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

from trustcart.errors import ValidationError
from trustcart.gateway.plugin import FeatureType

#: Largest magnitude of a number feature. No real feature value (a count, an amount in minor
#: units, a number of days) comes near it, JSON integers lose precision beyond 2^53 ≈ 9·10^15,
#: and the decision log's JSON cannot hold integers beyond 64 bits.
MAX_NUMBER = 1e15
#: Longest text value and item id (characters), and most items in an ``items`` feature.
MAX_TEXT = 200
MAX_ITEMS = 1000


def _describe(value: Any) -> str:
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return f"a {type(value).__name__}"


def _text(value: str, what: str) -> str:
    if len(value) > MAX_TEXT:
        raise ValidationError(f"{what} is longer than {MAX_TEXT} characters")
    if not value.isprintable():
        # control characters (NUL cannot even be stored by PostgreSQL) and lone surrogates
        # (not encodable as UTF-8) are never part of a real feature value or item id
        try:
            value.encode()
        except UnicodeEncodeError:
            raise ValidationError(f"{what} is not valid Unicode text (lone surrogate)") from None
        if any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise ValidationError(f"{what} contains control characters")
    return value


def check_value(name: str, dtype: FeatureType, value: Any) -> Any:
    """``value`` if it fits a feature of type ``dtype`` (numbers may be normalised to
    ``float``); otherwise a :class:`ValidationError` saying what the feature expects."""
    if dtype == "number":
        if type(value) is float or type(value) is int or type(value) is bool:
            x = value
        elif isinstance(value, numbers.Real) and not isinstance(value, bool):
            x = float(value)  # numpy scalars, Decimal-like reals from in-process callers
        else:
            raise ValidationError(
                f"feature {name!r} expects a number, got {_describe(value)}",
                details={"feature": name, "expects": "number"},
            )
        try:
            ok = math.isfinite(x) and abs(x) <= MAX_NUMBER
        except OverflowError:  # an int too large for a float
            ok = False
        if not ok:
            raise ValidationError(
                f"feature {name!r} must be a finite number between -1e15 and 1e15",
                details={"feature": name, "expects": "number"},
            )
        return x
    if dtype == "items":
        if not isinstance(value, list | tuple):
            raise ValidationError(
                f"feature {name!r} expects a list of item ids, got {_describe(value)}",
                details={"feature": name, "expects": "items"},
            )
        if len(value) > MAX_ITEMS:
            raise ValidationError(f"feature {name!r} has more than {MAX_ITEMS} items")
        out: list[str] = []
        for item in value:
            if isinstance(item, str):
                out.append(_text(item, f"an item id of feature {name!r}"))
            elif type(item) is int and abs(item) <= MAX_NUMBER:
                out.append(str(item))
            else:
                raise ValidationError(
                    f"feature {name!r}: each item id must be a string or an integer, got "
                    f"{_describe(item)}",
                    details={"feature": name, "expects": "items"},
                )
        return out
    if not isinstance(value, str):
        raise ValidationError(
            f"feature {name!r} expects a text value, got {_describe(value)}",
            details={"feature": name, "expects": "text"},
        )
    return _text(value, f"feature {name!r}")


def check_group(name: str, value: Any) -> str:
    """The fairness group value (a context entry used by the guardrails, stored in clear): a
    short string or an integer."""
    if isinstance(value, str):
        return _text(value, f"group {name!r}")
    if type(value) is int and abs(value) <= MAX_NUMBER:
        return str(value)
    raise ValidationError(
        f"group {name!r} must be a string or an integer, got {_describe(value)}",
        details={"feature": name, "expects": "group"},
    )
