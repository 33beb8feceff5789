"""End-user web pages: the preference center, the privacy notice and the embed script.

Thin shells over :mod:`trustcart.consent` (see ``DESIGN.md``: no business logic in routes):
server-rendered Jinja templates, a little vanilla JavaScript, no build step.
``create_app`` includes :data:`router`.
"""

from __future__ import annotations

from trustcart.web import review_pages as _review_pages  # noqa: F401 - registers /privacy/review
from trustcart.web import rights_pages as _rights_pages  # noqa: F401 - registers /privacy/request
from trustcart.web.router import router

__all__ = ["router"]
