"""The Jinja2 environment for the package's HTML templates.

Why one place: autoescaping must be on for every template (manifest text is user input and ends
up in HTML), and the environment is built once per process.
"""

from __future__ import annotations

from functools import lru_cache

from jinja2 import Environment, PackageLoader, StrictUndefined


@lru_cache(maxsize=1)
def jinja_env() -> Environment:
    """Autoescaping environment over ``trustcart/catalog/templates``."""
    return Environment(
        loader=PackageLoader("trustcart.catalog", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
