"""Derived sensitivity of fields, datasets and systems.

Why derived: whether a category is "special" is law, kept with its citation in
``trustcart.rules``; a hand-typed ``sensitive: true`` would go stale the day a rule changes or a
new jurisdiction is served. A field is as sensitive as its most sensitive category, a dataset as
its most sensitive field, a system as its most sensitive dataset.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from trustcart.catalog._rules import ensure_rules
from trustcart.errors import RulesError

if TYPE_CHECKING:
    from trustcart.catalog.model import DataMap
    from trustcart.catalog.taxonomy import Taxonomy
    from trustcart.rules import Rules

Level = Literal["anonymous", "personal", "sensitive"]
LEVELS: tuple[Level, ...] = ("anonymous", "personal", "sensitive")


def max_level(levels: list[Level] | tuple[Level, ...]) -> Level:
    """The most sensitive of ``levels`` (``anonymous`` for none)."""
    return max(levels, key=LEVELS.index, default="anonymous")


@dataclass(frozen=True, slots=True)
class SensitiveReason:
    """Why a category is sensitive: in which jurisdiction, under which provision."""

    data_category: str
    jurisdiction: str
    label: str
    citation: str

    def __str__(self) -> str:
        return f"{self.jurisdiction}: {self.label} ({self.citation})"


@dataclass(frozen=True, slots=True)
class CategorySensitivity:
    """Level of one data category and the provisions that make it sensitive."""

    data_category: str
    level: Level
    reasons: tuple[SensitiveReason, ...] = ()


@dataclass(frozen=True, slots=True)
class FieldSensitivity:
    """Level of one dataset field, with every reason from every category it holds."""

    dataset: str
    field: str
    level: Level
    reasons: tuple[SensitiveReason, ...] = ()

    @property
    def citations(self) -> list[str]:
        """Distinct citations, in order, for documents."""
        return list(dict.fromkeys(r.citation for r in self.reasons))


@dataclass
class Sensitivity:
    """Sensitivity of every field, dataset and system of one data map."""

    fields: dict[tuple[str, str], FieldSensitivity] = field(default_factory=dict)
    datasets: dict[str, Level] = field(default_factory=dict)
    systems: dict[str, Level] = field(default_factory=dict)
    categories: dict[str, CategorySensitivity] = field(default_factory=dict)

    def of_field(self, dataset: str, name: str) -> FieldSensitivity:
        """Sensitivity of ``dataset.name`` (KeyError if the field does not exist)."""
        return self.fields[(dataset, name)]

    def counts(self) -> dict[Level, int]:
        """Number of fields per level (every level present, possibly 0)."""
        out: dict[Level, int] = dict.fromkeys(LEVELS, 0)
        for fs in self.fields.values():
            out[fs.level] += 1
        return out


class CategoryClassifier:
    """Asks the rule pack about categories once each, walking up for manifest extensions."""

    def __init__(self, rules: Rules, taxonomy: Taxonomy) -> None:
        self.rules = rules
        self.taxonomy = taxonomy
        self.cache: dict[str, CategorySensitivity] = {}

    def __call__(self, key: str) -> CategorySensitivity:
        if key not in self.cache:
            self.cache[key] = self._classify(key)
        return self.cache[key]

    def _classify(self, key: str) -> CategorySensitivity:
        # an extension unknown to the rule pack inherits from its nearest known ancestor
        for candidate in self.taxonomy.ancestors("data_category", key):
            try:
                level: Level = self.rules.sensitivity_of(candidate)
                pairs = self.rules.sensitive_in(candidate) if level == "sensitive" else []
            except (RulesError, KeyError, ValueError):
                continue
            reasons = tuple(
                SensitiveReason(key, code, str(cat.label), str(cat.citation)) for code, cat in pairs
            )
            return CategorySensitivity(key, level, reasons)
        level = "anonymous" if key.startswith("system") else "personal"
        return CategorySensitivity(key, level)


def derive_sensitivity(dm: DataMap, rules: Rules | None = None) -> Sensitivity:
    """Compute :class:`Sensitivity` for ``dm`` from the rule pack."""
    classify = CategoryClassifier(ensure_rules(rules), dm.taxonomy_index())
    result = Sensitivity()
    for ds in dm.datasets:
        levels: list[Level] = []
        for fld in ds.fields:
            cats = [classify(c) for c in fld.data_categories]
            level = max_level([c.level for c in cats])
            reasons = tuple(r for c in cats for r in c.reasons)
            result.fields[(ds.key, fld.name)] = FieldSensitivity(ds.key, fld.name, level, reasons)
            levels.append(level)
        result.datasets[ds.key] = max_level(levels)
    for system in dm.systems:
        result.systems[system.key] = max_level(
            [result.datasets[d.key] for d in dm.datasets_of(system.key)]
        )
    for flow in dm.flows:
        for cat in flow.data_categories:
            classify(cat)
    result.categories = dict(classify.cache)
    return result
