from __future__ import annotations

from collections.abc import Iterator

from ..models import Classification
from .base import WRITING_KINDS, JobFacts
from .c412_partition_overwrite import rewrites_past_rows
from .evidence import Evidence, EvidenceRule


class C414LookbackUpdates(EvidenceRule):
    """Job re-writes rows of past intervals, so its streaming result updates rows already emitted.

    **Anti-pattern**: an overwrite of the last N days (or of yesterday's partition) on each run.
    **Streaming equivalent**: an upsert sink keyed by the partition column and the natural key:
    late rows replace earlier versions instead of waiting for the next re-run.
    """

    code, name = "C414", "lookback-updates"

    def evidence(self, facts: JobFacts) -> Iterator[Evidence]:
        if not rewrites_past_rows(facts):
            return
        for statement, analysis in facts.statements:
            if analysis.kind in WRITING_KINDS - {"update", "delete", "merge", "truncate"}:
                days = -min((d for d in facts.job.lookback_days if d < 0), default=-1)
                message = (
                    f"writes {analysis.target} for dates up to {days} days before the run: rows are revised"
                )
                yield Evidence(
                    self.at(statement, analysis, "predicate", message), Classification.SINK_UPDATE, True
                )
