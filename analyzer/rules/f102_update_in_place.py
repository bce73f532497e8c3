from __future__ import annotations

from collections.abc import Iterator

from ..models import Finding, Pattern
from ..sql import StatementAnalysis
from .base import JobFacts, Rule

RETENTION_OPERATORS = frozenset({"<", "<="})
CREATING_KINDS = frozenset({"create_table", "create_table_as", "create_or_replace_table_as"})


def is_retention_delete(analysis: StatementAnalysis) -> bool:
    """`DELETE ... WHERE dt < <date>`: dropping rows by age alone is housekeeping, not a correction.

    Rows picked through another table (`WHERE id IN (SELECT ... FROM erasure_requests ...)`) or a
    slice bounded from below (`dt >= ... AND dt < ...`, cleared before a re-insert) are not.
    """
    ops = {p.op for p in analysis.predicates}
    return (
        analysis.kind == "delete"
        and bool(ops & RETENTION_OPERATORS)
        and not ops - RETENTION_OPERATORS
        and not set(analysis.reads) - {analysis.target}
    )


def replaced_by_insert(facts: JobFacts, index: int) -> bool:
    """`DELETE FROM t WHERE <range>` then `INSERT INTO t`: the job replaces a slice (delete+insert)."""
    _, analysis = facts.statements[index]
    return analysis.kind == "delete" and any(
        later.kind in {"insert", "insert_overwrite"} and set(later.writes) & set(analysis.writes)
        for _, later in facts.statements[index + 1 :]
    )


def scratch_table(facts: JobFacts, index: int) -> bool:
    """The statement changes a table that the job itself created earlier in the same run (a
    temporary or staging table it then reads from), not a table others have read."""
    _, analysis = facts.statements[index]
    created = {t for _, a in facts.statements[:index] if a.kind in CREATING_KINDS for t in a.writes}
    return bool(analysis.writes) and set(analysis.writes) <= created


class F102UpdateInPlace(Rule):
    """Job corrects rows in place with UPDATE or DELETE.

    **Anti-pattern**: `UPDATE shop.orders SET status = 'cancelled' WHERE ...` run after the
    batch that produced the table, to patch what it got wrong or what changed since. A DELETE by
    age alone is retention (O208), a DELETE followed by an INSERT of the same slice is a load, and
    an UPDATE of a scratch table the job has just created is part of its own computation.
    **Streaming equivalent**: the correction is a change event: the producing job emits the new
    version of the row (or a delete) into an upsert sink keyed by the table's key; nothing is
    patched afterwards.
    """

    code, name, pattern = "F102", "update-in-place", Pattern.FIX

    def check(self, facts: JobFacts) -> Iterator[Finding]:
        for index, (statement, analysis) in enumerate(facts.statements):
            if analysis.kind not in {"update", "delete"} or is_retention_delete(analysis):
                continue
            if replaced_by_insert(facts, index) or scratch_table(facts, index):
                continue  # a delete+insert load, or the job's own scratch table
            target = analysis.target or "a table"
            producers = facts.other_producers(target)
            verb = analysis.kind.upper()
            if producers:
                message = f"{verb} patches {target}, which {', '.join(producers)} produces"
            else:
                message = f"{verb} changes rows of {target} in place"
            yield self.at(statement, analysis, "target", message)
