"""What a site scan observed, stage by stage, and what it found.

Why observations and findings are kept apart: the observations (requests, cookies, storage keys
per consent stage) are evidence of what the shop's pages did at a moment; the findings are a
judgement of that evidence against the *current* data map. Storing only the observations lets
the compliance scanner re-judge a stored scan after the data map is fixed, without crawling
again. Observations never hold a cookie value, a storage value or a query string: those are
where identifiers live.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal

NO_CONSENT = "no_consent"
"""Name of the first stage: a new visitor who has chosen nothing."""

FindingKind = Literal[
    "tracker_without_consent", "unknown_third_party", "undeclared_storage", "lifetime_exceeded"
]


@dataclass(frozen=True)
class Request:
    """One request a page made (query and fragment dropped)."""

    url: str
    host: str
    resource_type: str
    page: str
    third_party: bool


@dataclass(frozen=True)
class Cookie:
    """One cookie present after a page loaded (never its value)."""

    name: str
    domain: str
    page: str
    session: bool
    expires: datetime | None
    """When the browser will drop it; ``None`` for a session cookie."""
    lifetime_days: float | None
    """Remaining lifetime when seen, in days; ``None`` for a session cookie."""


@dataclass(frozen=True)
class StorageKey:
    """One ``localStorage`` key of a page's origin after it loaded (never its value)."""

    origin: str
    key: str
    page: str


@dataclass
class Stage:
    """One crawl of the pages as one kind of visitor."""

    name: str
    allowed: list[str]
    """Purposes simulated as allowed (besides those needing no consent)."""
    embed_seen: bool = False
    """Whether the TrustCart embed asked for the visitor's state (so the stage was simulated)."""
    requests: list[Request] = field(default_factory=list)
    cookies: list[Cookie] = field(default_factory=list)
    storage: list[StorageKey] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@dataclass
class SiteScan:
    """A whole scan: where, as whom, which pages, and every stage."""

    id: str
    url: str
    jurisdiction: str
    started_at: datetime
    pages: list[str]
    first_party: list[str]
    stages: list[Stage]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (datetimes as ISO text)."""
        out: dict[str, Any] = _jsonable(asdict(self))
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SiteScan:
        """Rebuild a scan from :meth:`to_dict` output (a stored log payload)."""
        return cls(
            id=data["id"],
            url=data["url"],
            jurisdiction=data["jurisdiction"],
            started_at=datetime.fromisoformat(data["started_at"]),
            pages=list(data["pages"]),
            first_party=list(data["first_party"]),
            stages=[
                Stage(
                    name=s["name"],
                    allowed=list(s["allowed"]),
                    embed_seen=bool(s["embed_seen"]),
                    requests=[Request(**r) for r in s["requests"]],
                    cookies=[
                        Cookie(
                            **{
                                **c,
                                "expires": datetime.fromisoformat(c["expires"])
                                if c["expires"]
                                else None,
                            }
                        )
                        for c in s["cookies"]
                    ],
                    storage=[StorageKey(**k) for k in s["storage"]],
                    errors=list(s.get("errors", [])),
                )
                for s in data["stages"]
            ],
        )


@dataclass(frozen=True)
class SiteFinding:
    """One problem found in a scan: what, about which object, the evidence, and the stages."""

    kind: FindingKind
    object: str
    """``system:KEY``, ``recipient:KEY``, ``host:NAME``, ``cookie:NAME`` or ``storage:NAME``."""
    message: str
    stages: tuple[str, ...]
    evidence: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "kind": self.kind,
            "object": self.object,
            "message": self.message,
            "stages": list(self.stages),
            "evidence": list(self.evidence),
        }


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value
