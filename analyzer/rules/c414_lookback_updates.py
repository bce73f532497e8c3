from __future__ import annotations

from collections.abc import Iterator

from ..models import Classification
from .base import WRITING_KINDS, JobFacts
from .evidence import Evidence, EvidenceRule
from .window import rewritten_days


class C414LookbackUpdates(EvidenceRule):
    """Job re-writes rows of past intervals, so its streaming result updates rows already emitted.

    **Anti-pattern**: an overwrite of the last N days on each run (F101), or of a past partition
    written before (F105); a longer read window into the run's own partition revises nothing.
    **Streaming equivalent**: an upsert sink keyed by the partition column and the natural key:
    late rows replace earlier versions instead of waiting for the next re-run.
    """

    code, name = "C414", "lookback-updates"

    def evidence(self, facts: JobFacts) -> Iterator[Evidence]:
        days = rewritten_days(facts)
        if not days:
            return
        for statement, analysis in facts.statements:
            if analysis.kind in WRITING_KINDS - {"update", "delete", "merge", "truncate"}:
                message = f"writes {analysis.target} for dates up to {days} days before the run: rows are revised"
                yield Evidence(self.at(statement, analysis, "predicate", message), Classification.SINK_UPDATE, True)
