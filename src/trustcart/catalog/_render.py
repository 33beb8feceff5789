"""The Jinja2 environment for the package's HTML templates.

Why one place: autoescaping must be on for every template (manifest text is user input and ends
up in HTML), and the environment is built once per process.
"""

from __future__ import annotations

from jinja2 import Environment

from trustcart.templating import jinja_env as _package_env


def jinja_env() -> Environment:
    """Autoescaping environment over ``trustcart/catalog/templates``."""
    return _package_env("trustcart.catalog")
