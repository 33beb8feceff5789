"""Read a YAML manifest into a :class:`DataMap`, reporting every problem with file and line.

Why compose first: ``yaml.safe_load`` forgets where values came from. Composing keeps each node's
position, so a pydantic location such as ``("datasets", 2, "fields", 1)`` can be walked down the
node tree to the line an author must edit. Structural validation runs on the whole document (to
get every type error) and then item by item, so the cross-object checks still run on the items
that are well-formed.
"""

from __future__ import annotations

import difflib
from pathlib import Path as FsPath
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from trustcart.catalog.model import (
    DataMap,
    Dataset,
    Flow,
    Organization,
    Purpose,
    Recipient,
    System,
    TaxonomyExtension,
    TaxonomyExtensions,
)
from trustcart.catalog.validation import (
    Path,
    Problem,
    duplicate_keys,
    find_problems,
    problems_from_pydantic,
    raise_problems,
)
from trustcart.errors import ValidationError

_M = TypeVar("_M", bound=BaseModel)

_LIST_SECTIONS: dict[tuple[str, ...], tuple[str, type[BaseModel]]] = {
    ("purposes",): ("purpose", Purpose),
    ("systems",): ("system", System),
    ("datasets",): ("dataset", Dataset),
    ("recipients",): ("recipient", Recipient),
    ("flows",): ("flow", Flow),
    ("taxonomy", "data_categories"): ("data_category", TaxonomyExtension),
    ("taxonomy", "data_uses"): ("data_use", TaxonomyExtension),
    ("taxonomy", "data_subjects"): ("data_subject", TaxonomyExtension),
}


