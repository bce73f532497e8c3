from __future__ import annotations

from collections.abc import Iterator

from ..models import Classification
from .base import JobFacts, origin_offset
from .evidence import Evidence, EvidenceRule


def rewrites_past_rows(facts: JobFacts) -> bool:
    """The job's date filter reaches before the run's own interval (a lookback or a restatement)."""
    offsets = [o for o in (origin_offset(v) for v in facts.job.time_variables) if o is not None]
    return any(day < 0 for day in facts.job.lookback_days) or any(o < 0 for o in offsets)


class C412PartitionOverwrite(EvidenceRule):
    """Job overwrites the current run's partition: idempotent batch output, append-only as a stream.

    **Anti-pattern**: `INSERT OVERWRITE TABLE t PARTITION (dt='{{ ds }}') SELECT ...` so that a
    re-run of the day replaces its rows instead of adding them twice.
    **Streaming equivalent**: when only the current interval is written, each row is written once:
    `INSERT INTO` an append sink partitioned by the event date (with a key for idempotence).
    """

    code, name = "C412", "partition-overwrite"

    def evidence(self, facts: JobFacts) -> Iterator[Evidence]:
        if rewrites_past_rows(facts):
            return  # C414 covers overwrites that reach back
        for statement, analysis in facts.statements:
            if analysis.kind == "insert_overwrite" and (analysis.partition_spec or analysis.predicates):
                columns = ", ".join(c for c, _ in analysis.partition_spec) or ", ".join(
                    p.column for p in analysis.predicates
                )
                message = f"overwrites the run's own partition of {analysis.target} ({columns}): append-only"
                yield Evidence(
                    self.at(statement, analysis, "target", message), Classification.STATELESS, False
                )
