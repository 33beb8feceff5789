"""Paths of the example manifests, shared by tests."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHOP = ROOT / "examples" / "shop.yaml"
RECORDS = ROOT / "examples" / "records.yaml"
