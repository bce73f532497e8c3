from __future__ import annotations

from collections.abc import Iterator

from ..models import Finding, Pattern
from .base import JobFacts, Rule


class O205SelfOverwriteCompaction(Rule):
    """Job rewrites a table (or partition) with its own rows to merge small files.

    **Anti-pattern**: `INSERT OVERWRITE TABLE t PARTITION (dt='{{ ds }}') SELECT * FROM t WHERE
    dt = '{{ ds }}'`: the data does not change, only its file layout.
    **Streaming equivalent**: sink-side compaction (filesystem `auto-compaction`, Paimon/Iceberg
    compaction) while writing; the rewrite retires.
    """

    code, name, pattern = "O205", "self-overwrite-compaction", Pattern.OPTIMIZE

    def check(self, facts: JobFacts) -> Iterator[Finding]:
        for statement, analysis in facts.writing():
            plain_copy = analysis.dedup is None and not analysis.distinct and not analysis.aggregates
            if analysis.select_star_from_target and plain_copy:
                yield self.at(statement, analysis, "target", f"rewrites {analysis.target} with its own rows")
