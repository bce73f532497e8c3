from __future__ import annotations

from collections.abc import Iterator

from ..models import Finding, Pattern
from .base import JobFacts, Rule

CORRECTION_WORDS = ("correction", "adjustment", "fix", "late", "restate", "refund", "reversal", "amend")


class F104MergeCorrection(Rule):
    """Job merges corrections into rows that another run already wrote.

    **Anti-pattern**: `MERGE INTO t USING corrections s ON t.id = s.id WHEN MATCHED THEN UPDATE ...`,
    run after the batch that produced `t`: only existing rows change (no new rows arrive), the
    source is a feed of corrections, or another job produces `t`.
    **Streaming equivalent**: corrections are ordinary change events on the log; the job that
    produces the table consumes them and updates its upsert sink by key.
    """

    code, name, pattern = "F104", "merge-correction", Pattern.FIX

    def check(self, facts: JobFacts) -> Iterator[Finding]:
        for statement, analysis in facts.statements:
            if analysis.kind != "merge":
                continue
            actions = set(analysis.merge_actions)
            target = analysis.target or "the target"
            reasons = []
            if actions and "insert" not in actions:
                reasons.append("it only updates or deletes existing rows")
            if any(word in table for table in analysis.reads for word in CORRECTION_WORDS):
                reasons.append("its source is a corrections feed")
            producers = facts.other_producers(target)
            if producers:
                reasons.append(f"{', '.join(producers)} produces {target}")
            if reasons:
                message = f"MERGE INTO {target} corrects rows already written: {'; '.join(reasons)}"
                yield self.at(statement, analysis, "merge", message)
