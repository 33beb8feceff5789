"""The data map persisted in the workspace store (SQLite and PostgreSQL) and served by CLI/API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from trustcart.api.app import create_app
from trustcart.catalog import DataMap, load_manifest, parse_manifest, render_notice, render_ropa
from trustcart.catalog.repository import load_datamap, remove_object, save_datamap
from trustcart.cli import app as cli_app
from trustcart.errors import NotFound, ValidationError
from trustcart.governance import create_key
from trustcart.workspace import Workspace

EXAMPLE_SHOP = Path(__file__).resolve().parents[1] / "examples" / "shop.yaml"

NEW_SYSTEM = """
systems:
  - key: search
    name: Site search
    owner: Search team
    hosting_country: DE
    purposes: [personalization]
"""


def test_round_trip_and_idempotent_upsert(workspace: Workspace) -> None:
    dm = load_manifest(EXAMPLE_SHOP)
    first = save_datamap(workspace.store, dm)
    assert len(first.created) == len(dm.objects()) and not first.updated
    stored = load_datamap(workspace.store)
    assert stored == dm
    # Order is kept, so everything generated from the store equals what the file gives.
    assert render_notice(stored).version == render_notice(dm).version
    assert render_ropa(stored, fmt="csv") == render_ropa(dm, fmt="csv")
    again = save_datamap(workspace.store, dm)
    assert not again.changed and again.unchanged == len(dm.objects())
    actions = [e.payload["action"] for e in workspace.store.log("admin")]
    assert actions == ["catalog.loaded"]  # the no-op reload is not logged


def test_partial_manifest_adds_and_updates(workspace: Workspace) -> None:
    save_datamap(workspace.store, load_manifest(EXAMPLE_SHOP))
    with pytest.raises(ValidationError, match="unknown purpose 'personalization'"):
        parse_manifest(NEW_SYSTEM)  # on its own, the purpose it names is unknown
    context = load_datamap(workspace.store)
    added = save_datamap(workspace.store, parse_manifest(NEW_SYSTEM, context=context))
    assert added.created == ["system:search"] and not added.updated
    changed = parse_manifest(NEW_SYSTEM.replace("Site search", "Product search"), context=context)
    result = save_datamap(workspace.store, changed)
    assert result.updated == ["system:search"]
    dm = load_datamap(workspace.store)
    assert dm.system("search").name == "Product search"
    assert dm.system("crm").name == "CRM"  # untouched
    assert workspace.store.log("admin").verify().ok


def test_dangling_reference_is_refused_and_nothing_written(workspace: Workspace) -> None:
    save_datamap(workspace.store, load_manifest(EXAMPLE_SHOP))
    before = load_datamap(workspace.store)
    # Structurally valid, but names a purpose that neither it nor the stored map defines.
    bad = DataMap.validate_data(
        yaml.safe_load(NEW_SYSTEM.replace("[personalization]", "[no_such_purpose]"))
    )
    with pytest.raises(ValidationError, match="no_such_purpose"):
        save_datamap(workspace.store, bad)
    assert load_datamap(workspace.store) == before


def test_remove_leaf_and_refuse_referenced(workspace: Workspace) -> None:
    save_datamap(workspace.store, load_manifest(EXAMPLE_SHOP))
    with pytest.raises(ValidationError, match="still refer") as info:
        remove_object(workspace.store, "system", "crm")
    assert any(d["path"].startswith("datasets") for d in info.value.details)
    flow_key = load_datamap(workspace.store).objects()[-1][1]
    remove_object(workspace.store, "flow", flow_key)
    assert flow_key not in {k for kind, k, _ in load_datamap(workspace.store).objects()}
    with pytest.raises(NotFound):
        remove_object(workspace.store, "flow", flow_key)
    with pytest.raises(ValidationError, match="unknown object kind"):
        remove_object(workspace.store, "planet", "x")


# -- CLI ------------------------------------------------------------------------------------


def test_cli_load_show_ropa_notice_graph(tmp_path: Path) -> None:
    runner = CliRunner()
    ws = tmp_path / "ws"
    assert runner.invoke(cli_app, ["init", str(ws)]).exit_code == 0
    w = ["-w", str(ws)]
    r = runner.invoke(cli_app, [*w, "catalog", "load", str(EXAMPLE_SHOP), "-f", "json"])
    assert r.exit_code == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["summary"]["systems"] == len(yaml.safe_load(EXAMPLE_SHOP.read_text())["systems"])
    part = tmp_path / "search.yaml"
    part.write_text(NEW_SYSTEM)
    r = runner.invoke(cli_app, [*w, "catalog", "load", str(part)])
    assert r.exit_code == 0, r.stderr
    r = runner.invoke(cli_app, [*w, "catalog", "ropa", "-f", "csv", "-o", str(tmp_path / "r.csv")])
    assert r.exit_code == 0
    assert (
        (tmp_path / "r.csv")
        .read_text()
        .startswith(render_ropa(load_manifest(EXAMPLE_SHOP), fmt="csv")[:50])
    )
    r = runner.invoke(cli_app, [*w, "catalog", "notice", "-f", "json"])
    assert json.loads(r.stdout)["version"] == render_notice(load_manifest(EXAMPLE_SHOP)).version
    r = runner.invoke(cli_app, [*w, "catalog", "graph"])
    assert r.stdout.startswith("flowchart LR")
    r = runner.invoke(cli_app, [*w, "catalog", "graph", "-f", "png"])
    assert r.exit_code == 2 and "--output" in r.stderr


def test_cli_bad_manifest_lists_every_problem(tmp_path: Path) -> None:
    runner = CliRunner()
    ws = tmp_path / "ws"
    runner.invoke(cli_app, ["init", str(ws)])
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        EXAMPLE_SHOP.read_text()
        .replace("[user.contact.email]", "[user.contact.emial]", 1)
        .replace("hosting_country: DE", "hosting_country: XX", 1)
    )
    r = runner.invoke(cli_app, ["-w", str(ws), "catalog", "load", str(bad)])
    assert r.exit_code == 2
    assert "did you mean 'user.contact.email'" in r.stderr
    assert "hosting_country" in r.stderr and f"{bad}:" in r.stderr
    assert "Traceback" not in r.stderr + r.stdout
    with Workspace.open(ws) as opened:
        assert load_datamap(opened.store).systems == []


# -- HTTP API -------------------------------------------------------------------------------


@pytest.fixture
def api(workspace: Workspace) -> Iterator[tuple[TestClient, dict[str, str], dict[str, str]]]:
    eng = {"Authorization": f"Bearer {create_key(workspace.store, role='engineer', name='e')[0]}"}
    sup = {"Authorization": f"Bearer {create_key(workspace.store, role='support', name='s')[0]}"}
    with TestClient(create_app(workspace), raise_server_exceptions=False) as c:
        yield c, eng, sup


def test_api_upsert_and_outputs(api: tuple[TestClient, dict[str, str], dict[str, str]]) -> None:
    client, eng, sup = api
    manifest = yaml.safe_load(EXAMPLE_SHOP.read_text())
    r = client.post("/v1/catalog", headers=eng, json=manifest)
    assert r.status_code == 200, r.text
    assert r.json()["summary"]["purposes"] == len(manifest["purposes"])
    assert client.post("/v1/catalog", headers=eng, json=manifest).json()["created"] == []
    assert client.post("/v1/catalog", headers=sup, json=manifest).status_code == 403
    summary = client.get("/v1/catalog", headers=sup).json()
    assert {t["country"] for t in summary["transfers"] if t["third_country"]} == {"US"}
    ropa = client.get("/v1/catalog/ropa", params={"format": "csv"}, headers=sup)
    assert ropa.headers["content-type"].startswith("text/csv")
    assert ropa.text == render_ropa(load_manifest(EXAMPLE_SHOP), fmt="csv")
    notice = client.get("/v1/catalog/notice", headers=sup).json()
    assert notice["version"] == render_notice(load_manifest(EXAMPLE_SHOP)).version
    png = client.get("/v1/catalog/graph", params={"format": "png"}, headers=sup)
    assert png.content.startswith(b"\x89PNG")
    dm = client.get("/v1/catalog/datamap", headers=sup).json()
    assert [s["key"] for s in dm["systems"]] == [s["key"] for s in manifest["systems"]]


def test_api_invalid_manifest_is_422_with_paths(
    api: tuple[TestClient, dict[str, str], dict[str, str]],
) -> None:
    client, eng, _ = api
    manifest = yaml.safe_load(EXAMPLE_SHOP.read_text())
    manifest["datasets"][0]["fields"][0]["data_categories"] = ["user.nope"]
    manifest["systems"][0]["colour"] = "red"
    r = client.post("/v1/catalog", headers=eng, json=manifest)
    assert r.status_code == 422
    body = r.json()
    assert body["error"] == "validation_error"
    paths = {d["path"] for d in body["details"]}
    assert "systems[0].colour" in paths
    assert client.get("/v1/catalog", headers=eng).json()["systems"] == 0
    r = client.post(
        "/v1/catalog",
        headers=eng,
        content=b"{not json",
    )
    assert r.status_code == 422
    r = client.get("/v1/catalog/ropa", headers=eng)  # nothing loaded: no organization yet
    assert r.status_code == 422 and "organization" in r.json()["message"]
    r = client.delete("/v1/catalog/system/web_shop", headers=eng)
    assert r.status_code == 404
