"""The one way TrustCart builds Jinja2 environments for its HTML.

Why one place: autoescaping must be on for every template (manifest text, notice text and
shopper input end up in HTML), undefined names must fail loudly rather than render empty, and
each package's environment is built once per process.
"""

from __future__ import annotations

from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined


@cache
def jinja_env(package: str, folder: str = "templates") -> Environment:
    """Autoescaping, strict environment over ``package``'s template folder."""
    return Environment(
        loader=PackageLoader(package, folder),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
