from __future__ import annotations

from collections.abc import Iterator

from ..models import Classification
from .base import JobFacts
from .evidence import Evidence, EvidenceRule


class C406Distinct(EvidenceRule):
    """Job uses SELECT DISTINCT or COUNT(DISTINCT): every distinct value is kept in state.

    **Anti-pattern**: `COUNT(DISTINCT customer_id)` per day, or `SELECT DISTINCT` to drop duplicates.
    **Streaming equivalent**: the same SQL, with a state TTL and
    `table.optimizer.distinct-agg.split.enabled` for skewed keys; results update.
    """

    code, name = "C406", "distinct"

    def evidence(self, facts: JobFacts) -> Iterator[Evidence]:
        for statement, analysis in facts.statements:
            if analysis.distinct or analysis.count_distinct:
                what = "COUNT(DISTINCT ...)" if analysis.count_distinct else "SELECT DISTINCT"
                message = f"{what}: state holds every distinct value"
                span = "aggregate" if analysis.count_distinct else "target"
                yield Evidence(self.at(statement, analysis, span, message), Classification.STATEFUL, True)
