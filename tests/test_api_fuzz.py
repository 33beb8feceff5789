"""Property-based fuzzing of the whole HTTP API from its OpenAPI document (schemathesis).

Every operation is called with generated valid and invalid inputs and an authenticated DPO key:
no response may be a 5xx, and every response must conform to the documented schema (status
code, content type, body). Runs on SQLite with the example shop, its compliance records and
consent data loaded, so the routes have something real to return.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings

from trustcart.api.app import create_app
from trustcart.assessments import load_records_file, save_records
from trustcart.catalog import load_manifest
from trustcart.catalog.repository import save_datamap
from trustcart.config import init_workspace
from trustcart.consent import ConsentEventIn, ConsentService, datamap_notice, register_notice
from trustcart.governance import create_key
from trustcart.workspace import Workspace

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "shop.yaml"
RECORDS = EXAMPLE.with_name("records.yaml")
_KEY: dict[str, str] = {}


def _build_app() -> Any:
    """A workspace in a temporary folder with the example shop and records (vendors, DPIAs,
    AIAs), a notice, one consent event and a DPO key (built at import: schemathesis
    parametrizes from the schema at collection)."""
    root = init_workspace(Path(tempfile.mkdtemp(prefix="tc-fuzz-")) / "ws")
    ws = Workspace.open(root)
    save_datamap(ws.store, load_manifest(EXAMPLE))
    save_records(ws.store, load_records_file(RECORDS))
    svc = ConsentService(ws)
    notice = register_notice(ws.store, **datamap_notice(svc.datamap)).version
    svc.reload()
    svc.record(
        ConsentEventIn(
            subject="fuzz-subject",
            purposes=["personalization"],
            decision="granted",
            mechanism="opt_in_checkbox",
            jurisdiction="EU",
            notice_version=notice,
        )
    )
    _KEY["dpo"] = create_key(ws.store, role="dpo", name="fuzz")[0]
    return create_app(ws)


schema = schemathesis.openapi.from_asgi("/openapi.json", _build_app())


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,
    ],
)
def test_api_never_5xx_and_matches_its_schema(case: Any) -> None:
    # Schema-valid input may still be refused on meaning (an unknown purpose, a notice that was
    # never registered): that is a documented 4xx, not a contract violation. And like most HTTP
    # servers, the API ignores query parameters it does not know, which schemathesis counts as
    # "accepting negative data"; request *bodies* reject unknown fields (extra="forbid"), which
    # the unit tests check directly.
    excluded = [
        schemathesis.checks.positive_data_acceptance,
        schemathesis.checks.negative_data_rejection,
    ]
    if case.path.startswith("/v1/keys") and case.method in ("POST", "DELETE"):
        # Creating/revoking keys at random would revoke the fuzzer's own key.
        case.call_and_validate(
            headers={"Authorization": "Bearer tc_invalid"}, excluded_checks=excluded
        )
        return
    case.call_and_validate(
        headers={"Authorization": f"Bearer {_KEY['dpo']}"}, excluded_checks=excluded
    )