def load_manifest(path: str | FsPath, *, context: DataMap | None = None) -> DataMap:
    """Load and fully validate a manifest file.

    ``context`` is the map this manifest will be merged into (e.g. the workspace's stored map):
    references to its objects count as resolved, so a team can load a file holding only its
    own systems. Problems are still reported with this file's lines.

    Raises :class:`trustcart.errors.ValidationError` for a missing/unreadable file, a YAML
    syntax error or any manifest problem (all of them, with ``details``).
    """
    file = FsPath(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValidationError(
            f"{file}: manifest not found",
            details=[{"file": str(file), "path": "", "line": None, "message": "file not found"}],
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(
            f"{file}: cannot read manifest: {exc}",
            details=[{"file": str(file), "path": "", "line": None, "message": str(exc)}],
        ) from exc
    return parse_manifest(text, filename=str(file), context=context)


def _context_keys(context: DataMap | None) -> dict[str, set[str]]:
    keys: dict[str, set[str]] = {}
    if context is not None:
        for kind, key, _body in context.objects():
            keys.setdefault(kind, set()).add(key)
    return keys


def parse_manifest(
    text: str, filename: str = "<string>", *, context: DataMap | None = None
) -> DataMap:
    """Parse and fully validate manifest text; ``filename`` is used in messages.

    ``context``: see :func:`load_manifest`.
    """
    outside = _context_keys(context)
    root, data = _compose(text, filename)
    locate = _Locator(root)
    problems = list(_duplicate_yaml_keys(root))
    if data is None:
        problems.append(Problem((), "the manifest is empty"))
        raise_problems(problems, filename=filename, locate=locate)
    if not isinstance(data, dict):
        problems.append(Problem((), "the manifest must be a mapping of sections (organization, …)"))
        raise_problems(problems, filename=filename, locate=locate)

    try:
        dm = DataMap.model_validate(data)
    except PydanticValidationError as exc:
        problems.extend(problems_from_pydantic(exc))
        salvaged, index_maps, known = _salvage(data)
        problems.extend(_raw_duplicates(data))
        for kind, keys in outside.items():
            known.setdefault(kind, set()).update(keys)
        for problem in find_problems(salvaged, known, key_duplicates=False):
            problems.append(_remap(problem, index_maps))
    else:
        problems.extend(find_problems(dm, outside))
    raise_problems(problems, filename=filename, locate=locate)
    return dm


def parse_yaml_model(text: str, model: type[_M], *, filename: str = "<string>") -> _M:
    """Parse YAML ``text`` into ``model`` with the manifest loader's safety and error reporting.

    Why shared: vendor, DPIA and AIA records are manifests too; they get the same refusal of
    recursive aliases and alias bombs, the same duplicate-key check and the same
    ``file:line path: message`` errors as the data map.
    """
    root, data = _compose(text, filename)
    locate = _Locator(root)
    problems = list(_duplicate_yaml_keys(root))
    if data is None:
        problems.append(Problem((), "the document is empty"))
    elif not isinstance(data, dict):
        problems.append(Problem((), "the document must be a mapping of sections"))
    raise_problems(problems, filename=filename, locate=locate)
    try:
        return model.model_validate(data)
    except PydanticValidationError as exc:
        raise_problems(problems_from_pydantic(exc, model=model), filename=filename, locate=locate)
        raise  # pragma: no cover - raise_problems always raises on a non-empty list


def read_text_file(path: str | FsPath, what: str = "manifest") -> tuple[str, str]:
    """``(text, filename)`` of a UTF-8 file, or a located ``ValidationError``."""
    file = FsPath(path)
    try:
        return file.read_text(encoding="utf-8"), str(file)
    except FileNotFoundError:
        raise ValidationError(
            f"{file}: {what} not found",
            details=[{"file": str(file), "path": "", "line": None, "message": "file not found"}],
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(
            f"{file}: cannot read {what}: {exc}",
            details=[{"file": str(file), "path": "", "line": None, "message": str(exc)}],
        ) from exc


#: A manifest is a few levels deep; anything deeper is a mistake or an attack on the parser.
_MAX_DEPTH = 64
#: Node visits allowed once aliases are expanded: far above any real data map, far below a
#: "billion laughs" document whose aliases multiply into billions of nodes.
_MAX_NODES = 200_000


def _yaml_error(
    filename: str, message: str, line: int | None = None, column: int | None = None
) -> ValidationError:
    where = f"{filename}:{line}:{column}" if line is not None else filename
    return ValidationError(
        f"{where}: {message}",
        details=[
            {
                "file": filename,
                "path": "",
                "line": line,
                "column": column,
                "message": message,
                "allowed": [],
            }
        ],
    )


def _check_shape(node: yaml.Node, filename: str) -> None:
    """Refuse recursive aliases (``&a [*a]``) and absurd nesting before constructing data."""
    stack: list[tuple[yaml.Node, int, frozenset[int]]] = [(node, 1, frozenset())]
    visits = 0
    while stack:
        current, depth, ancestors = stack.pop()
        visits += 1
        if visits > _MAX_NODES:
            raise _yaml_error(
                filename,
                f"YAML expands to more than {_MAX_NODES:,} values "
                "(aliases repeated many times); write the manifest out plainly",
            )
        if id(current) in ancestors:
            mark = current.start_mark
            raise _yaml_error(
                filename,
                "YAML alias refers to one of its own parents (recursive "
                "structure); a manifest cannot contain cycles",
                mark.line + 1,
                mark.column + 1,
            )
        if depth > _MAX_DEPTH:
            mark = current.start_mark
            raise _yaml_error(
                filename,
                f"YAML nested deeper than {_MAX_DEPTH} levels",
                mark.line + 1,
                mark.column + 1,
            )
        inner = ancestors | {id(current)}
        if isinstance(current, yaml.MappingNode):
            for key, value in current.value:
                stack.append((key, depth + 1, inner))
                stack.append((value, depth + 1, inner))
        elif isinstance(current, yaml.SequenceNode):
            stack.extend((item, depth + 1, inner) for item in current.value)


def _compose(text: str, filename: str) -> tuple[yaml.Node | None, Any]:
    """Node tree (for positions) and constructed data, from one parse."""
    loader: yaml.SafeLoader | None = None
    try:
        loader = yaml.SafeLoader(text)  # the reader rejects control characters here
        node = loader.get_single_node()
        if node is not None:
            _check_shape(node, filename)
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        what = exc.problem or str(exc)
        context = f" ({exc.context})" if exc.context else ""
        raise _yaml_error(
            filename,
            f"YAML syntax error: {what}{context}",
            mark.line + 1 if mark else None,
            mark.column + 1 if mark else None,
        ) from None
    except yaml.YAMLError as exc:  # e.g. ReaderError: a character YAML does not allow
        raise _yaml_error(filename, f"YAML error: {exc}") from None
    except RecursionError:
        raise _yaml_error(filename, "YAML nested too deeply to read") from None
    finally:
        if loader is not None:
            loader.dispose()
    return node, data


class _Locator:
    """Maps a problem path to the 1-based line of the deepest YAML node it reaches."""

    def __init__(self, root: yaml.Node | None) -> None:
        self.root = root

    def __call__(self, path: Path) -> int | None:
        node = self.root
        if node is None:
            return None
        line = node.start_mark.line + 1
        for part in path:
            child: yaml.Node | None = None
            if isinstance(node, yaml.MappingNode):
                for key_node, value_node in node.value:
                    if key_node.value == str(part):
                        # a problem about the key itself (unknown key) points at the key line
                        child = value_node
                        line = key_node.start_mark.line + 1
                        break
            elif (
                isinstance(node, yaml.SequenceNode)
                and isinstance(part, int)
                and 0 <= part < len(node.value)
            ):
                child = node.value[part]
            if child is None:
                return line
            node = child
            line = node.start_mark.line + 1
        return line


def _duplicate_yaml_keys(root: yaml.Node | None, path: Path = ()) -> list[Problem]:
    """YAML silently keeps the last of two equal keys; a manifest author never means that."""
    problems: list[Problem] = []
    if isinstance(root, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in root.value:
            key = str(key_node.value)
            if key in seen:
                problems.append(
                    Problem((*path, key), f"key {key!r} appears twice in the same mapping")
                )
            seen.add(key)
            problems.extend(_duplicate_yaml_keys(value_node, (*path, key)))
    elif isinstance(root, yaml.SequenceNode):
        for i, item in enumerate(root.value):
            problems.extend(_duplicate_yaml_keys(item, (*path, i)))
    return problems


def _salvage(
    data: dict[str, Any],
) -> tuple[DataMap, dict[tuple[str, ...], list[int]], dict[str, set[str]]]:
    """The well-formed part of a document, with original indices and keys of the rest."""
    out: dict[str, Any] = {"taxonomy": {}}
    index_maps: dict[tuple[str, ...], list[int]] = {}
    known: dict[str, set[str]] = {}
    try:
        out["organization"] = Organization.model_validate(data.get("organization"))
    except PydanticValidationError:
        out["organization"] = None
    # a misspelt section ("sytems:") is reported once; its keys still count as defined
    sections = {path[0]: kind for path, (kind, _cls) in _LIST_SECTIONS.items() if len(path) == 1}
    for name, items in data.items():
        if name in DataMap.model_fields or not isinstance(items, list):
            continue
        match = difflib.get_close_matches(str(name), list(sections), n=1)
        if match:
            keys = {
                i["key"] for i in items if isinstance(i, dict) and isinstance(i.get("key"), str)
            }
            known.setdefault(sections[match[0]], set()).update(keys)
    taxonomy = data.get("taxonomy")
    for section, (kind, cls) in _LIST_SECTIONS.items():
        container = taxonomy if section[0] == "taxonomy" else data
        items = container.get(section[-1]) if isinstance(container, dict) else None
        kept: list[BaseModel] = []
        index_maps[section] = []
        for i, item in enumerate(items if isinstance(items, list) else []):
            try:
                kept.append(cls.model_validate(item))
                index_maps[section].append(i)
            except PydanticValidationError:
                if isinstance(item, dict) and isinstance(item.get("key"), str):
                    known.setdefault(kind, set()).add(item["key"])
        target = out["taxonomy"] if section[0] == "taxonomy" else out
        target[section[-1]] = kept
    out["taxonomy"] = TaxonomyExtensions.model_construct(**out["taxonomy"])
    return DataMap.model_construct(**out), index_maps, known


def _raw_duplicates(data: dict[str, Any]) -> list[Problem]:
    """Duplicate keys among all items of the document, well-formed or not."""
    problems: list[Problem] = []
    for section, (kind, _cls) in _LIST_SECTIONS.items():
        container: Any = data
        for part in section:
            container = container.get(part) if isinstance(container, dict) else None
        if not isinstance(container, list):
            continue
        keys = [_raw_key(kind, item) for item in container]
        what = kind.replace("_", " ") + (" extension" if section[0] == "taxonomy" else "")
        duplicate_keys(section, keys, what, problems)
    return problems


def _raw_key(kind: str, item: Any) -> str | None:
    if not isinstance(item, dict):
        return None
    key = item.get("key")
    if isinstance(key, str) and key:
        return key
    if kind == "flow" and all(isinstance(item.get(k), str) for k in ("from", "to", "purpose")):
        return f"{item['from']}->{item['to']}:{item['purpose']}"
    return None


def _remap(problem: Problem, index_maps: dict[tuple[str, ...], list[int]]) -> Problem:
    """Translate an index into the salvaged lists back to the index in the document."""
    path = problem.path
    for section, mapping in index_maps.items():
        n = len(section)
        index = path[n] if len(path) > n else None
        if path[:n] == section and isinstance(index, int):
            original = mapping[index]
            return Problem((*section, original, *path[n + 1 :]), problem.message, problem.allowed)
    return problem
