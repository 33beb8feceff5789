"""The check plugin interface and its registry.

Adding a check is one function in the module of its area (``checks/<area>.py``)::

    @check("TC-VEN-001", area="vendors", title="Vendor without a signed DPA", severity="high",
           rule="TrustCart practice: …", fix="Sign a DPA …")
    def vendor_without_dpa(ctx: CheckContext) -> Iterator[Issue]:
        for system in ctx.datamap.systems:
            if system.vendor and not system.vendor.dpa_signed:
                yield Issue(f"system:{system.key}", f"{system.vendor.name} … no signed DPA")

The decorator registers a :class:`RegisteredCheck` (which satisfies the :class:`Check`
protocol); an :class:`Issue` may override the check's default severity, rule and fix.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast, runtime_checkable

from trustcart.compliance.finding import Finding, Severity, finding_id
from trustcart.errors import ValidationError

if TYPE_CHECKING:
    from trustcart.assessments.records import Records
    from trustcart.catalog import DataMap, Sensitivity
    from trustcart.config import Settings
    from trustcart.rules import Jurisdiction, Rules
    from trustcart.store import Store


_T = TypeVar("_T")


@dataclass
class CheckContext:
    """What checks read: the data map, the rule pack and (for ledger checks) the store.

    ``store`` is ``None`` when scanning a bare :class:`DataMap` (tests, a manifest before it is
    loaded); checks that need the workspace's tables then find nothing to report. ``records``
    (vendors, DPIAs, AIAs) are read from the store unless given; ``on`` is the day expiry dates
    are judged against (today by default), so a scan can be replayed for a past or future day.
    ``settings`` are the workspace's (policy intervals such as access reviews); checks use
    their defaults when scanning without a workspace.
    """

    datamap: DataMap
    rules: Rules
    store: Store | None = None
    records: Records | None = None
    on: date | None = None
    settings: Settings | None = None
    _resolved: dict[str, Jurisdiction] = field(default_factory=dict, repr=False)
    _memo: dict[str, Any] = field(default_factory=dict, repr=False)

    def memo(self, name: str, compute: Callable[[], _T]) -> _T:
        """``compute()`` once per scan under ``name``: checks of one area share a derivation
        (e.g. the transfer assessments) without recomputing it."""
        if name not in self._memo:
            self._memo[name] = compute()
        return cast(_T, self._memo[name])

    @cached_property
    def sensitivity(self) -> Sensitivity:
        """Derived sensitivity of every field (computed once per scan)."""
        return self.datamap.sensitivity(self.rules)

    @cached_property
    def registry(self) -> Records:
        """Vendor, DPIA and AIA records: given, else the store's latest, else none."""
        from trustcart.assessments.records import Records, load_records

        if self.records is not None:
            return self.records
        return load_records(self.store) if self.store is not None else Records()

    @property
    def today(self) -> date:
        """The day the scan judges dates against."""
        from trustcart.clock import utcnow

        return self.on or utcnow().date()

    @property
    def served(self) -> list[str]:
        """Jurisdiction codes the organization serves (empty without an organization)."""
        org = self.datamap.organization
        return list(org.jurisdictions) if org else []

    def jurisdiction(self, code: str) -> Jurisdiction:
        """The rule-pack jurisdiction for ``code`` (cached)."""
        if code not in self._resolved:
            self._resolved[code] = self.rules.resolve(code)
        return self._resolved[code]


@dataclass(frozen=True, slots=True)
class Issue:
    """What a check function yields; the registry turns it into a :class:`Finding`.

    ``key`` distinguishes several issues about the same object (e.g. one per jurisdiction) so
    each gets its own stable id.
    """

    object: str
    message: str
    rule: str | None = None
    fix: str | None = None
    severity: Severity | None = None
    key: str = ""


@runtime_checkable
class Check(Protocol):
    """A compliance check: an id, an area, defaults, and a function from context to findings."""

    @property
    def id(self) -> str:
        """Stable id (``TC-<AREA>-<nnn>``), the SARIF ``ruleId``."""
        ...

    @property
    def area(self) -> str:
        """Area the check belongs to (``--area``)."""
        ...

    @property
    def title(self) -> str:
        """One-line name."""
        ...

    @property
    def severity(self) -> Severity:
        """Default severity of its findings."""
        ...

    @property
    def rule(self) -> str:
        """Default citation of its findings."""
        ...

    @property
    def fix(self) -> str:
        """Default fix of its findings."""
        ...

    def run(self, ctx: CheckContext) -> list[Finding]:
        """Every finding of this check in ``ctx`` (possibly none)."""
        ...


CheckFunction = Callable[[CheckContext], Iterable[Issue]]


@dataclass(frozen=True)
class RegisteredCheck:
    """A check defined by a decorated function (see :func:`check`)."""

    id: str
    area: str
    title: str
    severity: Severity
    rule: str
    fix: str
    func: CheckFunction

    @property
    def description(self) -> str:
        """The function's docstring: what the check looks at and why."""
        return " ".join((self.func.__doc__ or self.title).split())

    def run(self, ctx: CheckContext) -> list[Finding]:
        """Call the function and complete each issue with this check's defaults."""
        return [
            Finding(
                id=finding_id(self.id, issue.object, issue.key),
                check=self.id,
                severity=issue.severity or self.severity,
                area=self.area,
                object=issue.object,
                rule=issue.rule or self.rule,
                message=issue.message,
                fix=issue.fix or self.fix,
            )
            for issue in self.func(ctx)
        ]


_REGISTRY: dict[str, Check] = {}


def register(c: Check) -> Check:
    """Add a check object to the registry (ids are unique)."""
    if c.id in _REGISTRY and _REGISTRY[c.id] is not c:
        raise ValueError(f"check id {c.id!r} registered twice")
    _REGISTRY[c.id] = c
    return c


def check(
    id: str,
    *,
    area: str,
    title: str,
    severity: Severity,
    rule: str,
    fix: str,
) -> Callable[[CheckFunction], RegisteredCheck]:
    """Decorator: register ``func`` as check ``id`` with default severity, rule and fix."""

    def wrap(func: CheckFunction) -> RegisteredCheck:
        registered = RegisteredCheck(id, area, title, severity, rule, fix, func)
        register(registered)
        return registered

    return wrap


def all_checks() -> list[Check]:
    """Every registered check, in id order (the built-in checks are imported first)."""
    import trustcart.compliance.checks  # noqa: F401 - importing registers the built-in checks

    return [_REGISTRY[k] for k in sorted(_REGISTRY)]


def areas() -> list[str]:
    """Every area with at least one check, sorted."""
    return sorted({c.area for c in all_checks()})


def select_checks(wanted_areas: Iterable[str] | None = None) -> list[Check]:
    """The checks of ``wanted_areas`` (all when ``None``); an unknown area is an error."""
    checks = all_checks()
    if wanted_areas is None:
        return checks
    wanted = list(dict.fromkeys(a.strip() for a in wanted_areas if a.strip()))
    known = {c.area for c in checks}
    unknown = [a for a in wanted if a not in known]
    if unknown:
        raise ValidationError(
            f"unknown scan area(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}",
            details={"unknown": unknown},
        )
    return [c for c in checks if c.area in wanted]


def iter_checks() -> Iterator[Check]:
    """Iterate :func:`all_checks` (convenience for docs and the CLI)."""
    yield from all_checks()
