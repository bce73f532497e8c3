from __future__ import annotations

from collections.abc import Iterator

from ..models import Classification
from .base import JobFacts
from .evidence import Evidence, EvidenceRule


class C408TopN(EvidenceRule):
    """Job keeps the top N rows by a sort order (ORDER BY ... LIMIT, or ROW_NUMBER() <= N).

    **Anti-pattern**: `SELECT ... ORDER BY revenue DESC LIMIT 10` into a leaderboard table.
    **Streaming equivalent**: Flink's Top-N (`ROW_NUMBER() OVER (PARTITION BY g ORDER BY revenue
    DESC) <= 10`) into an upsert sink keyed by the partition and rank; a plain ORDER BY is dropped.
    """

    code, name = "C408", "top-n"

    def evidence(self, facts: JobFacts) -> Iterator[Evidence]:
        for statement, analysis in facts.statements:
            if analysis.order_by and analysis.limit:
                message = "ORDER BY with LIMIT keeps the top rows: a Top-N whose ranking updates"
                yield Evidence(self.at(statement, analysis, "order_by", message), Classification.STATEFUL, True)
