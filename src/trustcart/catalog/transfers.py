"""Derived cross-border transfers: which data leaves which country, and for what.

Why derived: a transfer is a consequence of where systems are hosted, who runs them and where
recipients sit; typing "transfer: yes" by hand would drift. For a controller serving the EU, what
matters for the RoPA (Art. 30(1)(e)) and the notice is data leaving the EEA; whether a destination
is adequate or a safeguard suffices is judged by the transfer checks against the rule pack.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from trustcart.catalog.countries import in_eea

if TYPE_CHECKING:
    from trustcart.catalog.model import DataMap, System

TransferKind = Literal["flow", "system", "vendor", "recipient", "subprocessor"]
NOT_RECORDED = "safeguard: not recorded"


@dataclass(frozen=True, slots=True)
class Transfer:
    """Personal data reaching ``country`` through one object of the map."""

    kind: TransferKind
    key: str
    destination: str
    source_country: str | None
    country: str
    purposes: tuple[str, ...]
    data_categories: tuple[str, ...]
    safeguard: str | None
    third_country: bool

    @property
    def safeguard_text(self) -> str:
        """The recorded safeguard, or the placeholder the RoPA prints."""
        return self.safeguard or NOT_RECORDED


def system_label(system: System) -> str:
    """``"Newsletter platform (MailPilot Inc.)"``: who holds the data, as a reader knows them."""
    return f"{system.name} ({system.vendor.name})" if system.vendor else system.name


def serves_eu(dm: DataMap) -> bool:
    """True when any served jurisdiction is the EU/EEA or an EEA country (or a part of one)."""
    if dm.organization is None:
        return False
    for code in dm.organization.jurisdictions:
        if code in ("EU", "EEA") or in_eea(code.split("-")[0]):
            return True
    return False


def find_transfers(dm: DataMap) -> list[Transfer]:
    """Cross-border flows, plus systems, vendors and recipients outside the EEA (EU-serving)."""
    eu = serves_eu(dm)
    home = dm.organization.establishment_country if dm.organization else None
    out: list[Transfer] = []

    def third(src: str | None, dst: str) -> bool:
        return eu and (src is None or in_eea(src)) and not in_eea(dst)

    for flow in dm.flows:
        source = dm.system(flow.source)
        src_country = source.hosting_country if source else home
        target_system = dm.system(flow.target)
        recipient = dm.recipient(flow.target)
        if target_system is not None:
            dst_country, name = target_system.hosting_country, system_label(target_system)
            safeguard = target_system.vendor.transfer_safeguard if target_system.vendor else None
        elif recipient is not None:
            dst_country, name = recipient.country, recipient.name
            safeguard = recipient.transfer_safeguard
        else:
            continue
        if src_country is not None and src_country == dst_country:
            continue
        leaves = third(src_country, dst_country)
        out.append(
            Transfer(
                kind="flow",
                key=flow.key,
                destination=name,
                source_country=src_country,
                country=dst_country,
                purposes=(flow.purpose,),
                data_categories=tuple(flow.data_categories),
                safeguard=flow.transfer_safeguard or (safeguard if leaves else None),
                third_country=leaves,
            )
        )
    if not eu:
        return out
    for system in dm.systems:
        categories = tuple(
            dict.fromkeys(
                c for d in dm.datasets_of(system.key) for f in d.fields for c in f.data_categories
            )
        )
        vendor = system.vendor
        if not in_eea(system.hosting_country):
            out.append(
                Transfer(
                    kind="system",
                    key=system.key,
                    destination=system_label(system),
                    source_country=home,
                    country=system.hosting_country,
                    purposes=tuple(system.purposes),
                    data_categories=categories,
                    safeguard=vendor.transfer_safeguard if vendor else None,
                    third_country=True,
                )
            )
        if (
            vendor is not None
            and not in_eea(vendor.country)
            and vendor.country != system.hosting_country
        ):
            out.append(
                Transfer(
                    kind="vendor",
                    key=system.key,
                    destination=vendor.name,
                    source_country=system.hosting_country,
                    country=vendor.country,
                    purposes=tuple(system.purposes),
                    data_categories=categories,
                    safeguard=vendor.transfer_safeguard,
                    third_country=True,
                )
            )
    for recipient in dm.recipients:
        if not in_eea(recipient.country):
            categories = tuple(
                dict.fromkeys(
                    c for f in dm.flows if f.target == recipient.key for c in f.data_categories
                )
            )
            out.append(
                Transfer(
                    kind="recipient",
                    key=recipient.key,
                    destination=recipient.name,
                    source_country=home,
                    country=recipient.country,
                    purposes=tuple(recipient.purposes),
                    data_categories=categories,
                    safeguard=recipient.transfer_safeguard,
                    third_country=True,
                )
            )
    return out
