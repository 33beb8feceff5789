"""A workspace: a folder with ``trustcart.toml``, its settings and its store.

Every shell (CLI, HTTP API, demo) starts by opening a ``Workspace``; domain code receives the
workspace or its store, never reads configuration on its own.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType

from trustcart.config import Settings, init_workspace, load_settings
from trustcart.store import Store

WORKSPACE_ENV = "TRUSTCART_WORKSPACE"


def locate(path: str | os.PathLike[str] | None = None) -> Path:
    """The workspace folder: the argument, else ``$TRUSTCART_WORKSPACE``, else the cwd."""
    if path is not None:
        return Path(path)
    return Path(os.environ.get(WORKSPACE_ENV) or Path.cwd())


class Workspace:
    """Settings plus an open store. Use as a context manager to release connections."""

    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings = settings
        self.store = store

    @property
    def root(self) -> Path:
        """The workspace folder."""
        return self.settings.workspace

    @classmethod
    def open(cls, path: str | os.PathLike[str] | None = None, *, upgrade: bool = True) -> Workspace:
        """Open an existing workspace (migrating its database unless ``upgrade=False``)."""
        settings = load_settings(locate(path))
        return cls(settings, Store.open(settings.resolved_database_url, upgrade=upgrade))

    @classmethod
    def create(cls, path: str | os.PathLike[str], *, force: bool = False) -> Workspace:
        """Create a workspace folder and its database, then open it."""
        init_workspace(path, force=force)
        return cls.open(path)

    def close(self) -> None:
        """Release database connections."""
        self.store.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
