"""Human wording of map objects shared by the RoPA and the notice.

Why shared: both documents must name the same categories, recipients and transfers in the same
words, or a reader comparing them would see two different data maps.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trustcart.catalog.countries import country_name
from trustcart.catalog.sensitivity import CategoryClassifier, CategorySensitivity

if TYPE_CHECKING:
    from trustcart.catalog.model import DataMap, Purpose
    from trustcart.catalog.transfers import Transfer
    from trustcart.rules import Rules

_RECIPIENT_TYPE = {
    "processor": "processor",
    "controller": "independent controller",
    "public_authority": "public authority",
}


class Describer:
    """Answers "what, who, where" about one purpose of one map, in plain words."""

    def __init__(self, dm: DataMap, rules: Rules) -> None:
        self.dm = dm
        self.rules = rules
        self.taxonomy = dm.taxonomy_index()
        self.classify = CategoryClassifier(rules, self.taxonomy)
        self._transfers = dm.transfers()

    def categories(self, purpose: Purpose) -> list[str]:
        """Personal data categories processed for ``purpose`` (fields and flows), first seen first.

        Anonymous categories (``system.*``) are left out: they are not personal data.
        """
        keys: dict[str, None] = {}
        for _ds, fld in self.dm.fields_for(purpose.key):
            keys.update(dict.fromkeys(fld.data_categories))
        for flow in self.dm.flows:
            if flow.purpose == purpose.key:
                keys.update(dict.fromkeys(flow.data_categories))
        return [k for k in keys if self.classify(k).level != "anonymous"]

    def category(self, key: str) -> CategorySensitivity:
        """Sensitivity of one category."""
        return self.classify(key)

    def category_name(self, key: str) -> str:
        """Human name of a data category."""
        return self.taxonomy.name("data_category", key)

    def category_label(self, key: str) -> str:
        """Name, marked with the provisions that make it sensitive, if any."""
        name = self.category_name(key)
        cat = self.classify(key)
        if cat.level != "sensitive":
            return name
        cites = "; ".join(dict.fromkeys(f"{r.jurisdiction}: {r.citation}" for r in cat.reasons))
        return f"{name} [sensitive — {cites}]" if cites else f"{name} [sensitive]"

    def subjects(self, purpose: Purpose) -> list[str]:
        """Human names of the data subjects of ``purpose``."""
        keys = dict.fromkeys(purpose.data_subjects)
        for _ds, fld in self.dm.fields_for(purpose.key):
            keys[fld.data_subject] = None
        return [self.taxonomy.name("data_subject", k) for k in keys]

    def recipients(self, purpose: Purpose) -> list[str]:
        """Recipients and the vendors of the systems involved, with role and country."""
        out: list[str] = []
        for rec in self.dm.recipients_for(purpose.key):
            role = _RECIPIENT_TYPE.get(rec.type.value, rec.type.value)
            out.append(f"{rec.name} ({role}, {country_name(rec.country)})")
        for system in self.dm.systems_for(purpose.key):
            if system.vendor is not None:
                vendor = system.vendor
                where = country_name(vendor.country)
                out.append(f"{vendor.name} (processor running {system.name}, {where})")
        return list(dict.fromkeys(out))

    def transfers(self, purpose: Purpose) -> list[Transfer]:
        """Third-country transfers made for ``purpose``, one per destination and country."""
        seen: dict[tuple[str, str], Transfer] = {}
        for t in self._transfers:
            if not t.third_country or purpose.key not in t.purposes:
                continue
            key = (t.destination, t.country)
            current = seen.get(key)
            if current is None or (current.safeguard is None and t.safeguard is not None):
                seen[key] = t
        return list(seen.values())

    def transfer_label(self, t: Transfer) -> str:
        """``"MailPilot Inc. — United States (US); safeguard: not recorded"``."""
        safeguard = f"safeguard: {t.safeguard}" if t.safeguard else t.safeguard_text
        return f"{t.destination} — {country_name(t.country)} ({t.country}); {safeguard}"

    def security(self, purpose: Purpose) -> list[str]:
        """Security measures of the systems involved, without repeats."""
        measures: dict[str, None] = {}
        for system in self.dm.systems_for(purpose.key):
            measures.update(dict.fromkeys(system.security_measures))
        return list(measures)

    def systems(self, purpose: Purpose) -> list[str]:
        """Names of the systems that declare ``purpose``."""
        return [s.name for s in self.dm.systems_for(purpose.key)]

    def datasets(self, purpose: Purpose) -> list[str]:
        """Names of the datasets with fields processed for ``purpose``."""
        return list(dict.fromkeys(ds.name for ds, _f in self.dm.fields_for(purpose.key)))
