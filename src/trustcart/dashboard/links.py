"""Where a finding's object lives in the dashboard.

Findings name their object as ``kind:key`` (``system:esp``, ``dataset:orders.field:email``,
``rights_request:rr_…``, ``review_case:rv_…``, ``fairness_audit:aud_…``,
``model:pricing@3``); this maps each kind the dashboard has a page for to that page, so a DPO
can go from a problem to the thing to fix.
"""

from __future__ import annotations

from urllib.parse import quote

#: Data-map kinds with an object page under /datamap/{kind}/{key}.
DATAMAP_KINDS = ("system", "dataset", "purpose", "recipient", "flow")


def split_object(obj: str) -> tuple[str, str]:
    """``("dataset", "orders.field:email")`` from ``"dataset:orders.field:email"``."""
    kind, _, key = obj.partition(":")
    return kind, key


def object_path(obj: str) -> str | None:
    """The dashboard path (below the prefix) of a finding's object, or None if it has none."""
    kind, key = split_object(obj)
    if not key:
        return None
    if kind in DATAMAP_KINDS:
        anchor = ""
        if kind == "dataset" and ".field:" in key:
            key, _, field = key.partition(".field:")
            anchor = f"#field-{quote(field, safe='')}"
        return f"/datamap/{kind}/{quote(key, safe='')}{anchor}"
    if kind == "vendor":
        return f"/vendors/{quote(key, safe='')}"
    if kind in ("dpia", "aia"):
        return f"/assessments#{kind}-{quote(key, safe='')}"
    if kind == "rights_request":
        return f"/rights/{quote(key, safe='')}"
    if kind == "review_case":
        return f"/review/{quote(key, safe='')}"
    if kind == "fairness_audit":
        return f"/fairness/{quote(key, safe='')}"
    if kind == "model":
        name, _, version = key.partition("@")
        return f"/decisions?model={quote(name, safe='')}#model-{quote(name, safe='')}-" + quote(
            version, safe=""
        )
    return None
