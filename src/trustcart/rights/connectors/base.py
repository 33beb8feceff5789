"""What every connector does: find a person's rows, erase or correct them, expire old ones.

Why one small interface: a request is carried out over many stores (SQL tables, exported files,
TrustCart's own logs, vendors) and the request log must say, for each, what was found and what
changed. Each connector answers in the same :class:`Change` shape, so the certificate and the
verification scan treat a vendor webhook and a local table alike.
"""

from __future__ import annotations

import os
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from trustcart.catalog import Dataset
from trustcart.errors import ConfigError

#: Identity type -> the values a request knows for it (e.g. {"email": {"a@b.example"}}).
Identities = Mapping[str, frozenset[str]]

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def expand_env(value: str, what: str) -> str:
    """Replace ``${VAR}`` (or ``${VAR:-default}``) from the environment.

    Why: passwords in database URLs and webhook endpoints per environment stay out of the
    manifest, which is versioned and shared.
    """

    def sub(m: re.Match[str]) -> str:
        name, default = m.group(1), m.group(2)
        if name in os.environ:
            return os.environ[name]
        if default is not None:
            return default
        raise ConfigError(f"{what} uses ${{{name}}}, but the environment variable is not set")

    return _ENV.sub(sub, value)


@dataclass
class Change:
    """What one connector found and did for one request (or one retention run)."""

    dataset: str
    action: str  # find | erase | rectify | retention | scan
    connector: str
    rows_found: int = 0
    rows_changed: int = 0
    strategy: str | None = None
    fields_changed: list[str] = field(default_factory=list)
    status: str = "done"  # done | pending | failed | skipped | retained
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly view (request log, certificate)."""
        return asdict(self)


@dataclass
class Found:
    """A person's rows in one dataset, for an access package."""

    dataset: str
    rows: list[dict[str, Any]]
    status: str = "done"
    note: str | None = None


class Connector(ABC):
    """One dataset's store, reached for rights requests and retention."""

    kind: str = "base"

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset
        self.columns = dataset.identity_columns()
        spec = dataset.connector
        self.strategy = spec.erase if spec else "delete"
        self.links_identities = bool(spec and spec.links_identities)
        self.timestamp = spec.timestamp if spec else None
        identity_cols = set(self.columns.values())
        declared = [f.name for f in dataset.fields if f.name not in identity_cols]
        self.mask_fields = list(spec.mask_fields) if spec and spec.mask_fields else declared

    @property
    def key(self) -> str:
        """The dataset key (how the request log names this store)."""
        return self.dataset.key

    def matches(self, ids: Identities) -> dict[str, list[str]]:
        """Column -> values to look for: the request's identities this dataset holds."""
        out: dict[str, list[str]] = {}
        for kind, column in self.columns.items():
            values = ids.get(kind)
            if values:
                out.setdefault(column, []).extend(sorted(values))
        return out

    def linked(self, rows: list[dict[str, Any]]) -> dict[str, set[str]]:
        """Identity type -> values seen in ``rows`` (to link identifiers across stores)."""
        out: dict[str, set[str]] = {}
        for kind, column in self.columns.items():
            for row in rows:
                v = row.get(column)
                if v is not None and v != "":
                    out.setdefault(kind, set()).add(str(v))
        return out

    @abstractmethod
    def find(self, ids: Identities) -> Found:
        """The rows that belong to the person."""

    @abstractmethod
    def count(self, ids: Identities) -> int:
        """How many rows still carry one of the identifiers (the verification scan)."""

    @abstractmethod
    def erase(self, ids: Identities) -> Change:
        """Apply the dataset's erase strategy to the person's rows."""

    @abstractmethod
    def rectify(self, ids: Identities, changes: Mapping[str, Any]) -> Change:
        """Set ``changes`` (field -> new value) on the person's rows, for fields held here."""

    @abstractmethod
    def expire(self, cutoff: datetime, *, dry_run: bool) -> Change:
        """Erase (per strategy) rows whose timestamp is before ``cutoff`` (retention)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""
