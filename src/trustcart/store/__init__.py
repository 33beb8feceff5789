"""Storage: SQLAlchemy engine/session, schema, migrations and the hash-chained log."""

from trustcart.store.copies import CopyCheck, verify_copy_table
from trustcart.store.hashlog import GENESIS, HashChainLog, LogRecord, VerifyResult, canonical_json
from trustcart.store.store import Store

__all__ = [
    "GENESIS",
    "CopyCheck",
    "HashChainLog",
    "LogRecord",
    "Store",
    "VerifyResult",
    "canonical_json",
    "verify_copy_table",
]
