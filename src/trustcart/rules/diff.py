"""What changed between two rule packs, and what that does to a workspace's findings.

Why by identity and not by position: rule entries are lists (rights, adequacy decisions, use
cases); matching them by their natural key (``kind``, ``country``, ``key`` …) reports "adequacy
GB: expires changed" instead of a cascade of index shifts when one entry is inserted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from trustcart.compliance import Finding, ScanResult
    from trustcart.rules.rules import Rules

ChangeKind = Literal["added", "removed", "changed"]
#: Keys that identify an entry of a list, tried in order.
_IDENTITY = (
    "code",
    "kind",
    "data_category",
    "country",
    "organisation",
    "key",
    "point",
    "jurisdiction",
    "module",
    "data_use",
    "applies_to",
)
#: Leaf names whose change moves a date (reported separately: "stay updated on regulations").
DATE_FIELDS = frozenset({"effective_from", "expires", "date"})


@dataclass(frozen=True)
class RuleChange:
    """One changed fact: where, how, and the old and new values."""

    path: str
    kind: ChangeKind
    old: Any = None
    new: Any = None

    @property
    def is_date(self) -> bool:
        """Whether the change moves a date (effective_from, expires, a milestone)."""
        return self.path.rsplit(".", 1)[-1] in DATE_FIELDS


@dataclass(frozen=True)
class FindingChange:
    """A finding that appears, disappears or changes between the two packs."""

    kind: ChangeKind
    finding: Finding
    before: Finding | None = None


@dataclass
class RulesDiff:
    """Rule changes, and (with a workspace) the findings they add or remove."""

    old_version: str
    new_version: str
    changes: list[RuleChange] = field(default_factory=list)
    findings: list[FindingChange] | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON view."""
        out: dict[str, Any] = {
            "old_version": self.old_version,
            "new_version": self.new_version,
            "changes": [
                {"path": c.path, "kind": c.kind, "old": c.old, "new": c.new, "date": c.is_date}
                for c in self.changes
            ],
        }
        if self.findings is not None:
            out["findings"] = [
                {
                    "kind": f.kind,
                    **f.finding.to_dict(),
                    **({"before": f.before.to_dict()} if f.before else {}),
                }
                for f in self.findings
            ]
        return out


def _label(item: Any) -> str | None:
    """``country=US``: the first identity key the entry has a value for."""
    if not isinstance(item, dict):
        return None
    key = next((k for k in _IDENTITY if item.get(k) is not None), None)
    return f"{key}={item[key]}" if key else None


def _labels(items: list[Any]) -> list[str] | None:
    """Identity labels of list entries, or ``None`` when some entry has none or two clash."""
    labels = [_label(i) for i in items]
    if any(lbl is None for lbl in labels) or len(set(labels)) != len(labels):
        return None
    return [str(lbl) for lbl in labels]


def _walk(path: str, old: Any, new: Any, out: list[RuleChange]) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        for k in list(old) + [k for k in new if k not in old]:
            sub = f"{path}.{k}" if path else str(k)
            if k not in new:
                out.append(RuleChange(sub, "removed", old[k], None))
            elif k not in old:
                out.append(RuleChange(sub, "added", None, new[k]))
            else:
                _walk(sub, old[k], new[k], out)
        return
    if isinstance(old, list) and isinstance(new, list):
        old_labels, new_labels = _labels(old), _labels(new)
        if old_labels is not None and new_labels is not None:
            before = dict(zip(old_labels, old, strict=True))
            after = dict(zip(new_labels, new, strict=True))
            _walk(path, before, after, out)
            return
        if old != new:
            out.append(RuleChange(path, "changed", old, new))
        return
    if old != new:
        out.append(RuleChange(path, "changed", old, new))


def diff_rules(old: Rules, new: Rules) -> RulesDiff:
    """Every fact added, removed or changed from ``old`` to ``new`` (the version excluded)."""
    a = old.model_dump(mode="json", exclude={"version"})
    b = new.model_dump(mode="json", exclude={"version"})
    changes: list[RuleChange] = []
    _walk("", a, b, changes)
    return RulesDiff(str(old.version), str(new.version), changes)


def diff_findings(before: ScanResult, after: ScanResult) -> list[FindingChange]:
    """Findings that appear, disappear or change (severity, rule, message) by stable id."""
    old = {f.id: f for f in before.findings}
    new = {f.id: f for f in after.findings}
    out = [FindingChange("added", f) for i, f in new.items() if i not in old]
    out += [FindingChange("removed", f) for i, f in old.items() if i not in new]
    out += [
        FindingChange("changed", f, old[i])
        for i, f in new.items()
        if i in old
        and (f.severity, f.rule, f.message) != (old[i].severity, old[i].rule, old[i].message)
    ]
    return out
