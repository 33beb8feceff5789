"""A one-screen inventory of a data map, for the CLI, dashboards and reviews.

Why a separate object: the counts are read by people ("how many sensitive fields do we hold?")
and by checks; keeping them in one typed value means both see the same numbers.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from trustcart.catalog.countries import country_name
from trustcart.catalog.sensitivity import LEVELS, Level

if TYPE_CHECKING:
    from trustcart.catalog.model import DataMap
    from trustcart.catalog.transfers import Transfer
    from trustcart.rules import Rules


@dataclass(frozen=True)
class InventorySummary:
    """Counts and lists describing one data map."""

    systems: int
    datasets: int
    fields: int
    purposes: int
    recipients: int
    flows: int
    fields_by_sensitivity: dict[Level, int]
    vendors: list[str]
    countries: list[str]
    transfers: list[Transfer] = field(default_factory=list)

    @property
    def third_country_transfers(self) -> list[Transfer]:
        """Transfers that leave the EEA for an EU-serving controller."""
        return [t for t in self.transfers if t.third_country]

    def rows(self) -> list[tuple[str, str]]:
        """``(label, value)`` pairs in display order: the table without the layout."""
        sens = ", ".join(f"{lvl} {self.fields_by_sensitivity.get(lvl, 0)}" for lvl in LEVELS)
        transfers = sorted({f"{t.destination} ({t.country})" for t in self.third_country_transfers})
        return [
            ("Systems", str(self.systems)),
            ("Datasets", str(self.datasets)),
            ("Fields", str(self.fields)),
            ("Fields by sensitivity", sens),
            ("Purposes", str(self.purposes)),
            ("Recipients", str(self.recipients)),
            ("Flows", str(self.flows)),
            ("Vendors", ", ".join(self.vendors) or "none"),
            ("Countries", ", ".join(f"{c} {country_name(c)}" for c in self.countries) or "none"),
            ("Third-country transfers", "; ".join(transfers) or "none"),
        ]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view (API and ``--format json``)."""
        return {
            "systems": self.systems,
            "datasets": self.datasets,
            "fields": self.fields,
            "purposes": self.purposes,
            "recipients": self.recipients,
            "flows": self.flows,
            "fields_by_sensitivity": {
                lvl: self.fields_by_sensitivity.get(lvl, 0) for lvl in LEVELS
            },
            "vendors": list(self.vendors),
            "countries": list(self.countries),
            "transfers": [asdict(t) for t in self.transfers],
        }

    def to_table(self) -> str:
        """A plain-text two-column table."""
        rows = self.rows()
        width = max(len(label) for label, _ in rows)
        return "\n".join(f"{label:<{width}}  {value}" for label, value in rows)

    def __str__(self) -> str:
        return self.to_table()


def summarize(dm: DataMap, rules: Rules | None = None) -> InventorySummary:
    """Build the :class:`InventorySummary` of ``dm`` (sensitivity comes from the rule pack)."""
    sensitivity = dm.sensitivity(rules)
    countries: set[str] = set()
    if dm.organization is not None:
        countries.add(dm.organization.establishment_country)
    vendors: dict[str, None] = {}
    for system in dm.systems:
        countries.add(system.hosting_country)
        if system.vendor is not None:
            vendors[system.vendor.name] = None
            countries.add(system.vendor.country)
    countries.update(r.country for r in dm.recipients)
    return InventorySummary(
        systems=len(dm.systems),
        datasets=len(dm.datasets),
        fields=sum(len(d.fields) for d in dm.datasets),
        purposes=len(dm.purposes),
        recipients=len(dm.recipients),
        flows=len(dm.flows),
        fields_by_sensitivity=sensitivity.counts(),
        vendors=list(vendors),
        countries=sorted(countries),
        transfers=dm.transfers(),
    )
