"""Scan results as JSON, SARIF 2.1.0 (GitHub code scanning) and an HTML report."""

from __future__ import annotations

from typing import Any

import orjson

from trustcart.compliance.finding import ScanResult, Severity
from trustcart.compliance.registry import all_checks

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_LEVEL: dict[Severity, str] = {"high": "error", "medium": "warning", "low": "note"}
#: GitHub reads ``security-severity`` (0-10) to rank results.
_SECURITY_SEVERITY: dict[Severity, str] = {"high": "8.0", "medium": "5.0", "low": "2.0"}


def to_json(result: ScanResult) -> str:
    """The scan as indented JSON."""
    return orjson.dumps(result.to_dict(), option=orjson.OPT_INDENT_2).decode()


def _kind_and_name(obj: str) -> tuple[str, str]:
    kind, _, name = obj.partition(":")
    return (kind, name) if name else ("object", obj)


def to_sarif(result: ScanResult, *, version: str = "0.1.0") -> dict[str, Any]:
    """A SARIF 2.1.0 log: one rule per check, one result per finding.

    ``level`` maps high→error, medium→warning, low→note; ``message.text`` holds the message,
    the rule and the fix; the data-map object is a ``logicalLocation`` (SARIF has no file for
    it); the stable finding id is a ``partialFingerprint``.
    """
    checks = [c for c in all_checks() if c.id in set(result.checks)]
    index = {c.id: i for i, c in enumerate(checks)}
    rules = [
        {
            "id": c.id,
            "name": "".join(w.capitalize() for w in c.title.replace("-", " ").split()),
            "shortDescription": {"text": c.title},
            "fullDescription": {"text": getattr(c, "description", c.title)},
            "help": {"text": f"Fix: {c.fix}\nRule: {c.rule}"},
            "defaultConfiguration": {"level": SARIF_LEVEL[c.severity]},
            "properties": {
                "area": c.area,
                "citation": c.rule,
                "tags": ["compliance", c.area],
                "security-severity": _SECURITY_SEVERITY[c.severity],
            },
        }
        for c in checks
    ]
    results = []
    for f in result.findings:
        kind, name = _kind_and_name(f.object)
        entry: dict[str, Any] = {
            "ruleId": f.check,
            "level": SARIF_LEVEL[f.severity],
            "message": {"text": f"{f.message}\nRule: {f.rule}\nFix: {f.fix}"},
            "locations": [
                {"logicalLocations": [{"name": name, "fullyQualifiedName": f.object, "kind": kind}]}
            ],
            "partialFingerprints": {"trustcartFindingId/v1": f.id},
            "properties": {"id": f.id, "severity": f.severity, "area": f.area, "rule": f.rule},
        }
        if f.check in index:
            entry["ruleIndex"] = index[f.check]
        results.append(entry)
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "trustcart-scan",
                        "version": version,
                        "informationUri": "https://github.com/trustcart/trustcart",
                        "rules": rules,
                    }
                },
                "results": results,
                "properties": {
                    "score": result.score,
                    "counts": dict(result.counts),
                    "rulesVersion": result.rules_version,
                },
            }
        ],
    }


def to_sarif_text(result: ScanResult) -> str:
    """:func:`to_sarif` as indented JSON."""
    return orjson.dumps(to_sarif(result), option=orjson.OPT_INDENT_2).decode()


def table_rows(result: ScanResult) -> list[tuple[str, str, str, str, str]]:
    """``(severity, id, object, message, fix)`` rows for the CLI table."""
    return [(f.severity, f.id, f.object, f.message, f.fix) for f in result.findings]
