from __future__ import annotations

from collections.abc import Iterator

from ..models import Finding, Pattern
from .base import JobFacts, Rule, origin_offset


class F105LatePartitionOverwrite(Rule):
    """Job overwrites a past partition again, after it was first written.

    **Anti-pattern**: `INSERT OVERWRITE TABLE t PARTITION (dt='{{ macros.ds_add(ds, -2) }}')`,
    restating an older partition once its late rows have arrived (or a second job overwriting a
    partition that the daily job already wrote).
    **Streaming equivalent**: the partition is never closed: late rows reach the upsert sink by
    key while the watermark allows them, so no second pass is needed.
    """

    code, name, pattern = "F105", "late-partition-overwrite", Pattern.FIX

    def check(self, facts: JobFacts) -> Iterator[Finding]:
        for statement, analysis in facts.writing():
            if analysis.kind != "insert_overwrite" or analysis.target is None:
                continue
            origins = [o for p in analysis.predicates if p.op == "=" for o in p.template_origins]
            origins.extend(facts.job.time_variables if analysis.partition_spec else ())
            offsets = [o for o in (origin_offset(origin) for origin in origins) if o is not None]
            if not offsets:
                continue
            oldest = min(offsets)
            shared = facts.other_producers(analysis.target)
            if oldest <= -2 or (oldest <= -1 and shared):
                also = f"; {', '.join(shared)} writes it too" if shared else ""
                message = (
                    f"overwrites the partition of {analysis.target} from {-oldest} days before the run{also}"
                )
                yield self.at(statement, analysis, "target", message)
