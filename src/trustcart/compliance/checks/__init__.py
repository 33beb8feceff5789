"""Built-in checks, one module per area; importing this package registers them all."""

from trustcart.compliance.checks import (
    catalog,
    consent,
    fairness,
    gateway,
    notices,
    rights,
    sensitive,
    site,
    transfers,
    vendors,
)

__all__ = [
    "catalog",
    "consent",
    "fairness",
    "gateway",
    "notices",
    "rights",
    "sensitive",
    "site",
    "transfers",
    "vendors",
]
