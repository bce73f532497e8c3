"""CI gating: `--fail-on CONDITION` thresholds over an `analysis.json` document.

Each condition is a function from the document to the keys of what it counts (job ids, or
`code file message` for findings), so the same table serves `kappa scan` (a fresh analysis) and
`kappa report` (an output folder, where validation and verification have run), and a
`--baseline` analysis.json turns "any" into "any new": what the baseline already had is not
counted (findings are matched without their line, which moves with every edit above them).

Exit codes (README): 0 ran, 1 a threshold was crossed, 2 bad usage.

>>> document = {"findings": [], "jobs": [{"id": "d.t", "pattern": "fix", "findings": []}]}
>>> crossed(document, [FailOn.FIX, FailOn.ERROR])
{'fix': ['d.t']}
>>> crossed(document, [FailOn.FIX], baseline=document)
{}
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from enum import StrEnum
from typing import Any

Document = Mapping[str, Any]


class FailOn(StrEnum):
    ERROR = "error"  # any E-finding (scan error)
    SECRET = "secret"  # any E050 secret-in-code
    UNPARSED = "unparsed"  # any job whose SQL does not parse
    MISSING = "missing"  # any SQL job whose SQL could not be found
    OPAQUE = "opaque"  # any job the scanner cannot see into
    FIX = "fix"  # any fix job (a batch correction the stream makes unnecessary)
    REPROCESS = "reprocess"  # any reprocess job
    MANUAL = "manual"  # any job `generate` left to a person
    PLANNER_FAILURE = "planner-failure"  # any generated job the Flink planner rejects (`kappa validate`)
    DIFFERENT = "different"  # any job whose stream differs from the batch result (`kappa verify`)


def _jobs(document: Document) -> Iterator[Mapping[str, Any]]:
    jobs = document.get("jobs")
    for job in jobs if isinstance(jobs, list) else []:
        if isinstance(job, Mapping) and isinstance(job.get("id"), str):
            yield job


def _findings(document: Document) -> Iterator[Mapping[str, Any]]:
    """File-level findings, then each job's, skipping malformed entries."""
    top = document.get("findings")
    per_job = (finding for job in _jobs(document) for finding in job.get("findings") or [])
    for finding in [*(top if isinstance(top, list) else []), *per_job]:
        if isinstance(finding, Mapping) and isinstance(finding.get("code"), str):
            yield finding


def _finding_keys(accept: Callable[[str], bool]) -> Callable[[Document], set[str]]:
    def keys(document: Document) -> set[str]:
        return {
            f"{f['code']} {f.get('file', '')} {f.get('message', '')}" for f in _findings(document) if accept(f["code"])
        }

    return keys


def _jobs_where(field: str, value: str, inner: str | None = None) -> Callable[[Document], set[str]]:
    def keys(document: Document) -> set[str]:
        found = set()
        for job in _jobs(document):
            entry = job.get(field)
            if inner is not None:
                entry = entry.get(inner) if isinstance(entry, Mapping) else None
            if entry == value:
                found.add(job["id"])
        return found

    return keys


CONDITIONS: dict[FailOn, Callable[[Document], set[str]]] = {
    FailOn.ERROR: _finding_keys(lambda code: code.startswith("E")),
    FailOn.SECRET: _finding_keys(lambda code: code == "E050"),
    FailOn.UNPARSED: _jobs_where("sql_status", "unparsed"),
    FailOn.MISSING: _jobs_where("sql_status", "missing"),
    FailOn.OPAQUE: _jobs_where("sql_status", "opaque"),
    FailOn.FIX: _jobs_where("pattern", "fix"),
    FailOn.REPROCESS: _jobs_where("pattern", "reprocess"),
    FailOn.MANUAL: _jobs_where("generated", "manual", "status"),
    FailOn.PLANNER_FAILURE: _jobs_where("validation", "failed", "status"),
    FailOn.DIFFERENT: _jobs_where("equivalence", "different", "status"),
}


def crossed(document: Document, conditions: Sequence[FailOn], baseline: Document | None = None) -> dict[str, list[str]]:
    """condition -> what crosses it (sorted), for every condition crossed; empty when none is."""
    result: dict[str, list[str]] = {}
    for condition in dict.fromkeys(conditions):
        keys = CONDITIONS[condition](document)
        if baseline is not None:
            keys -= CONDITIONS[condition](baseline)
        if keys:
            result[condition.value] = sorted(keys)
    return result


def describe(result: Mapping[str, Sequence[str]]) -> str:
    """`fix: 2 (d.a, d.b)`, one condition after another, for the one line the CLI prints."""
    parts = []
    for condition, keys in result.items():
        shown = ", ".join(keys[:3]) + (", ..." if len(keys) > 3 else "")
        parts.append(f"{condition}: {len(keys)} ({shown})")
    return "; ".join(parts)
