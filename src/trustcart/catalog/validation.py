"""Cross-object checks of a data map, and turning problems into one readable error.

Why collect instead of failing fast: a manifest is edited by hand, and an author fixing one typo
per run would need a dozen runs. Every problem carries a path (``datasets[2].fields[1]``), and the
loader adds the file and line; the closest valid values are attached for "did you mean".
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from trustcart.errors import ValidationError

if TYPE_CHECKING:
    from trustcart.catalog.model import Connector, DataMap
    from trustcart.catalog.taxonomy import Taxonomy, TaxonomyKind

PathPart = str | int
Path = tuple[PathPart, ...]
#: How many problems the exception message spells out (all are in ``details``).
MESSAGE_LIMIT = 5


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a manifest, at one place."""

    path: Path
    message: str
    allowed: list[str] = field(default_factory=list)

    def text(self) -> str:
        """Message with the best suggestion, as printed."""
        if self.allowed:
            return f"{self.message} (did you mean {self.allowed[0]!r}?)"
        return self.message


def path_to_str(path: Path) -> str:
    """``("datasets", 2, "fields", 1)`` → ``"datasets[2].fields[1]"``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def closest(value: str, candidates: Iterable[str], n: int = 3) -> list[str]:
    """Likely intended values for a typo, best first."""
    return difflib.get_close_matches(value, list(candidates), n=n, cutoff=0.6)


# --- pydantic errors ------------------------------------------------------------------------


def problems_from_pydantic(
    exc: PydanticValidationError, prefix: Path = (), *, model: type[BaseModel] | None = None
) -> list[Problem]:
    """Rewrite pydantic's errors as problems with the model's own vocabulary.

    ``model`` is the root model the paths start from (for "did you mean" on unknown keys); the
    data map by default.
    """
    from trustcart.catalog.model import DataMap

    root: type[BaseModel] = model or DataMap
    problems: list[Problem] = []
    for err in exc.errors():
        loc: Path = prefix + tuple(p for p in err["loc"] if p != "[key]")
        kind = err["type"]
        ctx = err.get("ctx") or {}
        given = err.get("input")
        allowed: list[str] = list(ctx.get("allowed", []))
        if kind == "missing":
            message = f"missing required key {loc[-1]!r}"
        elif kind == "extra_forbidden":
            message = f"unknown key {loc[-1]!r}"
            allowed = closest(str(loc[-1]), _field_names(root, loc[:-1]), n=3)
            if not allowed:
                allowed = sorted(_field_names(root, loc[:-1]))
        elif kind == "enum":
            options = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
            message = f"invalid value {given!r}: expected one of {', '.join(options)}"
            allowed = closest(str(given), options) or options
        else:
            message = err["msg"].removeprefix("Value error, ")
            if isinstance(given, str | int | float | bool) and repr(given) not in message:
                message += f" (got {given!r})"
        problems.append(Problem(loc, message, allowed))
    return problems


def _field_names(model: type[BaseModel], path: Path) -> list[str]:
    """Keys allowed at ``path`` below ``model`` (aliases where set); [] if not a model there."""
    current: Any = model
    for part in path:
        current = _unwrap(current)
        if isinstance(part, int):
            args = typing.get_args(current)
            current = args[0] if args else None
        elif isinstance(current, type) and issubclass(current, BaseModel):
            by_key = {(f.alias or n): f for n, f in current.model_fields.items()}
            info = by_key.get(part)
            current = info.annotation if info else None
        else:
            args = typing.get_args(current)
            current = args[1] if len(args) == 2 else None
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [(f.alias or n) for n, f in current.model_fields.items()]
    return []


def _unwrap(tp: Any) -> Any:
    """Strip ``X | None`` and ``Annotated`` so the walk sees the container or model."""
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            tp = args[0] if len(args) == 1 else tp
            if len(args) != 1:
                return tp
        else:
            return tp


# --- cross-object checks --------------------------------------------------------------------


def find_problems(
    dm: DataMap,
    known: Mapping[str, set[str]] | None = None,
    *,
    key_duplicates: bool = True,
) -> list[Problem]:
    """Every reference, taxonomy and uniqueness problem in ``dm``.

    ``known`` adds keys (by object kind) that exist in the source but failed structural
    validation, so that one bad system does not also make every reference to it an error.
    ``key_duplicates=False`` skips duplicate top-level keys, for a caller that checked them on
    the source (where the items that failed validation still count).
    """
    return _Checker(dm, known or {}, key_duplicates=key_duplicates).run()


class _Checker:
    def __init__(self, dm: DataMap, known: Mapping[str, set[str]], *, key_duplicates: bool) -> None:
        self.dm = dm
        self.key_duplicates = key_duplicates
        self.tax: Taxonomy = dm.taxonomy_index()
        self.problems: list[Problem] = []
        self.purposes = {p.key for p in dm.purposes} | known.get("purpose", set())
        self.systems = {s.key for s in dm.systems} | known.get("system", set())
        self.recipients = {r.key for r in dm.recipients} | known.get("recipient", set())
        self.datasets = {d.key for d in dm.datasets} | known.get("dataset", set())
        self.extra_taxonomy = {k: known.get(k, set()) for k in ("data_category", "data_use")}
        self.extra_taxonomy["data_subject"] = known.get("data_subject", set())

    def add(self, path: Path, message: str, allowed: Sequence[str] = ()) -> None:
        self.problems.append(Problem(path, message, list(allowed)))

    def run(self) -> list[Problem]:
        self.duplicates()
        self.taxonomy_tree()
        self.purpose_refs()
        self.system_refs()
        self.dataset_refs()
        self.recipient_refs()
        self.flow_refs()
        return self.problems

    # helpers

    def ref(self, path: Path, value: str, pool: set[str], what: str) -> None:
        if value not in pool:
            self.add(path, f"unknown {what} {value!r}", closest(value, pool))

    def term(self, path: Path, kind: TaxonomyKind, value: str) -> None:
        if not self.tax.has(kind, value) and value not in self.extra_taxonomy[kind]:
            label = self.tax.label(kind)
            self.add(path, f"unknown {label} {value!r}", self.tax.closest(kind, value))

    # checks

    def duplicates(self) -> None:
        sections: list[tuple[Path, Sequence[Any], str]] = [
            (("purposes",), self.dm.purposes, "purpose"),
            (("systems",), self.dm.systems, "system"),
            (("datasets",), self.dm.datasets, "dataset"),
            (("recipients",), self.dm.recipients, "recipient"),
            (("flows",), self.dm.flows, "flow"),
        ]
        for attr, what in (
            ("data_categories", "data category extension"),
            ("data_uses", "data use extension"),
            ("data_subjects", "data subject extension"),
        ):
            sections.append((("taxonomy", attr), getattr(self.dm.taxonomy, attr), what))
        for base, items, what in sections if self.key_duplicates else []:
            duplicate_keys(base, [i.key for i in items], what, self.problems)
        for i, ds in enumerate(self.dm.datasets):
            first: dict[str, int] = {}
            for j, fld in enumerate(ds.fields):
                if fld.name in first:
                    where = path_to_str(("datasets", i, "fields", first[fld.name]))
                    self.add(
                        ("datasets", i, "fields", j, "name"),
                        f"duplicate field name {fld.name!r} in dataset {ds.key!r} "
                        f"(first defined at {where})",
                    )
                else:
                    first[fld.name] = j
        ids = self.systems & self.recipients
        for i, rec in enumerate(self.dm.recipients):
            if rec.key in ids:
                self.add(
                    ("recipients", i, "key"),
                    f"key {rec.key!r} names both a system and a recipient: flows would be "
                    "ambiguous",
                )

    def taxonomy_tree(self) -> None:
        from trustcart.catalog.taxonomy import default_keys

        for kind, items in self.dm.taxonomy.by_kind().items():
            attr = {"data_category": "data_categories", "data_use": "data_uses"}.get(
                kind, "data_subjects"
            )
            defaults = default_keys(kind)
            for i, ext in enumerate(items):
                path: Path = ("taxonomy", attr, i)
                if ext.key in defaults:
                    self.add((*path, "key"), f"{ext.key!r} is already a fideslang {kind} key")
                    continue
                if ext.parent_key is None:
                    if kind != "data_subject":
                        self.add(
                            (*path, "parent_key"),
                            f"a {self.tax.label(kind)} extension needs a 'parent_key'",
                            self.tax.closest(kind, ext.key.rpartition(".")[0]),
                        )
                    continue
                if not self.tax.has(kind, ext.parent_key):
                    self.add(
                        (*path, "parent_key"),
                        f"unknown parent {self.tax.label(kind)} {ext.parent_key!r}",
                        self.tax.closest(kind, ext.parent_key),
                    )
                elif not ext.key.startswith(ext.parent_key + "."):
                    suggestion = f"{ext.parent_key}.{ext.key.rpartition('.')[2]}"
                    self.add(
                        (*path, "key"),
                        f"key {ext.key!r} must extend its parent: '{ext.parent_key}.<name>'",
                        [suggestion],
                    )

    def purpose_refs(self) -> None:
        served = set(self.dm.organization.jurisdictions) if self.dm.organization else None
        for i, p in enumerate(self.dm.purposes):
            self.term(("purposes", i, "data_use"), "data_use", p.data_use)
            for j, subject in enumerate(p.data_subjects):
                self.term(("purposes", i, "data_subjects", j), "data_subject", subject)
            if served is not None:
                for code in p.legal_basis:
                    if code not in served:
                        self.add(
                            ("purposes", i, "legal_basis", code),
                            f"legal basis for {code!r}, which the organization does not serve "
                            f"(organization.jurisdictions: {', '.join(sorted(served))})",
                            closest(code, served),
                        )

    def system_refs(self) -> None:
        for i, s in enumerate(self.dm.systems):
            for j, key in enumerate(s.purposes):
                self.ref(("systems", i, "purposes", j), key, self.purposes, "purpose")

    def connector(self, i: int, key: str, c: Connector, names: list[str]) -> None:
        """A connector's columns must be the dataset's fields, and each type needs its target."""
        base: Path = ("datasets", i, "connector")
        if names:
            for ident, column in c.identities.items():
                if column not in names:
                    self.add(
                        (*base, "identities", ident),
                        f"identity column {column!r} is not a field of dataset {key!r}",
                        closest(column, names),
                    )
            for j, column in enumerate(c.mask_fields):
                if column not in names:
                    self.add(
                        (*base, "mask_fields", j),
                        f"mask field {column!r} is not a field of dataset {key!r}",
                        closest(column, names),
                    )
        if c.type == "webhook" and not c.endpoint:
            self.add((*base, "endpoint"), f"webhook connector of {key!r} needs an endpoint URL")
        if c.type == "webhook" and not c.secret_env:
            self.add(
                (*base, "secret_env"),
                f"webhook connector of {key!r} needs secret_env: the environment variable "
                "holding the signing secret (secrets never go in the manifest)",
            )

    def dataset_refs(self) -> None:
        for i, ds in enumerate(self.dm.datasets):
            self.ref(("datasets", i, "system"), ds.system, self.systems, "system")
            system = self.dm.system(ds.system)
            names = [f.name for f in ds.fields]
            for j, key in enumerate(ds.identity_keys):
                if key not in names:
                    self.add(
                        ("datasets", i, "identity_keys", j),
                        f"identity key {key!r} is not a field of dataset {ds.key!r}",
                        closest(key, names),
                    )
            if ds.connector is not None:
                self.connector(i, ds.key, ds.connector, names)
            for j, fld in enumerate(ds.fields):
                path: Path = ("datasets", i, "fields", j)
                for k, cat in enumerate(fld.data_categories):
                    self.term((*path, "data_categories", k), "data_category", cat)
                self.term((*path, "data_subject"), "data_subject", fld.data_subject)
                for k, key in enumerate(fld.purposes or []):
                    if key not in self.purposes:
                        self.ref((*path, "purposes", k), key, self.purposes, "purpose")
                    elif system is not None and key not in system.purposes:
                        self.add(
                            (*path, "purposes", k),
                            f"purpose {key!r} is not one of system {system.key!r}'s purposes "
                            f"({', '.join(system.purposes) or 'none'})",
                            closest(key, system.purposes),
                        )

    def recipient_refs(self) -> None:
        for i, r in enumerate(self.dm.recipients):
            for j, key in enumerate(r.purposes):
                self.ref(("recipients", i, "purposes", j), key, self.purposes, "purpose")

    def flow_refs(self) -> None:
        from trustcart.catalog.model import DATA_SUBJECT

        for i, f in enumerate(self.dm.flows):
            path: Path = ("flows", i)
            self.ref((*path, "from"), f.source, self.systems | {DATA_SUBJECT}, "flow source")
            self.ref((*path, "to"), f.target, self.systems | self.recipients, "flow target")
            self.ref((*path, "purpose"), f.purpose, self.purposes, "purpose")
            for k, cat in enumerate(f.data_categories):
                self.term((*path, "data_categories", k), "data_category", cat)


def duplicate_keys(base: Path, keys: Sequence[str | None], what: str, out: list[Problem]) -> None:
    """Append a problem for every key already used earlier in the same list."""
    first: dict[str, int] = {}
    for i, key in enumerate(keys):
        if key is None:
            continue
        if key in first:
            where = path_to_str((*base, first[key]))
            message = f"duplicate {what} key {key!r} (first defined at {where})"
            out.append(Problem((*base, i, "key"), message))
        else:
            first[key] = i


# --- one error for all problems ---------------------------------------------------------------


def raise_problems(
    problems: Sequence[Problem],
    *,
    filename: str | None,
    locate: Callable[[Path], int | None] | None = None,
) -> None:
    """Raise one :class:`ValidationError` describing every problem; return if there are none."""
    if not problems:
        return
    located = [(locate(p.path) if locate else None, p) for p in problems]
    if locate is not None:  # in file order: the order an author fixes them
        located.sort(key=lambda lp: lp[0] if lp[0] is not None else 0)
    details: list[dict[str, Any]] = []
    lines: list[str] = []
    for line, problem in located:
        where = path_to_str(problem.path) or "(document)"
        details.append(
            {
                "file": filename,
                "path": where,
                "line": line,
                "message": problem.text(),
                "allowed": [_plain(a) for a in problem.allowed],
            }
        )
        prefix = ""
        if filename is not None:
            prefix = f"{filename}:{line} " if line is not None else f"{filename} "
        lines.append(f"{prefix}{where}: {problem.text()}")
    count = len(problems)
    head = f"{count} problem{'s' if count != 1 else ''} in {filename or 'the data map'}"
    shown = lines[:MESSAGE_LIMIT]
    more = f"\n  … and {count - len(shown)} more (see details)" if count > len(shown) else ""
    raise ValidationError(head + ":\n  " + "\n  ".join(shown) + more, details=details)


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value
