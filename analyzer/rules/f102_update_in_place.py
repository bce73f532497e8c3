from __future__ import annotations

from collections.abc import Iterator

from ..models import Finding, Pattern
from .base import JobFacts, Rule

RETENTION_OPERATORS = frozenset({"<", "<="})


def is_retention_delete(kind: str, predicates: tuple[object, ...]) -> bool:
    """`DELETE ... WHERE dt < <date>`: dropping old data is housekeeping, not a correction."""
    return kind == "delete" and any(getattr(p, "op", "") in RETENTION_OPERATORS for p in predicates)


def replaced_by_insert(facts: JobFacts, index: int) -> bool:
    """`DELETE FROM t WHERE <range>` then `INSERT INTO t`: the job replaces a slice (delete+insert)."""
    _, analysis = facts.statements[index]
    return analysis.kind == "delete" and any(
        later.kind in {"insert", "insert_overwrite"} and set(later.writes) & set(analysis.writes)
        for _, later in facts.statements[index + 1 :]
    )


class F102UpdateInPlace(Rule):
    """Job corrects rows in place with UPDATE or DELETE.

    **Anti-pattern**: `UPDATE shop.orders SET status = 'cancelled' WHERE ...` run after the
    batch that produced the table, to patch what it got wrong or what changed since.
    **Streaming equivalent**: the correction is a change event: the producing job emits the new
    version of the row (or a delete) into an upsert sink keyed by the table's key; nothing is
    patched afterwards.
    """

    code, name, pattern = "F102", "update-in-place", Pattern.FIX

    def check(self, facts: JobFacts) -> Iterator[Finding]:
        for index, (statement, analysis) in enumerate(facts.statements):
            if analysis.kind not in {"update", "delete"} or is_retention_delete(
                analysis.kind, analysis.predicates
            ):
                continue
            if replaced_by_insert(facts, index):
                continue  # a delete+insert load, judged by the other rules
            target = analysis.target or "a table"
            producers = facts.other_producers(target)
            verb = analysis.kind.upper()
            if producers:
                message = f"{verb} patches {target}, which {', '.join(producers)} produces"
            else:
                message = f"{verb} changes rows of {target} in place"
            yield self.at(statement, analysis, "target", message)
