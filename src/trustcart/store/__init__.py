"""Storage: SQLAlchemy engine/session, schema, migrations and the hash-chained log."""

from trustcart.store.anchors import (
    Anchor,
    AnchorCheck,
    check_anchors,
    read_anchors,
    take_anchors,
    write_anchors,
)
from trustcart.store.copies import CopyCheck, verify_copy_table
from trustcart.store.hashlog import GENESIS, HashChainLog, LogRecord, VerifyResult, canonical_json
from trustcart.store.store import Store

__all__ = [
    "GENESIS",
    "Anchor",
    "AnchorCheck",
    "CopyCheck",
    "HashChainLog",
    "LogRecord",
    "Store",
    "VerifyResult",
    "canonical_json",
    "check_anchors",
    "read_anchors",
    "take_anchors",
    "verify_copy_table",
    "write_anchors",
]
