"""SARIF 2.1.0 for code-scanning tools (GitHub code scanning, GitLab, SonarQube, VS Code's viewer).

`to_sarif(document, rules)` turns an `analysis.json` document into one SARIF run: the tool's rule
catalog (`kappa rules`) as `tool.driver.rules`, each finding (file-level and per job) as a result
with its rule, level, message and location (the scanned root's relative path, line and column).
Deterministic like analysis.json: same document, same bytes.

>>> document = {"findings": [{"code": "E001", "name": "dag-syntax-error", "message": "does not parse",
...             "file": "dags/a.py", "line": 3, "col": 5}], "jobs": []}
>>> run = to_sarif(document, [("E001", "dag-syntax-error", "Python file does not parse.")])["runs"][0]
>>> run["results"][0]["level"], run["results"][0]["locations"][0]["physicalLocation"]["region"]
('error', {'startLine': 3, 'startColumn': 5})
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from . import __version__

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
Rule = tuple[str, str, str]  # (code, name, summary), as `kappa rules` lists them

# a finding's level by the first letter of its code; a few scan codes are only worth a warning
LEVELS = {"E": "error", "V": "error", "F": "warning", "R": "warning", "G": "warning", "O": "note", "C": "note"}
LEVEL_OVERRIDES = {
    "E013": "warning",  # template-undefined: rendered with a placeholder, the job is still analysed
    "E024": "warning",  # unknown-dependency
    "E030": "note",  # opaque-task: a PythonOperator is not a problem in itself
    "E031": "warning",  # sql-unresolved
    "E032": "warning",  # dialect-unknown
}
CATEGORIES = {"E": "scan error", "F": "fix job", "O": "optimize job", "R": "reprocess job", "C": "classification"}


def level_of(code: str) -> str:
    return LEVEL_OVERRIDES.get(code) or LEVELS.get(code[:1], "warning")


def _findings(document: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    jobs = [j for j in document.get("jobs") or [] if isinstance(j, Mapping)]
    for finding in [*(document.get("findings") or []), *(f for job in jobs for f in job.get("findings") or [])]:
        if isinstance(finding, Mapping) and isinstance(finding.get("code"), str) and finding.get("file"):
            yield finding


def _rule(code: str, name: str, summary: str) -> dict[str, Any]:
    return {
        "id": code,
        "name": name,
        "shortDescription": {"text": summary},
        "fullDescription": {"text": summary},
        "help": {"text": f"`kappa rules {code}` documents it: {summary}"},
        "defaultConfiguration": {"level": level_of(code)},
        "properties": {"tags": ["kappa-migrate", CATEGORIES.get(code[:1], "generation")]},
    }


def _number(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 1 else 1


def to_sarif(document: Mapping[str, Any], rules: Sequence[Rule], uri_prefix: str = "") -> dict[str, Any]:
    """One SARIF run of every finding in `document`; `uri_prefix` is prepended to each file (the
    scanned folder as seen from the repository root, so code scanning finds the files)."""
    catalog = {code: (name, summary) for code, name, summary in rules}
    seen: dict[tuple[str, str, int, int, str], Mapping[str, Any]] = {}
    for finding in _findings(document):
        key = (
            str(finding["file"]),
            str(finding["code"]),
            _number(finding.get("line")),
            _number(finding.get("col")),
            str(finding.get("message", "")),
        )
        seen.setdefault(key, finding)
    for finding in seen.values():  # a code the catalog lacks still gets a rule
        catalog.setdefault(str(finding["code"]), (str(finding.get("name") or finding["code"]), str(finding["code"])))
    rule_ids = sorted(catalog)
    index = {code: position for position, code in enumerate(rule_ids)}
    results = []
    for file, code, line, col, message in sorted(seen):
        uri = f"{uri_prefix.rstrip('/')}/{file}" if uri_prefix else file
        fingerprint = hashlib.sha256(f"{code}\0{file}\0{message}".encode()).hexdigest()[:32]
        results.append(
            {
                "ruleId": code,
                "ruleIndex": index[code],
                "level": level_of(code),
                "message": {"text": message or catalog[code][1]},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": uri, "uriBaseId": "%SRCROOT%"},
                            "region": {"startLine": line, "startColumn": col},
                        }
                    }
                ],
                "partialFingerprints": {"kappaFinding/v1": fingerprint},
            }
        )
    tool = document.get("tool")
    version = tool.get("version") if isinstance(tool, Mapping) else None
    driver = {
        "name": "kappa-migrate",
        "version": str(version or __version__),
        "rules": [_rule(code, *catalog[code]) for code in rule_ids],
    }
    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [{"tool": {"driver": driver}, "columnKind": "unicodeCodePoints", "results": results}],
    }


def dumps_sarif(document: Mapping[str, Any], rules: Sequence[Rule], uri_prefix: str = "") -> str:
    return json.dumps(to_sarif(document, rules, uri_prefix), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
