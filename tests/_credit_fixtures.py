"""Shared set-up for the credit and audience tests: the example data map plus a checkout
financing purpose and dataset, the seeded synthetic financing history, and helpers to approve
a credit model version (AIA with the creditworthiness use case + a DPO account)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from trustcart.assessments import parse_records, save_records
from trustcart.catalog import parse_manifest
from trustcart.catalog.repository import save_datamap
from trustcart.consent import ConsentService, datamap_notice, register_notice
from trustcart.gateway import FeatureSpec
from trustcart.governance import approve_model
from trustcart.governance.users import create_user, list_users
from trustcart.models import CREDIT_COLUMNS, synthetic_credit_frame
from trustcart.workspace import Workspace

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "shop.yaml"
PURPOSE = "checkout_financing"
CREDIT_FEATURES = [
    FeatureSpec(c, PURPOSE, field=f"financing_history.{c}", label=c.replace("_", " "))
    for c in CREDIT_COLUMNS
]
PASSWORD = "correct horse battery staple"


def financing_manifest() -> str:
    """shop.yaml with a ``checkout_financing`` purpose (contract) and its dataset."""
    data: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text())
    data["purposes"].append(
        {
            "key": PURPOSE,
            "name": "Checkout financing",
            "description": "Deciding whether to offer you pay-later financing at checkout.",
            "data_use": "essential.service.payment_processing",
            "legal_basis": {"EU": "contract", "US-CA": "contract", "BR": "contract"},
            "data_subjects": ["customer"],
            "retention": "P2Y",
            "automated_decision_making": {
                "enabled": True,
                "logic": "A scoring model estimates repayment from your order history.",
                "significance": "You may be offered financing, a limit, or none.",
            },
        }
    )
    for system in data["systems"]:
        if system["key"] == "order_db":
            system["purposes"].append(PURPOSE)
    data["datasets"].append(
        {
            "key": "financing_history",
            "name": "Financing history",
            "system": "order_db",
            "location": "postgresql+psycopg://orders-db.internal:5432/orders",
            "retention": "P2Y",
            "identity_keys": ["customer_id"],
            "fields": [
                {"name": "customer_id", "data_categories": ["user.unique_id"], "identifying": True},
                *(
                    {
                        "name": c,
                        "data_categories": ["user.behavior.purchase_history"],
                        "purposes": [PURPOSE],
                    }
                    for c in CREDIT_COLUMNS
                ),
            ],
        }
    )
    return yaml.safe_dump(data, sort_keys=False)


def financing_consent(ws: Workspace) -> ConsentService:
    """Load the financing data map and a notice; a consent service reading them."""
    save_datamap(ws.store, parse_manifest(financing_manifest(), "financing.yaml"))
    svc = ConsentService(ws, max_staleness=0)
    register_notice(ws.store, **datamap_notice(svc.datamap))
    svc.reload()
    return svc


def credit_frame(tmp: Path) -> tuple[pd.DataFrame, Path]:
    """The synthetic history and its Parquet file."""
    df = synthetic_credit_frame()
    path = tmp / "financing.parquet"
    df.to_parquet(path)
    return df, path


AIA_YAML = """
aias:
  - key: aia-credit
    model: {model}
    description: Pay-later eligibility and limit at checkout.
    data: [financing_history]
    explanation_method: exact logistic attributions; adverse-action reasons
    human_oversight: a DPO approves each version before it serves
    contestation_channel: /contest
    use_cases: [{use_cases}]
    profiling: true
"""


def load_aia(ws: Workspace, model: str, use_cases: str = "creditworthiness") -> None:
    """An AIA for ``model`` with ``use_cases`` (comma-separated)."""
    save_records(ws.store, parse_records(AIA_YAML.format(model=model, use_cases=use_cases)))


def approve(ws: Workspace, model: str, version: str, *, role: str = "dpo") -> Any:
    """A dashboard account with ``role`` approves ``model`` ``version`` (AIA loaded first)."""
    name = f"{role}-person"
    if name not in {u.username for u in list_users(ws.store)}:
        create_user(ws.store, username=name, role=role, password=PASSWORD)
    load_aia(ws, model)
    return approve_model(ws.store, model, version, reviewer=name)
