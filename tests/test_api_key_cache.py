"""The verified-key cache keeps revocation prompt: at once in the revoking process, within
``api_key_cache_seconds`` in any other, and on every call when the setting is 0."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from trustcart.api.app import create_app
from trustcart.errors import AuthenticationError
from trustcart.governance import (
    KeyCache,
    authenticate,
    cached_principal,
    create_key,
    key_cache,
    revoke_key,
)
from trustcart.governance import keys as keys_module
from trustcart.governance.keys import DISTRUST_SECONDS
from trustcart.store import Store
from trustcart.workspace import Workspace


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(workspace: Workspace) -> Clock:
    """The workspace store's key cache, on a hand-moved clock."""
    c = Clock()
    keys_module._caches[workspace.store] = KeyCache(clock=c)
    return c


@pytest.fixture
def client(workspace: Workspace, clock: Clock) -> Iterator[TestClient]:
    with TestClient(create_app(workspace), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def other_process(workspace: Workspace) -> Iterator[Store]:
    """A second store on the same database: another worker process, or the CLI."""
    other = Store.open(workspace.settings.resolved_database_url, upgrade=False)
    try:
        yield other
    finally:
        other.close()


def test_key_revoked_elsewhere_is_refused_once_the_cache_entry_expires(
    client: TestClient, workspace: Workspace, clock: Clock, other_process: Store
) -> None:
    assert workspace.settings.api_key_cache_seconds == 1.0  # the documented default
    secret, info = create_key(workspace.store, role="dpo", name="agent")
    auth = {"Authorization": f"Bearer {secret}"}
    assert client.get("/v1/ledgers", headers=auth).status_code == 200  # verified and cached
    revoke_key(other_process, info.id, actor="cli")  # e.g. `trustcart keys revoke` elsewhere
    clock.now += 0.5
    # still inside the window this process may trust its last check: accepted (documented)
    assert client.get("/v1/ledgers", headers=auth).status_code == 200
    clock.now += 0.5  # a full second since the check: looked up again
    r = client.get("/v1/ledgers", headers=auth)
    assert r.status_code == 401 and "revoked" in r.json()["message"]
    clock.now += 30  # and it stays refused: a revoked key is never cached
    assert client.get("/v1/ledgers", headers=auth).status_code == 401


def test_key_revoked_through_this_process_is_refused_at_once(
    client: TestClient, workspace: Workspace, clock: Clock
) -> None:
    admin = {"Authorization": f"Bearer {create_key(workspace.store, role='dpo', name='a')[0]}"}
    secret, info = create_key(workspace.store, role="service", name="shop backend")
    auth = {"Authorization": f"Bearer {secret}"}
    body = {"subject": "c-1", "context": {}}
    assert client.post("/v1/decisions/offer", headers=auth, json=body).status_code != 401
    assert len(key_cache(workspace.store)) == 1  # the service key, verified and cached
    assert client.delete(f"/v1/keys/{info.id}", headers=admin).status_code == 204
    # the clock has not moved: only the revocation itself can explain the refusal
    r = client.post("/v1/decisions/offer", headers=auth, json=body)
    assert r.status_code == 401 and "revoked" in r.json()["message"]
    assert client.get("/v1/ledgers", headers=admin).status_code == 200  # others unaffected


def test_zero_seconds_looks_the_key_up_on_every_call(
    workspace: Workspace, clock: Clock, other_process: Store
) -> None:
    settings = workspace.settings.model_copy(update={"api_key_cache_seconds": 0.0})
    app = create_app(Workspace(settings, workspace.store))
    with TestClient(app, raise_server_exceptions=False) as client:
        secret, info = create_key(workspace.store, role="dpo", name="agent")
        auth = {"Authorization": f"Bearer {secret}"}
        assert client.get("/v1/ledgers", headers=auth).status_code == 200
        assert len(key_cache(workspace.store)) == 0
        revoke_key(other_process, info.id, actor="cli")
        assert client.get("/v1/ledgers", headers=auth).status_code == 401  # same instant


def test_unknown_and_malformed_keys_are_never_cached(workspace: Workspace, clock: Clock) -> None:
    with pytest.raises(AuthenticationError, match="unknown"):
        authenticate(workspace.store, "tc_nobody", max_age=1.0)
    with pytest.raises(AuthenticationError, match="malformed"):
        cached_principal(workspace.store, "Bearer-junk", 1.0)
    with pytest.raises(AuthenticationError, match="missing"):
        cached_principal(workspace.store, None, 1.0)
    assert len(key_cache(workspace.store)) == 0


def test_a_lookup_racing_the_revocation_cannot_recache_the_key(
    workspace: Workspace, clock: Clock
) -> None:
    """A lookup that read the row before the revoking transaction committed would put the
    key back; the revoking process refuses to cache it for DISTRUST_SECONDS."""
    secret, info = create_key(workspace.store, role="dpo", name="agent")
    stale = authenticate(workspace.store, secret)  # what the racing lookup read
    cache = key_cache(workspace.store)
    revoke_key(workspace.store, info.id)
    cache.put("digest-of-the-racing-lookup", stale, clock.now)
    assert cache.get("digest-of-the-racing-lookup", 1.0) is None
    clock.now += DISTRUST_SECONDS + 1
    cache.put("digest-of-the-racing-lookup", stale, clock.now)  # long after: allowed again
    assert cache.get("digest-of-the-racing-lookup", 1.0) == stale


def test_cache_is_bounded_and_hits_skip_the_database(
    workspace: Workspace, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = key_cache(workspace.store)
    cache.max_keys = 3
    secrets = [create_key(workspace.store, role="analyst", name=f"k{i}")[0] for i in range(5)]
    for s in secrets:
        authenticate(workspace.store, s, max_age=1.0)
    assert len(cache) == 3

    def no_database(**_: object) -> None:
        raise AssertionError("the database was read")

    monkeypatch.setattr(workspace.store, "read", no_database)
    hit = authenticate(workspace.store, secrets[-1], max_age=1.0)
    assert hit.name == "k4"
    with pytest.raises(AssertionError, match="database was read"):
        authenticate(workspace.store, secrets[-1])  # max_age 0: always looked up
    monkeypatch.undo()
    assert cached_principal(workspace.store, secrets[0], 1.0) is None  # evicted, oldest first
    clock.now += 1.0
    assert cached_principal(workspace.store, secrets[-1], 1.0) is None  # expired
