from __future__ import annotations

from collections.abc import Iterator

from ..models import Finding, Pattern
from .base import JobFacts, Rule
from .window import restated_partition


class F105LatePartitionOverwrite(Rule):
    """Job overwrites a past partition again, after it was first written.

    **Anti-pattern**: `INSERT OVERWRITE TABLE t PARTITION (dt='{{ macros.ds_add(ds, -2) }}')`,
    restating an older partition once its late rows have arrived (or a second job overwriting a
    partition that the daily job already wrote). The partition written decides, not the dates the
    job reads: a week-over-week comparison that reads `ds - 7` into today's partition restates
    nothing.
    **Streaming equivalent**: the partition is never closed: late rows reach the upsert sink by
    key while the watermark allows them, so no second pass is needed.
    """

    code, name, pattern = "F105", "late-partition-overwrite", Pattern.FIX

    def check(self, facts: JobFacts) -> Iterator[Finding]:
        for statement, analysis in facts.writing():
            restated = restated_partition(facts, statement, analysis)
            if restated is None:
                continue
            days, shared = restated
            also = f"; {', '.join(shared)} writes it too" if shared else ""
            message = f"overwrites the partition of {analysis.target} from {days} days before the run{also}"
            yield self.at(statement, analysis, "target", message)
