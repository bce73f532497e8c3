from __future__ import annotations

from collections.abc import Iterator

from ..models import Finding, Pattern
from .base import JobFacts, Rule


class F103DedupOverwrite(Rule):
    """Job removes duplicates by rewriting a table with ROW_NUMBER() ... = 1 (or QUALIFY).

    **Anti-pattern**: `INSERT OVERWRITE t SELECT ... FROM (SELECT *, ROW_NUMBER() OVER
    (PARTITION BY id ORDER BY ingested_at DESC) rn FROM t) WHERE rn = 1`, because at-least-once
    ingestion delivered some rows twice.
    **Streaming equivalent**: Flink's deduplication on a time attribute (`ROW_NUMBER() ... ORDER
    BY rowtime`), or simply an upsert sink keyed by the same columns: a duplicate overwrites itself.
    """

    code, name, pattern = "F103", "dedup-overwrite", Pattern.FIX

    def check(self, facts: JobFacts) -> Iterator[Finding]:
        for statement, analysis in facts.writing():
            deduplicates = analysis.dedup is not None or (analysis.distinct and analysis.select_star_from_target)
            if deduplicates and analysis.reads_target:
                keys = ", ".join(analysis.dedup.partition_by) if analysis.dedup else "all columns"
                message = f"rewrites {analysis.target} keeping one row per ({keys})"
                yield self.at(statement, analysis, "dedup" if analysis.dedup else "target", message)
