from __future__ import annotations

from collections.abc import Iterator

from ..models import Finding, Pattern
from .base import JobFacts, Rule
from .f102_update_in_place import is_retention_delete


class O208RetentionDelete(Rule):
    """Job deletes rows older than a cut-off to keep a table small.

    **Anti-pattern**: `DELETE FROM t WHERE event_date < CURRENT_DATE - INTERVAL '90' DAY`, run nightly.
    **Streaming equivalent**: retention is a property of the log and the sink: topic
    `retention.ms`, state TTL, or the table's partition expiration (Paimon
    `partition.expiration-time`); the job retires.
    """

    code, name, pattern = "O208", "retention-delete", Pattern.OPTIMIZE

    def check(self, facts: JobFacts) -> Iterator[Finding]:
        for statement, analysis in facts.statements:
            if is_retention_delete(analysis):
                cutoff = next(p for p in analysis.predicates if p.op in {"<", "<="})
                values = ", ".join(cutoff.values)
                message = f"deletes rows of {analysis.target} where {cutoff.column} {cutoff.op} {values}"
                yield self.at(statement, analysis, "predicate", message)
