"""The fideslang taxonomy plus a manifest's own extensions, as one lookup table.

Why a wrapper: validation, sensitivity and the rendered documents all need the same three
questions answered for a key — does it exist, what is its human name, what might the author have
meant — and they must agree on what the extensions add to fideslang's defaults.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

TaxonomyKind = Literal["data_category", "data_use", "data_subject"]
TAXONOMY_KINDS: tuple[TaxonomyKind, ...] = ("data_category", "data_use", "data_subject")

_LABEL: dict[TaxonomyKind, str] = {
    "data_category": "data category",
    "data_use": "data use",
    "data_subject": "data subject",
}


@dataclass(frozen=True, slots=True)
class TaxonomyEntry:
    """One node of a taxonomy: fideslang's own or a manifest extension."""

    key: str
    parent_key: str | None
    name: str
    description: str
    extension: bool = False


@lru_cache(maxsize=1)
def _defaults() -> dict[TaxonomyKind, dict[str, TaxonomyEntry]]:
    """fideslang's default taxonomy, read once (it is ~150 small pydantic objects)."""
    from fideslang.default_taxonomy import DEFAULT_TAXONOMY

    out: dict[TaxonomyKind, dict[str, TaxonomyEntry]] = {}
    for kind in TAXONOMY_KINDS:
        entries: dict[str, TaxonomyEntry] = {}
        for item in getattr(DEFAULT_TAXONOMY, kind):
            key = str(item.fides_key)
            entries[key] = TaxonomyEntry(
                key=key,
                parent_key=getattr(item, "parent_key", None),
                name=str(item.name or key),
                description=str(item.description or ""),
            )
        out[kind] = entries
    return out


def default_keys(kind: TaxonomyKind) -> frozenset[str]:
    """The keys fideslang ships for ``kind``."""
    return frozenset(_defaults()[kind])


class Taxonomy:
    """fideslang defaults overlaid with extensions; extensions never shadow a default key."""

    def __init__(self, extensions: Iterable[tuple[TaxonomyKind, TaxonomyEntry]] = ()) -> None:
        self._entries: dict[TaxonomyKind, dict[str, TaxonomyEntry]] = {
            kind: dict(entries) for kind, entries in _defaults().items()
        }
        for kind, entry in extensions:
            self._entries[kind].setdefault(entry.key, entry)

    def has(self, kind: TaxonomyKind, key: str) -> bool:
        """True when ``key`` is a default or extension entry of ``kind``."""
        return key in self._entries[kind]

    def get(self, kind: TaxonomyKind, key: str) -> TaxonomyEntry | None:
        """The entry, or ``None``."""
        return self._entries[kind].get(key)

    def keys(self, kind: TaxonomyKind) -> list[str]:
        """All keys of ``kind``, sorted."""
        return sorted(self._entries[kind])

    def name(self, kind: TaxonomyKind, key: str) -> str:
        """Human name for documents; falls back to the key so rendering never fails."""
        entry = self._entries[kind].get(key)
        return entry.name if entry else key

    def ancestors(self, kind: TaxonomyKind, key: str) -> list[str]:
        """``key`` and its parents up to the root, nearest first."""
        chain: list[str] = []
        current: str | None = key
        while current is not None and current not in chain:
            chain.append(current)
            entry = self._entries[kind].get(current)
            current = entry.parent_key if entry else None
        return chain

    def closest(self, kind: TaxonomyKind, key: str, n: int = 3) -> list[str]:
        """Likely intended keys for a typo, best first (difflib ratio)."""
        return difflib.get_close_matches(key, self._entries[kind], n=n, cutoff=0.6)

    @staticmethod
    def label(kind: TaxonomyKind) -> str:
        """``"data category"`` etc., for messages."""
        return _LABEL[kind]
