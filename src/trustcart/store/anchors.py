"""Anchors: a log's head (position and hash) copied outside the database.

Why: a hash chain detects any edit by someone who cannot rewrite every later row and the head.
Someone with full write access *can* recompute the whole chain; what they cannot change is a
copy of an earlier head kept elsewhere (a ticket, an e-mail, write-once storage, another
system). ``trustcart ledger anchor`` writes one JSON line per log; ``trustcart ledger verify
--anchors FILE`` then checks that the chain still holds, at each anchored position, the hash
recorded then — so a rewritten history is caught back to the oldest anchor.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import select

from trustcart.clock import utcnow
from trustcart.errors import ValidationError
from trustcart.store.tables import LogEntry, table_of

if TYPE_CHECKING:
    from trustcart.store.store import Store

_entries = table_of(LogEntry)


@dataclass(frozen=True)
class Anchor:
    """The head of one log at one moment."""

    log: str
    seq: int
    hash: str
    at: str

    def to_json(self) -> str:
        """One JSON line."""
        return orjson.dumps(asdict(self), option=orjson.OPT_SORT_KEYS).decode()


@dataclass(frozen=True)
class AnchorCheck:
    """Whether the chain still agrees with one anchor."""

    anchor: Anchor
    ok: bool
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly view."""
        return {**asdict(self.anchor), "ok": self.ok, "reason": self.reason}


def take_anchors(store: Store, names: Iterable[str] | None = None) -> list[Anchor]:
    """The current head of every log (or of ``names``); empty logs are skipped."""
    at = utcnow().isoformat()
    out = []
    for name in names or store.log_names():
        seq, digest = store.log(name).head()
        if seq:
            out.append(Anchor(name, seq, digest, at))
    return out


def write_anchors(path: Path, anchors: Iterable[Anchor]) -> int:
    """Append anchors to ``path`` (JSON lines; earlier anchors are kept). Returns the count."""
    lines = [a.to_json() for a in anchors]
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        for line in lines:
            fh.write(line + "\n")
    return len(lines)


def read_anchors(path: Path) -> list[Anchor]:
    """Anchors from a JSON-lines file, with an error naming the bad line."""
    if not path.is_file():
        raise ValidationError(f"anchor file {path} does not exist")
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            raw = orjson.loads(line)
            anchor = Anchor(str(raw["log"]), int(raw["seq"]), str(raw["hash"]), str(raw["at"]))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            raise ValidationError(
                f"{path}:{n}: not an anchor line; expected "
                '{"log": …, "seq": …, "hash": …, "at": …} as written by `trustcart ledger anchor`'
            ) from None
        if len(anchor.hash) != 64 or anchor.seq < 1:
            raise ValidationError(f"{path}:{n}: an anchor needs seq >= 1 and a 64-hex hash")
        out.append(anchor)
    return out


def check_anchors(store: Store, anchors: Iterable[Anchor]) -> list[AnchorCheck]:
    """For each anchor: does the log still hold its hash at its position?"""
    out = []
    with store.read(snapshot=True) as conn:
        for a in anchors:
            row = conn.execute(
                select(_entries.c.hash, _entries.c.created_at).where(
                    _entries.c.log == a.log, _entries.c.seq == a.seq
                )
            ).first()
            if row is None:
                reason = (
                    f"log {a.log!r} has no entry at position {a.seq}, anchored at {a.at}: "
                    "entries were removed"
                )
                out.append(AnchorCheck(a, False, reason))
            elif row.hash != a.hash:
                reason = (
                    f"entry {a.seq} of {a.log!r} no longer has the hash anchored at {a.at}: "
                    "the history up to it was rewritten"
                )
                out.append(AnchorCheck(a, False, reason))
            else:
                out.append(AnchorCheck(a, True))
    return out
