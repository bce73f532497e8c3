from __future__ import annotations

from collections.abc import Iterator

from ..models import Classification
from .base import JobFacts
from .evidence import Evidence, EvidenceRule
from .r301_full_refresh import empties, full_refreshes

REWRITE_KINDS = frozenset({"create_or_replace_table_as", "truncate"})


class C416FullRewrite(EvidenceRule):
    """Job replaces a whole table's content, so rows already written change on every run.

    **Anti-pattern**: `CREATE OR REPLACE TABLE t AS SELECT ...`, `TRUNCATE` (or `DELETE FROM t`
    with no condition, or `DROP TABLE`) + `INSERT`, or `INSERT OVERWRITE t` without a partition
    (or of partitions no run date bounds), from other tables.
    **Streaming equivalent**: an upsert sink keyed by the table's natural key, continuously
    maintained; rows that disappear arrive as deletes from the changelog.
    """

    code, name = "C416", "full-rewrite"

    def evidence(self, facts: JobFacts) -> Iterator[Evidence]:
        # loads that R301 finds rebuild a table from scratch (after a DROP or a DELETE of every
        # row, an overwrite of a partitioned table that no run date bounds)
        rebuilt = {id(analysis) for _, analysis, _ in full_refreshes(facts)}
        covered: set[str | None] = set()  # tables whose TRUNCATE already said so
        for statement, analysis in facts.statements:
            whole = analysis.kind == "insert_overwrite" and not analysis.partition_spec and not analysis.predicates
            # a table rewritten from its own rows only (compaction, dedup) keeps the rows it had:
            # O205 / F103 and the dedup evidence judge it
            from_itself = analysis.reads_target and set(analysis.reads) == {analysis.target}
            replaces = analysis.kind in REWRITE_KINDS or empties(statement, analysis) or whole
            reloaded = id(analysis) in rebuilt and analysis.target not in covered
            if (replaces or reloaded) and not from_itself:
                covered.add(analysis.target)
                message = f"replaces all of {analysis.target}: every row may change on each run"
                yield Evidence(self.at(statement, analysis, "target", message), Classification.SINK_UPDATE, True)
