from __future__ import annotations

from collections.abc import Iterator

from ..models import Classification
from .base import JobFacts
from .evidence import Evidence, EvidenceRule


class C404WindowFunction(EvidenceRule):
    """Job uses window functions (SUM() OVER, LAG, running totals): ordered state per partition.

    **Anti-pattern**: `SUM(amount) OVER (PARTITION BY customer_id ORDER BY order_ts)` recomputed over
    the whole history each day.
    **Streaming equivalent**: an OVER aggregation ordered by the event-time attribute (ascending),
    which appends one result per input row and keeps state per partition.
    """

    code, name = "C404", "window-function"

    def evidence(self, facts: JobFacts) -> Iterator[Evidence]:
        for statement, analysis in facts.statements:
            functions = [f for f in analysis.window_functions if f.upper() not in {"ROW_NUMBER"} or not analysis.dedup]
            if functions:
                message = f"window functions {', '.join(sorted(set(functions)))}: state per window partition"
                yield Evidence(self.at(statement, analysis, "window", message), Classification.STATEFUL, False)
