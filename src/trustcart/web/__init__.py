"""End-user web pages: the preference center, the privacy notice and the embed script.

Thin shells over :mod:`trustcart.consent` (see ``DESIGN.md``: no business logic in routes):
server-rendered Jinja templates, a little vanilla JavaScript, no build step.
``create_app`` includes :data:`router`.
"""

from __future__ import annotations

from trustcart.web.router import router

__all__ = ["router"]
