from __future__ import annotations

from collections.abc import Iterator

from ..models import Finding, Pattern, Statement
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


def deletes_every_row(statement: Statement, analysis: StatementAnalysis) -> bool:
    """`DELETE FROM t` with no condition (or `WHERE true`, `WHERE 1 = 1`): a TRUNCATE spelled as a
    DELETE, which empties the table rather than correcting some of its rows."""
    return analysis.kind == "delete" and analysis.empties_table


def replaced_by_insert(facts: JobFacts, index: int) -> bool:
    """`DELETE FROM t WHERE <range>` then `INSERT INTO t`: the job replaces a slice (delete+insert)."""
    _, analysis = facts.statements[index]
    return analysis.kind == "delete" and any(
        later.kind in {"insert", "insert_overwrite"} and set(later.writes) & set(analysis.writes)
        for _, later in facts.statements[index + 1 :]
    )


def upsert_by_hand(facts: JobFacts, index: int) -> bool:
    """`UPDATE t ... FROM staging` and an `INSERT INTO t ... FROM staging` of the new keys in the
    same job: the job loads its own table by key from one source (a MERGE written as two
    statements). An UPDATE that reads no source of the load (flags recomputed by age) corrects."""
    _, analysis = facts.statements[index]
    sources = set(analysis.reads) - set(analysis.writes)
    return (
        analysis.kind == "update"
        and bool(sources)
        and any(
            other.kind in {"insert", "merge"}
            and set(other.writes) & set(analysis.writes)
            and sources & set(other.reads)
            for i, (_, other) in enumerate(facts.statements)
            if i != index
        )
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
    age alone is retention (O208), a DELETE followed by an INSERT of the same slice (or an UPDATE
    of the keys the same job also INSERTs) is a load, a
    DELETE with no condition empties the table (a refresh, R301), and an UPDATE of a scratch table
    the job has just created is part of its own computation.
    **Streaming equivalent**: the correction is a change event: the producing job emits the new
    version of the row (or a delete) into an upsert sink keyed by the table's key; nothing is
    patched afterwards.
    """

    code, name, pattern = "F102", "update-in-place", Pattern.FIX

    def check(self, facts: JobFacts) -> Iterator[Finding]:
        for index, (statement, analysis) in enumerate(facts.statements):
            if analysis.kind not in {"update", "delete"} or is_retention_delete(analysis):
                continue
            if replaced_by_insert(facts, index) or upsert_by_hand(facts, index) or scratch_table(facts, index):
                continue  # a delete+insert or update+insert load, or the job's own scratch table
            if deletes_every_row(statement, analysis):
                continue  # emptying the whole table is a refresh (R301), not a correction
            target = analysis.target or "a table"
            producers = facts.other_producers(target)
            verb = analysis.kind.upper()
            if producers:
                message = f"{verb} patches {target}, which {', '.join(producers)} produces"
            else:
                message = f"{verb} changes rows of {target} in place"
            yield self.at(statement, analysis, "target", message)
